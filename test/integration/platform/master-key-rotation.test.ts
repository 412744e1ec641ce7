// Rotating the master key, end to end, in a database of its own: tenant data keys, an API key and
// a signing key exist under key m1; the deployment moves to m2 with m1 as a previous key; the
// re-wrap (interrupted once, then resumed) moves every wrapped value to m2; with m1 gone from the
// config, the API key still verifies, tokens still sign and verify, and tenant payloads still decode.
// The re-wrap runs as vlinders_rewrap through a login an operator granted it to: it sees every
// tenant's wrapped columns and can neither read other data nor write other columns.
import { execFile } from 'node:child_process';
import { createCipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb, createPool, type Db } from '../../../db/client.js';
import { TenantPayloadCodec } from '../../../runtime/codec.js';
import { DataKeyStore } from '../../../runtime/data-keys.js';
import { masterKeyFromConfig, type MasterKey } from '../../../runtime/envelope.js';
import { parseConfig } from '../../../runtime/config.js';
import { rewrapRole, rewrapSecrets, RewrapRoleError, type ColumnCounts } from '../../../runtime/rewrap.js';
import { runRewrap } from '../../../scripts/rewrap-secrets.js';
import { dbError } from '../../support/db-errors.js';
import { buildTestApp, type TestApp } from '../../support/app.js';
import { adminPool, createIsolatedDatabase, type IsolatedDatabase } from '../../support/isolated-database.js';
import { bearer, password, seedActiveOrg, signUp, type TestUser } from '../api/helpers.js';

const run = promisify(execFile);
const m1 = randomBytes(32).toString('base64');
const m2 = randomBytes(32).toString('base64');

let iso: IsolatedDatabase;
let admin: pg.Pool;
let ownerPool: pg.Pool;
let ownerDb: Db;
/** An operator's login, granted vlinders_rewrap, and a pool of it running as that role. */
const operatorLogin = `rewrap_operator_${randomBytes(4).toString('hex')}`;
let rewrapUrl: string;
let rewrapPool: pg.Pool;
let rewrapDb: Db;

const configs = {
  before: { MASTER_KEY: m1, MASTER_KEY_ID: 'm1' },
  during: { MASTER_KEY: m2, MASTER_KEY_ID: 'm2', MASTER_KEYS_PREVIOUS: `m1:${m1}` },
  after: { MASTER_KEY: m2, MASTER_KEY_ID: 'm2' },
};

function appWith(keys: Record<string, string>): Promise<TestApp> {
  return buildTestApp({ DATABASE_URL: iso.appUrl, DATABASE_MIGRATION_URL: iso.adminUrl, ...keys });
}

/** Every wrapped value in the database, by table and row. */
async function wrappedValues(): Promise<Record<string, string>> {
  const { rows } = await admin.query<{ id: string; value: string }>(`
    SELECT 'tenant_data_keys:' || org_id AS id, wrapped_key AS value FROM tenant_data_keys
    UNION ALL SELECT 'signing_keys:' || kid, wrapped_private_jwk FROM signing_keys
    UNION ALL SELECT 'platform_secrets:' || name, wrapped_value FROM platform_secrets`);
  return Object.fromEntries(rows.map((r) => [r.id, r.value]));
}

/** A tenant data key as the previous release stored it: the key directly under the master key. */
function legacyWrap(master: MasterKey, plaintext: Buffer, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', master.key, iv);
  cipher.setAAD(Buffer.from(context));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return [
    master.id,
    iv.toString('base64url'),
    cipher.getAuthTag().toString('base64url'),
    ciphertext.toString('base64url'),
  ].join('.');
}

function codecFor(app: TestApp): TenantPayloadCodec {
  return new TenantPayloadCodec(new DataKeyStore(ownerDb, masterKeyFromConfig(app.config)));
}

const total = (counts: ColumnCounts[], field: keyof Omit<ColumnCounts, 'table' | 'column'>) =>
  counts.reduce((sum, c) => sum + c[field], 0);

beforeAll(async () => {
  iso = await createIsolatedDatabase('master_rotation');
  admin = adminPool(iso.adminUrl);
  ownerPool = createPool({ url: iso.adminUrl, size: 2, applicationName: 'test-rewrap' });
  ownerDb = createDb(ownerPool);
  const loginPassword = randomBytes(12).toString('hex');
  await admin.query(`CREATE ROLE ${operatorLogin} LOGIN PASSWORD '${loginPassword}' IN ROLE ${rewrapRole}`);
  const url = new URL(iso.appUrl);
  url.username = operatorLogin;
  url.password = loginPassword;
  rewrapUrl = url.toString();
  rewrapPool = createPool({ url: rewrapUrl, size: 2, appRole: rewrapRole, applicationName: 'test-rewrap' });
  rewrapDb = createDb(rewrapPool);
});
afterAll(async () => {
  await Promise.all([admin?.end(), ownerPool?.end(), rewrapPool?.end()]);
  await iso?.drop();
  const server = adminPool(inject('adminDatabaseUrl'));
  await server.query(`DROP ROLE IF EXISTS ${operatorLogin}`);
  await server.end();
});

describe('master key rotation', () => {
  let owner: TestUser;
  let orgId: string;
  let legacyOrgId: string;
  let apiKey: string;
  let sealed: Payload[];
  const values = [{ orgId: '', note: 'tenant secret plan' }, { note: 'a platform payload' }];

  /** The API key and the access token made before the rotation are still accepted. */
  async function expectEarlierCredentialsWork(t: TestApp): Promise<void> {
    const key = await t.app.inject({
      method: 'GET',
      url: '/api/auth/key',
      headers: bearer({ accessToken: apiKey }),
    });
    expect(key.statusCode).toBe(200);
    const me = await t.app.inject({ method: 'GET', url: '/api/me', headers: bearer(owner) });
    expect(me.statusCode).toBe(200);
  }

  it('starts under m1 with tenant data, an API key, a signing key and a legacy-format value', async () => {
    const t = await appWith(configs.before);
    try {
      owner = await signUp(t.app, 'rotation-owner');
      orgId = await seedActiveOrg(admin, owner, 'Rotation');
      const key = await t.app.inject({
        method: 'POST',
        url: `/api/orgs/${orgId}/api-keys`,
        headers: bearer(owner),
        payload: { name: 'survives rotation', scopes: ['inference'] },
      });
      expect(key.statusCode, key.body).toBe(201);
      apiKey = key.json<{ key: string }>().key;
      values[0]!.orgId = orgId;
      sealed = await codecFor(t).encode(values.map((v) => defaultPayloadConverter.toPayload(v)));

      // A tenant whose data key was stored before data keys were enveloped.
      const legacyOwner = await signUp(t.app, 'rotation-legacy');
      legacyOrgId = await seedActiveOrg(admin, legacyOwner, 'Legacy');
      await admin.query(`INSERT INTO tenant_data_keys (org_id, wrapped_key) VALUES ($1, $2)`, [
        legacyOrgId,
        legacyWrap(masterKeyFromConfig(t.config), randomBytes(32), legacyOrgId),
      ]);
    } finally {
      await t.close();
    }
    // The platform payload key is stored now, with the value earlier releases derived from the
    // master key, so platform payloads already in workflow histories keep decoding.
    const platformKey = await new DataKeyStore(ownerDb, masterKeyFromConfig(configs.before)).forPlatform();
    expect(platformKey.key).toEqual(
      Buffer.from(
        hkdfSync('sha256', Buffer.from(m1, 'base64'), 'vlinders', 'temporal-payloads/platform', 32),
      ),
    );
    const wrapped = Object.values(await wrappedValues());
    expect(wrapped.length).toBeGreaterThanOrEqual(5);
    expect(wrapped.every((v) => v.startsWith('v2.m1.') || v.startsWith('m1.'))).toBe(true);
  });

  it('keeps working with m2 current and m1 previous, before anything is re-wrapped', async () => {
    const t = await appWith(configs.during);
    try {
      await expectEarlierCredentialsWork(t);
      const decoded = await codecFor(t).decode(sealed);
      expect(decoded.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual(values);
    } finally {
      await t.close();
    }
  });

  it('refuses to run as the app role, which RLS keeps from other tenants and which may not become the rewrap role', async () => {
    const appPool = createPool({ url: iso.appUrl, size: 1, applicationName: 'test-rewrap-app' });
    try {
      await expect(
        rewrapSecrets(createDb(appPool), masterKeyFromConfig({ ...configs.during })),
      ).rejects.toThrow(RewrapRoleError);
      expect(await dbError(appPool.query(`SET ROLE ${rewrapRole}`))).toMatch(/permission denied/);
      // Outside a tenant scope the app role still sees no tenant's data key.
      expect((await appPool.query('SELECT org_id FROM tenant_data_keys')).rows).toEqual([]);
    } finally {
      await appPool.end();
    }
    // The command, given the app's login, says what to grant instead of failing half-way.
    await expect(runRewrap(parseConfig({ DATABASE_URL: iso.appUrl, ...configs.during }))).rejects.toThrow(
      /GRANT vlinders_rewrap TO <login>/,
    );
  });

  it("gives the rewrap role every tenant's wrapped columns and nothing else", async () => {
    const { rows: role } = await admin.query(
      `SELECT rolcanlogin AS login, rolbypassrls AS bypass, rolsuper AS super,
         (SELECT count(*)::int FROM pg_class WHERE relowner = r.oid) AS tables
       FROM pg_roles r WHERE rolname = $1`,
      [rewrapRole],
    );
    expect(role).toEqual([{ login: false, bypass: false, super: false, tables: 0 }]);
    // Every tenant's data key, with no tenant scope.
    const seen = await rewrapPool.query<{ org_id: string }>('SELECT org_id FROM tenant_data_keys');
    expect(seen.rows.map((r) => r.org_id)).toEqual(expect.arrayContaining([orgId, legacyOrgId]));
    const refused = {
      usage: 'SELECT count(*) FROM usage_events',
      rollups: 'SELECT count(*) FROM usage_hourly',
      passwordHashes: 'SELECT password_hash FROM users',
      users: 'SELECT email FROM users',
      refreshTokens: 'SELECT count(*) FROM refresh_tokens',
      apiKeys: 'SELECT count(*) FROM api_keys',
      auditLog: 'SELECT count(*) FROM audit_log',
      otherColumn: 'SELECT created_at FROM tenant_data_keys',
      ssoSettings: 'SELECT issuer FROM sso_connections',
      writeKeyColumn: 'UPDATE tenant_data_keys SET org_id = org_id',
      writeOtherColumn: 'UPDATE signing_keys SET retired_at = now()',
      insert: `INSERT INTO platform_secrets (name, wrapped_value) VALUES ('planted', 'x')`,
      delete: 'DELETE FROM signing_keys',
      billing: 'SELECT count(*) FROM organizations',
    };
    for (const [what, query] of Object.entries(refused))
      expect(await dbError(rewrapPool.query(query)), what).toMatch(/permission denied/);
  });

  it('re-wraps every value under m2, resuming after a crash, the ciphertexts unchanged', async () => {
    const master = masterKeyFromConfig(configs.during);
    const before = await wrappedValues();

    let committed = 0;
    await expect(
      rewrapSecrets(rewrapDb, master, {
        onRow: () => {
          committed += 1;
          if (committed === 2) throw new Error('simulated crash');
        },
      }),
    ).rejects.toThrow('simulated crash');
    const halfway = Object.values(await wrappedValues());
    expect(halfway.filter((v) => v.startsWith('v2.m2.'))).toHaveLength(2);
    expect(halfway.filter((v) => !v.startsWith('v2.m2.')).length).toBeGreaterThan(0);

    const resumed = await rewrapSecrets(rewrapDb, master);
    expect(total(resumed, 'current')).toBe(2);
    expect(total(resumed, 'rewrapped')).toBe(Object.keys(before).length - 2);
    const after = await wrappedValues();
    for (const [row, value] of Object.entries(after)) {
      expect(value, row).toMatch(/^v2\.m2\./);
      // Only the data key was re-wrapped: the secret's ciphertext is the one m1 times produced.
      if (before[row]!.startsWith('v2.'))
        expect(value.split('.').slice(5), row).toEqual(before[row]!.split('.').slice(5));
    }

    const again = await rewrapSecrets(rewrapDb, master);
    expect(total(again, 'rewrapped')).toBe(0);
    expect(await wrappedValues()).toEqual(after);
  });

  it('works with m1 removed from the config: keys, tokens and payloads all open under m2', async () => {
    const t = await appWith(configs.after);
    try {
      // A token signed before the rotation still verifies; a fresh one signs and verifies.
      await expectEarlierCredentialsWork(t);
      const login = await t.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { email: owner.email, password },
      });
      expect(login.statusCode, login.body).toBe(200);
      expect(
        (
          await t.app.inject({
            method: 'GET',
            url: '/api/me',
            headers: bearer(login.json<{ accessToken: string }>()),
          })
        ).statusCode,
      ).toBe(200);

      const codec = codecFor(t);
      expect((await codec.decode(sealed)).map((p) => defaultPayloadConverter.fromPayload(p))).toEqual(values);
      const legacyTenant = defaultPayloadConverter.toPayload({ orgId: legacyOrgId, note: 'still mine' });
      const [roundTrip] = await codec.decode(await codec.encode([legacyTenant]));
      expect(defaultPayloadConverter.fromPayload(roundTrip!)).toEqual({
        orgId: legacyOrgId,
        note: 'still mine',
      });
    } finally {
      await t.close();
    }
  });

  it('npm run secrets:rewrap prints what it did per column and changes nothing more', async () => {
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: iso.appUrl,
      DATABASE_REWRAP_URL: rewrapUrl,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      LOG_LEVEL: 'silent',
      ...configs.after,
    };
    const before = await wrappedValues();
    const { stdout } = await run('npm', ['run', '--silent', 'secrets:rewrap'], { env });
    expect(stdout).toMatch(
      /^tenant_data_keys\.wrapped_key: 2 rows, 0 re-wrapped, 2 already current, 0 erased$/m,
    );
    expect(stdout).toMatch(/^signing_keys\.wrapped_private_jwk: \d+ rows, 0 re-wrapped/m);
    expect(stdout).toMatch(/^platform_secrets\.wrapped_value: 2 rows, 0 re-wrapped, 2 already current/m);
    expect(stdout).toContain('every wrapped secret is under master key m2');
    expect(await wrappedValues()).toEqual(before);
    const { rows } = await admin.query(
      `SELECT actor_id, target_id, details FROM audit_log WHERE action = 'master-key.rewrap'`,
    );
    expect(rows).toEqual([{ actor_id: null, target_id: 'm2', details: { rewrapped: 0 } }]);
  });
});
