// Signing-key rotation, in a database of its own (rotating in the shared one would change the keys
// under every other test file): a new key is published in the JWKS before it signs, signs after
// SIGNING_KEY_PUBLISH_SECONDS, and the old key verifies its tokens until its retire time, then
// leaves the JWKS. Rotated by a platform operator through the admin route or by `npm run keys:rotate`.
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { decodeProtectedHeader } from 'jose';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb, createPool } from '../../../db/client.js';
import { masterKeyFromConfig } from '../../../runtime/envelope.js';
import { privateSigningJwks } from '../../../api/identity/signing-keys/signing-keys.js';
import { buildTestApp, type TestApp } from '../../support/app.js';
import { adminPool, createIsolatedDatabase, type IsolatedDatabase } from '../../support/isolated-database.js';
import { bearer, errorCode, password, seedActiveOrg, signUp, type TestUser } from './helpers.js';

// Long enough for the first test's steps to run before the new key activates, on a busy machine too.
// Long enough that a busy machine still logs in before the new key activates.
const publishSeconds = 20;
const run = promisify(execFile);

let iso: IsolatedDatabase;
let admin: pg.Pool;
let t: TestApp;
let operator: TestUser;
let customer: TestUser;
let orgId: string;
/** A second API process on the same database, closed by whoever replaces it. */
let replica: TestApp | undefined;

function appOnIsolatedDb(): Promise<TestApp> {
  return buildTestApp({
    DATABASE_URL: iso.appUrl,
    DATABASE_MIGRATION_URL: iso.adminUrl,
    SIGNING_KEY_PUBLISH_SECONDS: String(publishSeconds),
  });
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid;

async function login(app: TestApp, user: TestUser): Promise<string> {
  const res = await app.app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { email: user.email, password },
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ accessToken: string }>().accessToken;
}

async function publishedKids(app: TestApp): Promise<string[]> {
  const res = await app.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
  expect(res.statusCode).toBe(200);
  return res.json<{ keys: { kid: string }[] }>().keys.map((k) => k.kid);
}

async function meStatus(app: TestApp, token: string): Promise<number> {
  return (await app.app.inject({ method: 'GET', url: '/api/me', headers: bearer({ accessToken: token }) }))
    .statusCode;
}

const rotate = (headers: Record<string, string>) =>
  t.app.inject({ method: 'POST', url: '/api/admin/signing-keys/rotate', headers });

beforeAll(async () => {
  iso = await createIsolatedDatabase('signing_rotation');
  admin = adminPool(iso.adminUrl);
  t = await appOnIsolatedDb();
  [operator, customer] = [await signUp(t.app, 'operator'), await signUp(t.app, 'customer')];
  await admin.query(`UPDATE users SET platform_role = 'operator' WHERE id = $1`, [operator.id]);
  orgId = await seedActiveOrg(admin, customer, 'Customer org');
});
afterAll(async () => {
  await t?.close();
  await replica?.close();
  await admin?.end();
  await iso?.drop();
});

describe('POST /api/admin/signing-keys/rotate', () => {
  it.each([
    ['no token', () => ({}), 401, 'UNAUTHENTICATED'],
    ["an org's owner", () => bearer(customer), 403, 'FORBIDDEN'],
  ] as const)('refuses %s and rotates nothing', async (_who, headers, status, code) => {
    const before = await publishedKids(t);
    const res = await rotate(headers());
    expect(res.statusCode).toBe(status);
    expect(errorCode(res)).toBe(code);
    expect(await publishedKids(t)).toEqual(before);
  });

  it('refuses an API key (401), even the key of an org owner', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: `/api/orgs/${orgId}/api-keys`,
      headers: bearer(customer),
      payload: { name: 'admin attempt', scopes: ['admin'] },
    });
    expect(created.statusCode, created.body).toBe(201);
    const res = await rotate(bearer({ accessToken: created.json<{ key: string }>().key }));
    expect(res.statusCode).toBe(401);
  });
});

describe('signing-key rotation', () => {
  let oldKid: string;
  let newKid: string;
  let oldToken: string;
  let newToken: string;
  let replicaStartedAt: number;
  let activatesAt: number;

  it('publishes the new key at once, but tokens keep carrying the old kid until it activates', async () => {
    replica = await appOnIsolatedDb();
    replicaStartedAt = Date.now();
    oldToken = await login(t, customer);
    oldKid = kidOf(oldToken)!;

    const asked = Date.now();
    const res = await rotate(bearer(operator));
    const answered = Date.now();
    expect(res.statusCode, res.body).toBe(202);
    const body = res.json<{ kid: string; activatesAt: string }>();
    newKid = body.kid;
    expect(newKid).not.toBe(oldKid);
    // The publish delay after the moment the server rotated, whenever between asking and answering.
    activatesAt = Date.parse(body.activatesAt);
    expect(activatesAt).toBeGreaterThanOrEqual(asked + publishSeconds * 1000);
    expect(activatesAt).toBeLessThanOrEqual(answered + publishSeconds * 1000);

    expect(await publishedKids(t)).toEqual(expect.arrayContaining([oldKid, newKid]));
    expect(kidOf(await login(t, customer))).toBe(oldKid);

    // The embedded authorization server gets the key that signs now first, then the new one.
    const master = masterKeyFromConfig(t.config);
    const pool = createPool({ url: iso.appUrl, size: 1, applicationName: 'test-jwks' });
    try {
      const jwks = await privateSigningJwks(createDb(pool), master);
      expect(jwks.map((k) => k.kid)).toEqual([oldKid, newKid]);
      expect(jwks.every((k) => k.d && k.alg === 'RS256' && k.use === 'sig')).toBe(true);
    } finally {
      await pool.end();
    }

    const [audit] = (
      await admin.query<{ actor_id: string; target_id: string }>(
        `SELECT actor_id, target_id FROM audit_log WHERE action = 'signing-key.rotate'`,
      )
    ).rows;
    expect(audit).toEqual({ actor_id: operator.id, target_id: newKid });
  });

  it('signs with the new key once it is active; old tokens still verify, on every replica', async () => {
    await sleep(Math.max(0, activatesAt + 100 - Date.now()));
    newToken = await login(t, customer);
    expect(kidOf(newToken)).toBe(newKid);
    expect(await meStatus(t, oldToken)).toBe(200);
    expect(await meStatus(t, newToken)).toBe(200);

    // The replica started before the rotation: an unknown kid makes it reload (at most every 5 s).
    await sleep(Math.max(0, replicaStartedAt + 5_100 - Date.now()));
    const other = replica!;
    expect(await meStatus(other, newToken)).toBe(200);
    expect(await meStatus(other, oldToken)).toBe(200);
    expect(await publishedKids(other)).toEqual(expect.arrayContaining([oldKid, newKid]));
  });

  it('drops the old key after its retire time: out of the JWKS, its tokens refused, private half erased', async () => {
    const { rows } = await admin.query<{ seconds: number }>(
      `SELECT extract(epoch FROM old.retire_after - new.activates_at)::int AS seconds
       FROM signing_keys old, signing_keys new WHERE old.kid = $1 AND new.kid = $2`,
      [oldKid, newKid],
    );
    // Retire time = the new key's activation + replicas' 60 s key refresh + the 900 s token lifetime.
    expect(rows[0]?.seconds).toBe(960);

    // As if those 16 minutes had passed: a replica starting now sees the key's time is up.
    await admin.query(`UPDATE signing_keys SET retire_after = now() - interval '1 second' WHERE kid = $1`, [
      oldKid,
    ]);
    await replica?.close();
    const restarted = await appOnIsolatedDb();
    replica = restarted;
    expect(await publishedKids(restarted)).toEqual([newKid]);
    expect(await meStatus(restarted, oldToken)).toBe(401);
    expect(await meStatus(restarted, newToken)).toBe(200);
    const retired = await admin.query<{ retired_at: Date | null; wrapped_private_jwk: string }>(
      `SELECT retired_at, wrapped_private_jwk FROM signing_keys WHERE kid = $1`,
      [oldKid],
    );
    expect(retired.rows[0]!.retired_at).not.toBeNull();
    expect(retired.rows[0]!.wrapped_private_jwk).toBe('');
  });

  it('advertises a JWKS max-age that fits in the publish delay with the key refresh', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    // SIGNING_KEY_PUBLISH_SECONDS = publishSeconds (20) leaves nothing after the 60 s refresh: no caching.
    expect(res.headers['cache-control']).toBe('public, max-age=0');
    const defaults = await buildTestApp({ DATABASE_URL: iso.appUrl, DATABASE_MIGRATION_URL: iso.adminUrl });
    try {
      const cached = await defaults.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
      expect(cached.headers['cache-control']).toBe('public, max-age=300');
    } finally {
      await defaults.close();
    }
  });
});

describe('npm run keys:rotate', () => {
  it('publishes a new key that signs after the publish delay', async () => {
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: iso.appUrl,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      MASTER_KEY: t.config.MASTER_KEY,
      SIGNING_KEY_PUBLISH_SECONDS: '600',
      LOG_LEVEL: 'silent',
    };
    const { stdout } = await run('npm', ['run', '--silent', 'keys:rotate'], { env });
    const match = /^new signing key (\S+) published; it signs from (\S+)$/m.exec(stdout);
    expect(match, stdout).not.toBeNull();
    const [, kid, activatesAt] = match!;
    expect(Date.parse(activatesAt!) - Date.now()).toBeGreaterThan(590_000);

    // This replica learns of the key at its next reload; a fresh one publishes it at once.
    const fresh = await appOnIsolatedDb();
    try {
      const published = await publishedKids(fresh);
      expect(published).toContain(kid);
      expect(published.length).toBeGreaterThan(1);
      expect(kidOf(await login(fresh, customer))).not.toBe(kid);
    } finally {
      await fresh.close();
    }
    const { rows } = await admin.query(
      `SELECT actor_id FROM audit_log WHERE action = 'signing-key.rotate' AND target_id = $1`,
      [kid],
    );
    expect(rows).toEqual([{ actor_id: null }]);
  });
});
