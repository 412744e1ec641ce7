import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { maxCacheTtlMs } from '../../../api/identity/api-keys/verifier.js';
import { loggerOptions } from '../../../runtime/logger.js';
import { buildTestApp, useTestApp, type TestApp } from '../../support/app.js';
import {
  addMember,
  auditRows,
  bearer,
  errorCode,
  seedActiveOrg,
  signUp,
  useAdminPool,
  type TestUser,
} from './helpers.js';

const t = useTestApp();
const admin = useAdminPool();

interface KeyBody {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  teamId: string | null;
  expiresAt: string | null;
  allowedIps: string[] | null;
  allowedModels: string[] | null;
  lastUsedAt: string | null;
  previousValidUntil: string | null;
  revokedAt: string | null;
  key?: string;
}

const extraApps: TestApp[] = [];
afterAll(async () => {
  await Promise.all(extraApps.map((a) => a.close()));
});

async function extraApp(overrides: Record<string, string> = {}): Promise<TestApp> {
  const app = await buildTestApp(overrides);
  extraApps.push(app);
  return app;
}

async function orgWithOwner(label = 'Keys Co'): Promise<{ owner: TestUser; orgId: string; base: string }> {
  const owner = await signUp(t.app, 'key-owner');
  const orgId = await seedActiveOrg(admin, owner, label);
  return { owner, orgId, base: `/api/orgs/${orgId}/api-keys` };
}

async function createKey(
  app: TestApp['app'],
  base: string,
  user: TestUser,
  payload: Record<string, unknown> = {},
): Promise<KeyBody & { key: string }> {
  const res = await app.inject({
    method: 'POST',
    url: base,
    headers: bearer(user),
    payload: { name: 'ci', scopes: ['inference'], ...payload },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<KeyBody & { key: string }>();
}

function introspect(app: TestApp['app'], key: string, remoteAddress?: string) {
  return app.inject({
    method: 'GET',
    url: '/api/auth/key',
    headers: { authorization: `Bearer ${key}` },
    ...(remoteAddress && { remoteAddress }),
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until the key is refused; returns when that was (Date.now()) or throws after `limitMs`. */
async function refusedWithin(app: TestApp['app'], key: string, limitMs: number): Promise<number> {
  const start = Date.now();
  for (;;) {
    const res = await introspect(app, key);
    if (res.statusCode === 401) return Date.now();
    expect(res.statusCode).toBe(200);
    if (Date.now() - start > limitMs) throw new Error(`key still accepted after ${limitMs} ms`);
    await sleep(100);
  }
}

describe('API keys', () => {
  it('creates a key shown once; list and show never carry secrets; the key introspects itself', async () => {
    const { owner, orgId, base } = await orgWithOwner();
    const created = await createKey(t.app, base, owner, {
      name: 'inference bot',
      scopes: ['inference', 'models:read'],
      allowedModels: ['llama-3-8b'],
    });
    expect(created.key).toMatch(/^vl_live_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(created.key.split('_').slice(2, 3)[0]).toBe(created.prefix);
    expect(created).toMatchObject({
      name: 'inference bot',
      scopes: ['inference', 'models:read'],
      revokedAt: null,
    });

    const list = await t.app.inject({ method: 'GET', url: base, headers: bearer(owner) });
    expect(list.statusCode).toBe(200);
    const items = list.json<{ items: Record<string, unknown>[] }>().items;
    expect(items.map((k) => k.id)).toEqual([created.id]);
    const shown = await t.app.inject({ method: 'GET', url: `${base}/${created.id}`, headers: bearer(owner) });
    expect(shown.statusCode).toBe(200);
    for (const body of [list.body, shown.body]) {
      expect(body).not.toContain(created.key.slice(-43));
      expect(body).not.toMatch(/"key"|secretHash|secret_hash/);
    }

    const me = await introspect(t.app, created.key);
    expect(me.statusCode, me.body).toBe(200);
    expect(me.json()).toEqual({
      keyId: created.id,
      orgId,
      teamId: null,
      scopes: ['inference', 'models:read'],
      expiresAt: null,
      allowedModels: ['llama-3-8b'],
      plan: 'developer',
      requestsPerMinute: null,
      tokensPerMinute: null,
    });
  });

  it("a key's own limits stay within its org's plan: above it refused (the plan's limit named), nothing written", async () => {
    const { owner, orgId, base } = await orgWithOwner();
    await admin.query(`UPDATE organizations SET plan = 'free' WHERE id = $1`, [orgId]);
    const attempt = (payload: Record<string, unknown>) =>
      t.app.inject({
        method: 'POST',
        url: base,
        headers: bearer(owner),
        payload: { name: 'x', scopes: ['inference'], ...payload },
      });
    const tooManyRequests = await attempt({ requestsPerMinute: 21 });
    expect(tooManyRequests.statusCode).toBe(400);
    expect(errorCode(tooManyRequests)).toBe('VALIDATION');
    expect(tooManyRequests.json<{ error: { message: string } }>().error.message).toBe(
      "requestsPerMinute (21) is above the organization's free plan limit of 20 requests per minute.",
    );
    const tooManyTokens = await attempt({ requestsPerMinute: 5, tokensPerMinute: 10_001 });
    expect(tooManyTokens.statusCode).toBe(400);
    expect(tooManyTokens.json<{ error: { message: string } }>().error.message).toMatch(
      /free plan limit of 10000 tokens per minute/,
    );
    expect((await attempt({ tokensPerMinute: 0 })).statusCode).toBe(400);
    const { rows } = await admin.query('SELECT count(*)::int AS n FROM api_keys WHERE org_id = $1', [orgId]);
    expect(rows[0]).toEqual({ n: 0 });
    expect(await auditRows(admin, { orgId, action: 'api-key.create' })).toEqual([]);

    const created = await createKey(t.app, base, owner, { requestsPerMinute: 20, tokensPerMinute: 2_000 });
    expect(created).toMatchObject({ requestsPerMinute: 20, tokensPerMinute: 2_000 });
    const shown = await t.app.inject({ method: 'GET', url: `${base}/${created.id}`, headers: bearer(owner) });
    expect(shown.json()).toMatchObject({ requestsPerMinute: 20, tokensPerMinute: 2_000 });
    const unlimited = await createKey(t.app, base, owner);
    const list = await t.app.inject({ method: 'GET', url: base, headers: bearer(owner) });
    expect(list.json<{ items: Record<string, unknown>[] }>().items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: created.id, requestsPerMinute: 20, tokensPerMinute: 2_000 }),
        expect.objectContaining({ id: unlimited.id, requestsPerMinute: null, tokensPerMinute: null }),
      ]),
    );
    // The verified key carries its org's plan and its own limits (what the gateway's limiter reads).
    const me = await introspect(t.app, created.key);
    expect(me.json()).toMatchObject({ plan: 'free', requestsPerMinute: 20, tokensPerMinute: 2_000 });
    await expect(
      admin.query(`UPDATE organizations SET plan = 'platinum' WHERE id = $1`, [orgId]),
    ).rejects.toThrow(/organizations_plan_known/);
  });

  it('a JWT, no credential, or a key on a user route: 401', async () => {
    const { owner, base } = await orgWithOwner();
    const { key } = await createKey(t.app, base, owner);
    const jwt = await t.app.inject({ method: 'GET', url: '/api/auth/key', headers: bearer(owner) });
    expect(jwt.statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/api/auth/key' })).statusCode).toBe(401);
    const keyOnUserRoute = await t.app.inject({
      method: 'GET',
      url: base,
      headers: { authorization: `Bearer ${key}` },
    });
    expect(keyOnUserRoute.statusCode).toBe(401);
    expect(errorCode(keyOnUserRoute)).toBe('UNAUTHENTICATED');
  });

  it('malformed keys of any shape answer 401, never 500', async () => {
    const { owner, base } = await orgWithOwner();
    const { key, prefix } = await createKey(t.app, base, owner);
    const secret = key.slice(-43);
    const nasty = [
      'vl_',
      'vl',
      'vl__',
      'vl___',
      `vl_live_${prefix}`,
      `vl_live_${prefix}_`,
      `vl_live__${secret}`,
      `vl_live_${prefix}_${secret}_extra`,
      `vl_live_${prefix}_${secret.slice(0, 42)}`,
      `vl_live_${prefix}_${secret}A`,
      `vl_test_${prefix}_${secret}`,
      `vl_LIVE_${prefix}_${secret}`,
      `vl_live_${prefix.toLowerCase()}x_${secret}`,
      `vl_live_${prefix}_${'A'.repeat(43)}`,
      `vl_live_${'A'.repeat(12)}_${secret}`,
      `vl_live_${prefix}_${secret}`.replace('vl_', 'VL_'),
      `vl_live_' OR '1'='1_${secret}`,
      `vl_live_${prefix}_'; DROP TABLE api_keys; --`,
      `vl_live_%27%20OR%201%3D1_${secret}`,
      `vl_${'x'.repeat(20_000)}`,
      `vl_live_${prefix}_${secret}${'='.repeat(5000)}`,
      'vl_live_ÄÖÜäöü123_' + secret,
      'vl_live_\u0000\u0000\u0000\u0000\u0000\u0000_' + secret,
      `vl_live_${prefix}_${'🦋'.repeat(22)}`,
      'vl_live_%s%s%s%s%s%s_%n',
      'vl_' + '_'.repeat(200),
    ];
    for (const candidate of nasty) {
      const res = await t.app.inject({
        method: 'GET',
        url: '/api/auth/key',
        headers: { authorization: `Bearer ${Buffer.from(candidate, 'utf8').toString('latin1')}` },
      });
      expect(res.statusCode, candidate.slice(0, 80)).toBe(401);
    }
    // Headers that are not a bearer credential at all.
    for (const header of [
      '',
      'Bearer',
      'Bearer ',
      `Basic ${key}`,
      `Bearer ${key} ${key}`,
      `Bearer\t${key}`,
    ]) {
      const res = await t.app.inject({
        method: 'GET',
        url: '/api/auth/key',
        headers: { authorization: header },
      });
      expect(res.statusCode, header.slice(0, 40)).toBe(401);
    }
    // And the real key still works afterwards (no negative-cache poisoning by near misses).
    expect((await introspect(t.app, key)).statusCode).toBe(200);
  });

  it('rotation: the new secret works at once, the old one during the grace period only', async () => {
    // Long enough for the rotation and the checks during the grace on a busy machine.
    const graceApp = await extraApp({ API_KEY_ROTATION_GRACE_SECONDS: '5' });
    const { owner, orgId, base } = await orgWithOwner();
    const original = await createKey(graceApp.app, base, owner);
    expect((await introspect(graceApp.app, original.key)).statusCode).toBe(200);

    const res = await graceApp.app.inject({
      method: 'POST',
      url: `${base}/${original.id}/rotate`,
      headers: bearer(owner),
    });
    expect(res.statusCode, res.body).toBe(200);
    const rotated = res.json<KeyBody & { key: string }>();
    expect(rotated.prefix).toBe(original.prefix);
    expect(rotated.key).not.toBe(original.key);
    expect(rotated.previousValidUntil).not.toBeNull();

    expect((await introspect(graceApp.app, rotated.key)).statusCode).toBe(200);
    expect((await introspect(graceApp.app, original.key)).statusCode).toBe(200);
    // Once the grace period is over (however long the steps above took), only the new secret works.
    await sleep(Date.parse(rotated.previousValidUntil!) + 200 - Date.now());
    expect((await introspect(graceApp.app, original.key)).statusCode).toBe(401);
    expect((await introspect(graceApp.app, rotated.key)).statusCode).toBe(200);

    const audit = await auditRows(admin, { orgId, action: 'api-key.rotate' });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor_id: owner.id, target_type: 'api-key', target_id: original.id });
  });

  it('revocation reaches another replica sharing Redis within 5 s (pub/sub: at once)', async () => {
    const replica = await extraApp();
    const { owner, orgId, base } = await orgWithOwner();
    const { id, key } = await createKey(t.app, base, owner);
    // Both replicas have the key in their cache; the replica's entry lives until 5 s after this at
    // the earliest.
    expect((await introspect(t.app, key)).statusCode).toBe(200);
    const cachedBefore = Date.now();
    expect((await introspect(replica.app, key)).statusCode).toBe(200);

    const del = await t.app.inject({ method: 'DELETE', url: `${base}/${id}`, headers: bearer(owner) });
    expect(del.statusCode).toBe(204);
    expect((await introspect(t.app, key)).statusCode).toBe(401);
    // Refused while its cache entry still lived: the invalidation, not the TTL, dropped it.
    const refusedAt = await refusedWithin(replica.app, key, maxCacheTtlMs);
    expect(refusedAt).toBeLessThan(cachedBefore + maxCacheTtlMs);

    const again = await t.app.inject({ method: 'DELETE', url: `${base}/${id}`, headers: bearer(owner) });
    expect(again.statusCode).toBe(204);
    expect(await auditRows(admin, { orgId, action: 'api-key.revoke' })).toHaveLength(1);
    const shown = await t.app.inject({ method: 'GET', url: `${base}/${id}`, headers: bearer(owner) });
    expect(shown.json<KeyBody>().revokedAt).not.toBeNull();
    const rotate = await t.app.inject({
      method: 'POST',
      url: `${base}/${id}/rotate`,
      headers: bearer(owner),
    });
    expect(rotate.statusCode).toBe(409);
  });

  it('revocation reaches replicas without Redis within 5 s (cache TTL)', async () => {
    const [a, b] = [await extraApp({ REDIS_URL: '' }), await extraApp({ REDIS_URL: '' })];
    const { owner, base } = await orgWithOwner();
    const { id, key } = await createKey(a.app, base, owner);
    // b caches the key, at the latest by the time its answer is back; nothing tells it about the
    // revocation.
    expect((await introspect(b.app, key)).statusCode).toBe(200);
    const warmedAt = Date.now();
    const del = await a.app.inject({ method: 'DELETE', url: `${base}/${id}`, headers: bearer(owner) });
    expect(del.statusCode).toBe(204);
    expect((await introspect(a.app, key)).statusCode).toBe(401);
    // Its cache entry expires at most 5 s after it was filled, so 5 s after the revocation at the latest.
    await sleep(warmedAt + 5_000 - Date.now());
    expect((await introspect(b.app, key)).statusCode).toBe(401);
  });

  it('an expired key is refused', async () => {
    const { owner, base } = await orgWithOwner();
    // Far enough ahead that the key is created and checked before it, on a busy machine too.
    const expiresAt = new Date(Date.now() + 5_000).toISOString();
    const { key } = await createKey(t.app, base, owner, { expiresAt });
    const ok = await introspect(t.app, key);
    expect(ok.statusCode).toBe(200);
    expect(ok.json<{ expiresAt: string }>().expiresAt).toBe(expiresAt);
    await sleep(Date.parse(expiresAt) + 200 - Date.now());
    expect((await introspect(t.app, key)).statusCode).toBe(401);

    const past = await t.app.inject({
      method: 'POST',
      url: base,
      headers: bearer(owner),
      payload: { name: 'late', scopes: ['inference'], expiresAt: new Date(Date.now() - 1000).toISOString() },
    });
    expect(past.statusCode).toBe(400);
  });

  it('the IP allow-list admits listed networks only', async () => {
    const { owner, base } = await orgWithOwner();
    const { key } = await createKey(t.app, base, owner, { allowedIps: ['10.0.0.0/8', '2001:db8::/32'] });
    expect((await introspect(t.app, key, '10.1.2.3')).statusCode).toBe(200);
    expect((await introspect(t.app, key, '::ffff:10.9.8.7')).statusCode).toBe(200);
    expect((await introspect(t.app, key, '2001:db8::1')).statusCode).toBe(200);
    expect((await introspect(t.app, key, '192.168.1.1')).statusCode).toBe(401);
    expect((await introspect(t.app, key, '2001:db9::1')).statusCode).toBe(401);

    const hostBits = await t.app.inject({
      method: 'POST',
      url: base,
      headers: bearer(owner),
      payload: { name: 'bad', scopes: ['inference'], allowedIps: ['10.0.0.1/8'] },
    });
    expect(hostBits.statusCode).toBe(400);
  });

  it('a key never exceeds its creator: scope escalation and foreign teams are refused, nothing written', async () => {
    const { owner, orgId, base } = await orgWithOwner();
    const member = await signUp(t.app, 'key-member');
    await addMember(admin, orgId, member.id, 'member');
    const billing = await signUp(t.app, 'key-billing');
    await addMember(admin, orgId, billing.id, 'billing');
    const team = await t.app.inject({
      method: 'POST',
      url: `/api/orgs/${orgId}/teams`,
      headers: bearer(owner),
      payload: { name: 'ml' },
    });
    const teamId = team.json<{ id: string }>().id;
    const other = await orgWithOwner('Other Co');
    const otherTeam = await t.app.inject({
      method: 'POST',
      url: `/api/orgs/${other.orgId}/teams`,
      headers: bearer(other.owner),
      payload: { name: 'theirs' },
    });
    const otherTeamId = otherTeam.json<{ id: string }>().id;

    const attempt = (user: TestUser, payload: Record<string, unknown>) =>
      t.app.inject({ method: 'POST', url: base, headers: bearer(user), payload: { name: 'x', ...payload } });
    expect((await attempt(member, { scopes: ['admin'] })).statusCode).toBe(403);
    expect((await attempt(member, { scopes: ['inference', 'admin'] })).statusCode).toBe(403);
    expect((await attempt(member, { scopes: ['usage:read'] })).statusCode).toBe(403);
    expect((await attempt(member, { scopes: ['inference'], teamId })).statusCode).toBe(403);
    expect((await attempt(billing, { scopes: ['inference'] })).statusCode).toBe(403);
    expect((await attempt(owner, { scopes: ['inference'], teamId: otherTeamId })).statusCode).toBe(404);
    expect((await attempt(owner, { scopes: ['inference'], orgId: other.orgId })).statusCode).toBe(400);
    expect((await attempt(owner, { scopes: ['superuser'] })).statusCode).toBe(400);
    const { rows } = await admin.query('SELECT count(*)::int AS n FROM api_keys WHERE org_id = $1', [orgId]);
    expect(rows[0]).toEqual({ n: 0 });

    // What a member may do: inference keys for themselves (and their own team), seen only by them.
    const mine = await createKey(t.app, base, member, { scopes: ['inference', 'models:read'] });
    await t.app.inject({
      method: 'PUT',
      url: `/api/orgs/${orgId}/teams/${teamId}/members/${member.id}`,
      headers: bearer(owner),
    });
    const teamKey = await createKey(t.app, base, member, { scopes: ['inference'], teamId });
    expect(teamKey.teamId).toBe(teamId);
    const ownersKey = await createKey(t.app, base, owner, { scopes: ['admin', 'usage:read'] });
    const memberList = await t.app.inject({ method: 'GET', url: base, headers: bearer(member) });
    expect(
      memberList
        .json<{ items: KeyBody[] }>()
        .items.map((k) => k.id)
        .sort(),
    ).toEqual([mine.id, teamKey.id].sort());
    const peek = await t.app.inject({
      method: 'GET',
      url: `${base}/${ownersKey.id}`,
      headers: bearer(member),
    });
    expect(peek.statusCode).toBe(404);
    const ownerList = await t.app.inject({ method: 'GET', url: base, headers: bearer(owner) });
    expect(ownerList.json<{ items: KeyBody[] }>().items).toHaveLength(3);
    // Rotating and revoking are for managers, even for the member's own key.
    expect(
      (await t.app.inject({ method: 'DELETE', url: `${base}/${mine.id}`, headers: bearer(member) }))
        .statusCode,
    ).toBe(403);
  });

  it("a key never outlives its creator's privileges: demotion narrows it, removal refuses it (within 5 s)", async () => {
    const { owner, orgId, base } = await orgWithOwner();
    const adminUser = await signUp(t.app, 'key-admin');
    await addMember(admin, orgId, adminUser.id, 'admin');
    const member = await signUp(t.app, 'key-member2');
    await addMember(admin, orgId, member.id, 'member');
    const adminKey = await createKey(t.app, base, adminUser, { scopes: ['admin', 'inference'] });
    const memberKey = await createKey(t.app, base, member, { scopes: ['inference'] });
    expect((await introspect(t.app, adminKey.key)).json<{ scopes: string[] }>().scopes).toEqual([
      'admin',
      'inference',
    ]);
    expect((await introspect(t.app, memberKey.key)).statusCode).toBe(200);

    const members = `/api/orgs/${orgId}/members`;
    const demoted = await t.app.inject({
      method: 'PATCH',
      url: `${members}/${adminUser.id}`,
      headers: bearer(owner),
      payload: { role: 'member' },
    });
    expect(demoted.statusCode, demoted.body).toBe(200);
    const removed = await t.app.inject({
      method: 'DELETE',
      url: `${members}/${member.id}`,
      headers: bearer(owner),
    });
    expect(removed.statusCode, removed.body).toBe(204);

    await sleep(maxCacheTtlMs + 100);
    const narrowed = await introspect(t.app, adminKey.key);
    expect(narrowed.statusCode).toBe(200);
    expect(narrowed.json<{ scopes: string[] }>().scopes).toEqual(['inference']);
    expect((await introspect(t.app, memberKey.key)).statusCode).toBe(401);
  });

  it('every change is audited without the secret; the secret is in no row of api_keys or audit_log', async () => {
    const { owner, orgId, base } = await orgWithOwner();
    const created = await createKey(t.app, base, owner, { scopes: ['inference'], allowedModels: ['m1'] });
    const rotated = await t.app.inject({
      method: 'POST',
      url: `${base}/${created.id}/rotate`,
      headers: bearer(owner),
    });
    const newKey = rotated.json<{ key: string }>().key;
    await t.app.inject({ method: 'DELETE', url: `${base}/${created.id}`, headers: bearer(owner) });

    const audit = await auditRows(admin, { orgId });
    expect(audit.map((r) => r.action)).toEqual(['api-key.create', 'api-key.rotate', 'api-key.revoke']);
    for (const row of audit) {
      expect(row).toMatchObject({ actor_id: owner.id, target_type: 'api-key', target_id: created.id });
    }
    expect(audit[0]?.details).toMatchObject({
      prefix: created.prefix,
      scopes: ['inference'],
      allowedModels: ['m1'],
    });

    const dump = await admin.query<{ text: string }>(
      `SELECT k::text AS text FROM api_keys k WHERE org_id = $1
       UNION ALL SELECT a::text FROM audit_log a WHERE org_id = $1`,
      [orgId],
    );
    const text = dump.rows.map((r) => r.text).join('\n');
    expect(text).toContain(created.prefix);
    for (const secret of [created.key.slice(-43), newKey.slice(-43)]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(Buffer.from(secret).toString('hex'));
    }
  });

  it('no key secret appears in the logs, even at trace level', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logged = await buildTestApp({}, { logger: pino(loggerOptions('trace', 'api'), sink) });
    extraApps.push(logged);
    const { owner, base } = await orgWithOwner();
    const created = await createKey(logged.app, base, owner);
    await introspect(logged.app, created.key);
    await introspect(logged.app, `${created.key.slice(0, -1)}x`);
    const rotated = await logged.app.inject({
      method: 'POST',
      url: `${base}/${created.id}/rotate`,
      headers: bearer(owner),
    });
    const newKey = rotated.json<{ key: string }>().key;
    await introspect(logged.app, newKey);
    await logged.app.inject({ method: 'DELETE', url: `${base}/${created.id}`, headers: bearer(owner) });
    await introspect(logged.app, newKey);

    const log = lines.join('');
    expect(log).toContain('/api/auth/key');
    for (const secret of [created.key.slice(-43), newKey.slice(-43), created.key.slice(-43, -1)]) {
      expect(log).not.toContain(secret);
    }
  });

  it('records last use off the request path', async () => {
    const { owner, orgId, base } = await orgWithOwner();
    const { id, key } = await createKey(t.app, base, owner);
    expect((await introspect(t.app, key)).statusCode).toBe(200);
    const lastUsedAt = async () => {
      const { rows } = await admin.query<{ last_used_at: Date | null }>(
        'SELECT last_used_at FROM api_keys WHERE id = $1 AND org_id = $2',
        [id, orgId],
      );
      return rows[0]?.last_used_at ?? null;
    };
    // Written off the request path: soon, not before the answer.
    await expect.poll(lastUsedAt, { timeout: 15_000, interval: 50 }).not.toBeNull();
    const lastUsed = await lastUsedAt();
    // A second use within the minute does not write again.
    await introspect(t.app, key);
    await sleep(200);
    const { rows } = await admin.query<{ last_used_at: Date }>(
      'SELECT last_used_at FROM api_keys WHERE id = $1',
      [id],
    );
    expect(rows[0]?.last_used_at.getTime()).toBe(lastUsed?.getTime());
  });
});
