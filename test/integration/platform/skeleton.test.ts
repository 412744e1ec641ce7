// What every route shares: health, OpenAPI, error bodies, request ids, limits, draining.
import { Client, Connection } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import Type from 'typebox';
import { buildApp } from '../../../api/app.js';
import { createDb, createPool } from '../../../db/client.js';
import { freePort } from '../../support/services.js';
import { useTestApp } from '../../support/app.js';
import { testConfig } from '../../support/config.js';

const t = useTestApp({ BODY_LIMIT_BYTES: '2048' });

describe('health', () => {
  it('is live and ready when Postgres, Redis and Temporal answer', async () => {
    expect((await t.app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await t.app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({
      status: 'ready',
      checks: { postgres: { ok: true }, redis: { ok: true }, temporal: { ok: true } },
    });
  });

  it('is unready, naming the dependency, when one does not answer', async () => {
    const config = testConfig({ TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` });
    const pool = createPool({ url: config.DATABASE_URL, size: 1, applicationName: 'readyz-test' });
    const connection = Connection.lazy({ address: config.TEMPORAL_ADDRESS, connectTimeout: '1 second' });
    const app = await buildApp({ config, pool, db: createDb(pool), temporal: new Client({ connection }) });
    const ready = await app.inject('/readyz');
    await app.close();
    await pool.end();
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({
      status: 'unready',
      checks: { postgres: { ok: true }, temporal: { ok: false } },
    });
  });
});

describe('OpenAPI', () => {
  it('serves the document generated from the route schemas, and the docs UI', async () => {
    const doc: { openapi: string; paths: Record<string, unknown> } = (
      await t.app.inject('/openapi.json')
    ).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/healthz', '/readyz']));
    const docs = await t.app.inject('/docs/');
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toMatch(/text\/html/);
  });
});

describe('errors', () => {
  it('answers an unknown route with a JSON 404 and a stable code', async () => {
    const res = await t.app.inject('/nope');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({
      error: { code: 'NOT_FOUND', requestId: res.headers['x-request-id'] },
    });
  });

  it("uses OpenAI's error shape under /v1", async () => {
    const res = await t.app.inject('/v1/nope');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      error: { message: expect.any(String), type: 'not_found_error', param: null, code: 'not_found' },
    });
  });

  it('refuses malformed JSON and bodies over the limit without a stack trace', async () => {
    const malformed = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: '{"email":',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ error: { code: 'VALIDATION' } });
    expect(malformed.body).not.toMatch(/at .*\.js:\d+/);
    const large = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ email: 'x'.repeat(4096) }),
    });
    expect(large.statusCode).toBe(413);
    expect(large.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
  });

  it('answers an over-long path parameter or a malformed URL with the same JSON 400', async () => {
    for (const url of [`/api/orgs/${'x'.repeat(2000)}`, '/api/orgs/%E0%A4%A']) {
      const res = await t.app.inject(url);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: 'VALIDATION' } });
    }
  });
});

describe('NUL characters', () => {
  it('refuses U+0000 in a body, query or path string with a 400 naming where it is', async () => {
    const body = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: 'a@example.test', password: 'twelve chars\u0000!' },
    });
    expect(body.statusCode).toBe(400);
    expect(body.json()).toMatchObject({
      error: { code: 'VALIDATION', message: expect.stringContaining('body.password') },
    });
    const query = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login?x=%00',
      payload: { email: 'a@example.test', password: 'twelve chars!' },
    });
    expect(query.statusCode).toBe(400);
    expect(query.json()).toMatchObject({ error: { message: expect.stringContaining('query.x') } });
  });
});

describe('request ids', () => {
  it('echoes a well-formed x-request-id and replaces a malformed one', async () => {
    const kept = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': 'trace-abc.123' } });
    expect(kept.headers['x-request-id']).toBe('trace-abc.123');
    const replaced = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': 'bad id\n<script>' } });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('graceful shutdown', () => {
  it('finishes in-flight requests while refusing new ones', async () => {
    const config = testConfig();
    const pool = createPool({ url: config.DATABASE_URL, size: 1, applicationName: 'drain-test' });
    const app = await buildApp({
      config,
      pool,
      db: createDb(pool),
      temporal: new Client({ connection: Connection.lazy({ address: config.TEMPORAL_ADDRESS }) }),
    });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered = false;
    app.get('/slow', { schema: { response: { 200: Type.Object({ done: Type.Boolean() }) } } }, async () => {
      entered = true;
      await gate;
      return { done: true };
    });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const inFlight = fetch(`${address}/slow`);
    // In flight means the handler has it, however long the request took to arrive.
    await expect.poll(() => entered, { timeout: 20_000 }).toBe(true);
    const closed = app.close();
    const refused = await fetch(`${address}/healthz`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.status,
      () => 'refused',
    );
    release();
    const finished = await inFlight;
    const body: unknown = await finished.json();
    await closed;
    await pool.end();
    expect(finished.status).toBe(200);
    expect(body).toEqual({ done: true });
    expect([503, 'refused']).toContain(refused);
  });
});
