// Upstream credentials: operators set, rotate and remove a deployment's upstream key through
// /api/admin/models/:modelId/deployments/:deploymentId/upstream-key; the gateway sends it to that
// upstream as `Authorization: Bearer <key>` (never the client's key); the key never comes back in an
// answer, an audit row or a log line; a rotation loses no request while the upstream switches from
// the old key to the new one; bad requests change nothing.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loggerOptions } from '../../../runtime/logger.js';
import { buildTestApp, type TestApp } from '../../support/app.js';
import { bearer, errorCode, signUp, useAdminPool, type TestUser } from '../api/helpers.js';
import { addModel, closeClients, gatewayWorld, untilRegistered, type GatewayWorld } from './world.js';

/** An upstream that answers only the bearer keys it accepts right now (401 otherwise), and records what it got. */
class KeyedUpstream {
  readonly accepted = new Set<string>();
  /** The Authorization header of every request, '' when there was none. */
  readonly seen: string[] = [];
  /** The keys it refused. */
  readonly refused: string[] = [];
  private readonly server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const authorization = req.headers.authorization ?? '';
      this.seen.push(authorization);
      const key = authorization.startsWith('Bearer ') ? authorization.slice(7) : '';
      if (!this.accepted.has(key)) {
        this.refused.push(key);
        res
          .writeHead(401, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { message: 'bad key', type: 'authentication_error', code: 401 } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: 'keyed',
          object: 'chat.completion',
          created: 0,
          model: 'upstream-chat',
          choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
        }),
      );
    });
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const admin = useAdminPool();
const logLines: string[] = [];
let t: TestApp;
let world: GatewayWorld;
let operator: TestUser;
const upstream = new KeyedUpstream();
// The test's own connections to the app, closed before it (the app waits for open connections).
const clientPool = new Agent();
let model: string;
let modelId: string;
let deploymentId: string;
/** Every key this file gives the platform, to look for in answers, audit rows and logs. */
const keysUsed: string[] = [];

const newKey = () => {
  const key = `sk-up-${randomBytes(18).toString('base64url')}`;
  keysUsed.push(key);
  return key;
};

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  t = await buildTestApp({}, { logger: pino(loggerOptions('trace', 'api'), sink) });
  world = await gatewayWorld(t, admin);
  operator = await signUp(t.app, 'key-operator');
  await admin.query(`UPDATE users SET platform_role = 'operator' WHERE id = $1`, [operator.id]);
  await admin.query(`UPDATE organizations SET plan = 'enterprise' WHERE id = $1`, [world.orgId]);
  model = await addModel(admin, {
    deployments: [{ urls: [await upstream.listen()], upstreamModel: 'upstream-chat' }],
  });
  const { rows } = await admin.query<{ model_id: string; id: string }>(
    `SELECT d.model_id, d.id FROM model_deployments d JOIN models m ON m.id = d.model_id WHERE m.name = $1`,
    [model],
  );
  modelId = rows[0]!.model_id;
  deploymentId = rows[0]!.id;
  await untilRegistered(t, model);
});
afterAll(async () => {
  await Promise.all([closeClients(), clientPool.destroy()]);
  await t?.close();
  await upstream.close();
});

const keyUrl = (ids: { modelId: string; deploymentId: string } = { modelId, deploymentId }) =>
  `/api/admin/models/${ids.modelId}/deployments/${ids.deploymentId}/upstream-key`;
const answers: string[] = [];

async function call(
  method: 'GET' | 'PUT' | 'POST' | 'DELETE',
  url: string,
  payload?: object,
  user: { accessToken: string } | null = operator,
): Promise<LightMyRequestResponse> {
  const res = await t.app.inject({
    method,
    url,
    headers: user ? bearer(user) : {},
    ...(payload && { payload }),
  });
  answers.push(res.body);
  return res;
}

/** Waits until this replica's gateway sends `key` as the deployment's current key. */
async function untilSent(key: string | null): Promise<void> {
  const expected = key === null ? undefined : `Bearer ${key}`;
  for (let waited = 0; t.app.modelRegistry.upstreamKeys(deploymentId)?.current !== expected; waited += 50) {
    if (waited > 20_000) throw new Error('the registry never loaded the key change');
    await sleep(50);
  }
}

async function chat(): Promise<number> {
  const res = await fetch(`${world.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${world.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
    dispatcher: clientPool,
  });
  answers.push(await res.text());
  return res.status;
}

interface CredentialRow {
  slot: string;
  wrapped_key: string;
  last_four: string;
  created_at: Date;
  grace_until: Date | null;
}

async function credentialRows(): Promise<CredentialRow[]> {
  const { rows } = await admin.query<CredentialRow>(
    `SELECT slot, wrapped_key, last_four, created_at, grace_until FROM deployment_credentials
     WHERE deployment_id = $1 ORDER BY slot`,
    [deploymentId],
  );
  return rows;
}

describe('a deployment with an upstream key', () => {
  it('without a key the upstream gets no Authorization header, and its 401 is a 502 to the client', async () => {
    expect(await chat()).toBe(502);
    expect(upstream.seen.at(-1)).toBe('');
    const res = await call('GET', keyUrl());
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ deploymentId, current: null, previous: null });
  });

  it("sends the deployment's key upstream, never the client's", async () => {
    const key = newKey();
    upstream.accepted.add(key);
    const res = await call('PUT', keyUrl(), { key });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ deploymentId, current: { lastFour: key.slice(-4) }, previous: null });
    await untilSent(key);
    expect(await chat()).toBe(200);
    expect(upstream.seen.at(-1)).toBe(`Bearer ${key}`);
    expect(upstream.seen.some((h) => h.includes(world.key))).toBe(false);
    // Stored wrapped, not in clear.
    const [row] = await credentialRows();
    expect(row!.wrapped_key).not.toContain(key);
    expect(row!.wrapped_key.startsWith('v2.')).toBe(true);
  });

  it('rotation loses no request while the upstream switches from the old key to the new one', async () => {
    const old = [...upstream.accepted][0]!;
    const next = newKey();
    const statuses: number[] = [];
    let running = true;
    const traffic = (async () => {
      while (running) statuses.push(await chat());
    })();
    const traffic2 = (async () => {
      while (running) statuses.push(await chat());
    })();
    await sleep(200);

    // 1. The platform sends the new key at once; the upstream still knows only the old one, so
    //    each request is refused once and retried with the previous key.
    const rotated = await call('POST', `${keyUrl()}/rotate`, { key: next, graceSeconds: 600 });
    expect(rotated.statusCode, rotated.body).toBe(200);
    expect(rotated.json()).toMatchObject({
      current: { lastFour: next.slice(-4) },
      previous: { lastFour: old.slice(-4) },
    });
    await untilSent(next);
    const refusedBefore = upstream.refused.filter((k) => k === next).length;
    await sleep(300);
    expect(upstream.refused.filter((k) => k === next).length).toBeGreaterThan(refusedBefore);

    // 2. The upstream moves to the new key (both for a moment, then the new one alone).
    upstream.accepted.add(next);
    await sleep(200);
    upstream.accepted.delete(old);
    const seenBefore = upstream.seen.length;
    await sleep(300);
    running = false;
    await Promise.all([traffic, traffic2]);

    expect(statuses.length).toBeGreaterThan(10);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    // After the switch, only the new key reaches the upstream.
    expect(new Set(upstream.seen.slice(seenBefore))).toEqual(new Set([`Bearer ${next}`]));
  });

  it('after the grace period the previous key is not tried any more', async () => {
    const current = t.app.modelRegistry.upstreamKeys(deploymentId)!.current.slice(7);
    const previous = t.app.modelRegistry.upstreamKeys(deploymentId)!.previous!.authorization.slice(7);
    upstream.accepted.clear();
    upstream.accepted.add(previous);
    expect(await chat()).toBe(200); // refused with the current key, answered with the previous one
    await admin.query(
      `UPDATE deployment_credentials SET grace_until = now() - interval '1 second'
       WHERE deployment_id = $1 AND slot = 'previous'`,
      [deploymentId],
    );
    for (let waited = 0; t.app.modelRegistry.upstreamKeys(deploymentId)?.previous; waited += 50) {
      if (waited > 20_000) throw new Error('the registry never dropped the previous key');
      await sleep(50);
    }
    const seenBefore = upstream.seen.length;
    expect(await chat()).toBe(502);
    expect(upstream.seen.slice(seenBefore)).toEqual([`Bearer ${current}`]);
    expect((await call('GET', keyUrl())).json()).toMatchObject({ previous: null });
    upstream.accepted.clear();
    upstream.accepted.add(current);
  });

  it('bad requests change nothing', async () => {
    const before = await credentialRows();
    const auditsBefore = await admin.query(`SELECT count(*)::int AS n FROM audit_log WHERE target_id = $1`, [
      deploymentId,
    ]);
    const owner = world.owner;
    const otherModelId = '00000000-0000-4000-8000-00000000dead';
    const cases: [LightMyRequestResponse, number, string][] = [
      [await call('PUT', keyUrl(), { key: '' }), 400, 'VALIDATION'],
      [await call('PUT', keyUrl(), { key: 'short' }), 400, 'VALIDATION'],
      [await call('PUT', keyUrl(), { key: 'has a space in the middle' }), 400, 'VALIDATION'],
      [await call('PUT', keyUrl(), {}), 400, 'VALIDATION'],
      [await call('POST', `${keyUrl()}/rotate`, { key: newKey(), graceSeconds: 1 }), 400, 'VALIDATION'],
      [
        await call('POST', `${keyUrl()}/rotate`, {
          key: t.app.modelRegistry.upstreamKeys(deploymentId)!.current.slice(7),
        }),
        400,
        'VALIDATION',
      ],
      [
        await call('PUT', keyUrl({ modelId, deploymentId: '00000000-0000-4000-8000-00000000beef' }), {
          key: newKey(),
        }),
        404,
        'NOT_FOUND',
      ],
      [
        await call('PUT', keyUrl({ modelId: otherModelId, deploymentId }), { key: newKey() }),
        404,
        'NOT_FOUND',
      ],
      [await call('DELETE', keyUrl({ modelId: otherModelId, deploymentId })), 404, 'NOT_FOUND'],
      [await call('PUT', keyUrl(), { key: newKey() }, owner), 403, 'FORBIDDEN'],
      [await call('POST', `${keyUrl()}/rotate`, { key: newKey() }, owner), 403, 'FORBIDDEN'],
      [await call('DELETE', keyUrl(), undefined, owner), 403, 'FORBIDDEN'],
      [await call('GET', keyUrl(), undefined, owner), 403, 'FORBIDDEN'],
      [await call('PUT', keyUrl(), { key: newKey() }, null), 401, 'UNAUTHENTICATED'],
    ];
    for (const [res, status, code] of cases) {
      expect(res.statusCode, res.body).toBe(status);
      expect(errorCode(res)).toBe(code);
    }
    expect(await credentialRows()).toEqual(before);
    const auditsAfter = await admin.query(`SELECT count(*)::int AS n FROM audit_log WHERE target_id = $1`, [
      deploymentId,
    ]);
    expect(auditsAfter.rows).toEqual(auditsBefore.rows);
  });

  it('removing the key: requests go without one; rotating nothing is a 409', async () => {
    const removed = await call('DELETE', keyUrl());
    expect(removed.statusCode, removed.body).toBe(204);
    expect(await credentialRows()).toEqual([]);
    await untilSent(null);
    expect(await chat()).toBe(502);
    expect(upstream.seen.at(-1)).toBe('');
    expect((await call('DELETE', keyUrl())).statusCode).toBe(404);
    const rotate = await call('POST', `${keyUrl()}/rotate`, { key: newKey() });
    expect(rotate.statusCode).toBe(409);
    expect(errorCode(rotate)).toBe('CONFLICT');
  });

  it('no key appears in any answer, audit row or log line', async () => {
    answers.push((await call('GET', '/api/admin/models')).body);
    const { rows: audits } = await admin.query<{ action: string; details: unknown }>(
      `SELECT action, details FROM audit_log WHERE target_id = $1 ORDER BY id`,
      [deploymentId],
    );
    expect(audits.map((a) => a.action)).toEqual([
      'model.deployment.upstream-key.set',
      'model.deployment.upstream-key.rotate',
      'model.deployment.upstream-key.remove',
    ]);
    const auditText = JSON.stringify(audits);
    const logText = logLines.join('');
    expect(logText).toContain('upstream refused the deployment key');
    expect(keysUsed.length).toBeGreaterThan(3);
    for (const key of keysUsed) {
      const secret = key.slice(6); // the random part
      for (const [where, text] of [
        ['answers', answers.join('\n')],
        ['audit rows', auditText],
        ['logs', logText],
      ] as const)
        expect(text.includes(secret), `${where} hold a key`).toBe(false);
    }
  });
});
