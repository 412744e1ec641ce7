// The codec endpoint the Temporal UI uses: operators get payloads decoded (and encoded), everyone
// else 401/403; CORS answers the configured UI origin only, and only on /codec.
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPayloadCodec, keyIdMetadataKey } from '../../../runtime/codec.js';
import { buildTestApp, type TestApp } from '../../support/app.js';
import { createPendingTenant } from '../../workflows/tenant-fixture.js';
import { adminPool, bearer, errorCode, signUp, type TestUser } from './helpers.js';

const uiOrigin = 'http://temporal-ui.test:8233';
let t: TestApp;
let admin: pg.Pool;
let operator: TestUser;
let customer: TestUser;

type Wire = { metadata?: Record<string, string>; data?: string };
const toWire = (p: Payload): Wire => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? []).toString('base64'),
});
const fromWire = (w: Wire): Payload => ({
  metadata: Object.fromEntries(
    Object.entries(w.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
  ),
  data: Buffer.from(w.data ?? '', 'base64'),
});
const jsonWire = (value: unknown) => toWire(defaultPayloadConverter.toPayload(value));
const valueOf = (w: Wire) => defaultPayloadConverter.fromPayload(fromWire(w));

beforeAll(async () => {
  t = await buildTestApp({ TEMPORAL_UI_ORIGIN: uiOrigin });
  admin = adminPool();
  [operator, customer] = await Promise.all([signUp(t.app, 'operator'), signUp(t.app, 'customer')]);
  await admin.query(`UPDATE users SET platform_role = 'operator' WHERE id = $1`, [operator.id]);
});

afterAll(async () => {
  await t?.close();
  await admin?.end();
});

describe('POST /codec/encode and /codec/decode', () => {
  it('encrypts with the tenant key and decrypts back for an operator', async () => {
    const { orgId, ownerEmail } = await createPendingTenant(t.app.db);
    const value = { orgId, ownerEmail };
    const enc = await t.app.inject({
      method: 'POST',
      url: '/codec/encode',
      headers: bearer(operator),
      payload: { payloads: [jsonWire(value)] },
    });
    expect(enc.statusCode, enc.body).toBe(200);
    const [sealed] = enc.json<{ payloads: Wire[] }>().payloads;
    expect(Buffer.from(sealed!.metadata![keyIdMetadataKey]!, 'base64').toString()).toBe(`org:${orgId}`);
    expect(Buffer.from(sealed!.data!, 'base64').toString()).not.toContain(ownerEmail);

    const dec = await t.app.inject({
      method: 'POST',
      url: '/codec/decode',
      headers: { ...bearer(operator), 'x-namespace': 'default' },
      payload: { payloads: [sealed] },
    });
    expect(dec.statusCode, dec.body).toBe(200);
    expect(dec.json<{ payloads: Wire[] }>().payloads.map(valueOf)).toEqual([value]);
  });

  it('decodes what the API and workers encoded, and returns shredded payloads still encrypted', async () => {
    const live = await createPendingTenant(t.app.db, 'Live');
    const erased = await createPendingTenant(t.app.db, 'Erased');
    const codec = createPayloadCodec(t.config, t.app.db);
    const [livePayload, erasedPayload] = await codec.encode([
      defaultPayloadConverter.toPayload({ orgId: live.orgId, n: 1 }),
      defaultPayloadConverter.toPayload({ orgId: erased.orgId, n: 2 }),
    ]);
    await codec.keys.destroy(erased.orgId);

    const res = await t.app.inject({
      method: 'POST',
      url: '/codec/decode',
      headers: bearer(operator),
      payload: { payloads: [toWire(livePayload!), toWire(erasedPayload!)] },
    });
    expect(res.statusCode, res.body).toBe(200);
    const [first, second] = res.json<{ payloads: Wire[] }>().payloads;
    expect(valueOf(first!)).toEqual({ orgId: live.orgId, n: 1 });
    expect(second).toEqual(toWire(erasedPayload!));
  });

  it.each([
    ['no credential', () => ({}), 401, 'UNAUTHENTICATED'],
    ['a malformed token', () => ({ authorization: 'Bearer not-a-jwt' }), 401, 'INVALID_TOKEN'],
    ['a signed-in user who is not an operator', () => bearer(customer), 403, 'FORBIDDEN'],
  ])('refuses %s', async (_label, headers, status, code) => {
    for (const url of ['/codec/encode', '/codec/decode']) {
      const res = await t.app.inject({
        method: 'POST',
        url,
        headers: headers(),
        payload: { payloads: [jsonWire({ a: 1 })] },
      });
      expect(res.statusCode, `${url} ${res.body}`).toBe(status);
      expect(errorCode(res)).toBe(code);
      expect(res.body).not.toContain('"a":1');
    }
  });

  it('rejects a malformed body with 400', async () => {
    for (const payload of [
      {},
      { payloads: 'x' },
      { payloads: [{ data: '***' }] },
      { payloads: [], extra: 1 },
    ]) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/codec/decode',
        headers: bearer(operator),
        payload,
      });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(errorCode(res)).toBe('VALIDATION');
    }
  });

  it('answers CORS preflights for the Temporal UI origin only, and only on /codec', async () => {
    const preflight = (url: string, origin: string) =>
      t.app.inject({
        method: 'OPTIONS',
        url,
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type,x-namespace',
        },
      });
    const ok = await preflight('/codec/decode', uiOrigin);
    expect(ok.statusCode).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe(uiOrigin);
    expect(ok.headers['access-control-allow-credentials']).toBe('true');
    expect(String(ok.headers['access-control-allow-headers'])).toContain('authorization');

    const foreign = await preflight('/codec/decode', 'https://evil.example');
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();

    const elsewhere = await preflight('/api/orgs', uiOrigin);
    expect(elsewhere.headers['access-control-allow-origin']).toBeUndefined();

    const post = await t.app.inject({
      method: 'POST',
      url: '/codec/decode',
      headers: { ...bearer(operator), origin: uiOrigin },
      payload: { payloads: [] },
    });
    expect(post.statusCode).toBe(200);
    expect(post.headers['access-control-allow-origin']).toBe(uiOrigin);
  });
});
