// Vlinders under test: real PostgreSQL 15 and Redis started the way the test suite starts them
// (test/support/services.ts), migrated; the API as its own process; the usage ingester; and a
// tenant to call it with (an active org on the enterprise plan, an API key) and the bench models.
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { migrateDatabase } from '../../db/migrate.js';
import { freePort, startPostgres, startRedis, type Service } from '../../test/support/services.js';
import {
  childEnv,
  compiledEntry,
  gatewayCore,
  loadCore,
  startNode,
  waitForHttp,
  type Child,
} from './processes.js';

const appLogin = { user: 'vlinders_bench', password: 'vlinders-bench' };

export interface Databases {
  adminUrl: string;
  appUrl: string;
  redisUrl: string;
  admin: pg.Pool;
  stop(): Promise<void>;
}

/** PostgreSQL and Redis on free ports (data under dataRoot), migrated, with the app's login role. */
export async function startDatabases(dataRoot: string): Promise<Databases> {
  const [postgres, redis]: [Service & { adminUrl: string }, Service] = await Promise.all([
    startPostgres(),
    startRedis(dataRoot),
  ]);
  await migrateDatabase(postgres.adminUrl);
  const admin = new pg.Pool({ connectionString: postgres.adminUrl, max: 4 });
  await admin.query(
    `CREATE ROLE ${appLogin.user} LOGIN PASSWORD '${appLogin.password}' IN ROLE vlinders_app`,
  );
  return {
    adminUrl: postgres.adminUrl,
    appUrl: postgres.adminUrl.replace('postgres@', `${appLogin.user}:${appLogin.password}@`),
    redisUrl: redis.url,
    admin,
    stop: async () => {
      await admin.end();
      await Promise.all([postgres.stop(), redis.stop()]);
    },
  };
}

/** The variables every Vlinders process of the run shares (one MASTER_KEY, so keys verify anywhere). */
export function vlindersEnv(db: Databases, withRedis: boolean): Record<string, string> {
  return childEnv({
    DATABASE_URL: db.appUrl,
    DATABASE_MIGRATION_URL: db.adminUrl,
    ...(withRedis ? { REDIS_URL: db.redisUrl } : {}),
    MASTER_KEY: masterKey,
    LOG_LEVEL: 'warn',
    AUTH_ATTEMPTS_PER_MINUTE: '1000000',
    // Nothing on the inference path talks to Temporal and the client connects lazily.
    TEMPORAL_ADDRESS: '127.0.0.1:1',
  });
}

const masterKey = randomBytes(32).toString('base64');

/** An API process on the gateway core (node flags first, e.g. --cpu-prof); answers once /healthz does. */
export async function startApi(
  name: string,
  env: Record<string, string>,
  logDir: string,
  nodeFlags: string[] = [],
): Promise<{ child: Child; origin: string }> {
  const port = await freePort();
  const child = startNode(
    name,
    gatewayCore,
    [...nodeFlags, compiledEntry('api/server.js')],
    { ...env, PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: `http://127.0.0.1:${port}` },
    logDir,
  );
  const origin = `http://127.0.0.1:${port}`;
  await waitForHttp(name, `${origin}/healthz`, (s) => s === 200);
  return { child, origin };
}

/** The usage ingester (Redis stream → Postgres ledger), on the load core: it is off the hot path. */
export function startIngester(env: Record<string, string>, logDir: string): Child {
  return startNode('usage-ingest', loadCore, [compiledEntry('workers/usage-ingest/main.js')], env, logDir);
}

export interface Tenant {
  orgId: string;
  keyId: string;
  key: string;
}

async function postJson<T>(url: string, body: unknown, token?: string): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`POST ${url} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

/**
 * A user who signs up through the API (verified directly), an active org inserted directly (onboarding runs in
 * Temporal, which the benchmark does not start) on the enterprise plan, and an inference key.
 */
export async function seedTenant(origin: string, admin: pg.Pool, label: string): Promise<Tenant> {
  const account = {
    email: `bench-${label}-${randomUUID().slice(0, 8)}@example.test`,
    password: 'benchmark password 1',
  };
  const signedUp = await fetch(`${origin}/api/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(account),
  });
  if (signedUp.status !== 202)
    throw new Error(`sign-up answered ${signedUp.status}: ${await signedUp.text()}`);
  // The verification link's effect, written directly like the org below.
  await admin.query('UPDATE users SET email_verified_at = now() WHERE email = $1', [account.email]);
  const { user, accessToken } = await postJson<{ user: { id: string }; accessToken: string }>(
    `${origin}/api/auth/login`,
    account,
  );
  const orgId = randomUUID();
  await admin.query(
    `INSERT INTO organizations (id, name, slug, status, created_by) VALUES ($1, $2, $3, 'active', $4)`,
    [orgId, `Bench ${label}`, `bench-${orgId}`.slice(0, 40), user.id],
  );
  await admin.query(`INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, 'owner')`, [
    orgId,
    user.id,
  ]);
  await admin.query(`UPDATE organizations SET plan = 'enterprise' WHERE id = $1`, [orgId]);
  const created = await postJson<{ id: string; key: string }>(
    `${origin}/api/orgs/${orgId}/api-keys`,
    { name: `bench-${label}`, scopes: ['inference', 'models:read'] },
    accessToken,
  );
  return { orgId, keyId: created.id, key: created.key };
}

/** Registers a model whose one deployment is the server at `serverUrl` (no /v1), serving `upstreamModel`. */
export async function addModel(
  admin: pg.Pool,
  name: string,
  serverUrl: string,
  upstreamModel: string,
): Promise<void> {
  const {
    rows: [model],
  } = await admin.query<{ id: string }>(
    `INSERT INTO models (name, context_length, input_price_per_million, output_price_per_million, status)
     VALUES ($1, 8192, 0.5, 1.5, 'active') RETURNING id`,
    [name],
  );
  await admin.query(
    `INSERT INTO model_deployments (model_id, version, upstream_model, urls, weight, state)
     VALUES ($1, 'v1', $2, $3, 100, 'active')`,
    [model!.id, upstreamModel, [serverUrl]],
  );
}

/** Waits until the API's registry serves every model to this key (replicas poll the registry). */
export async function untilModelsListed(origin: string, key: string, names: string[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const res = await fetch(`${origin}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    if (res.ok) {
      const listed = ((await res.json()) as { data: { id: string }[] }).data.map((m) => m.id);
      if (names.every((n) => listed.includes(n))) return;
    } else await res.arrayBuffer();
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${origin}/v1/models never listed ${names.join(', ')}`);
}

/** Usage rows the ledger holds for one key. */
export async function usageRows(admin: pg.Pool, keyId: string): Promise<number> {
  const { rows } = await admin.query<{ n: string }>(
    `SELECT count(*) AS n FROM usage_events WHERE key_id = $1`,
    [keyId],
  );
  return Number(rows[0]?.n ?? 0);
}

/** Waits until the ledger holds `expected` rows for the key, or stops changing for 5 s. */
export async function drainedUsageRows(admin: pg.Pool, keyId: string, expected: number): Promise<number> {
  let last = -1;
  let stableSince = Date.now();
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const now = await usageRows(admin, keyId);
    if (now === expected) return now;
    if (now !== last) {
      last = now;
      stableSince = Date.now();
    } else if (Date.now() - stableSince > 5_000) return now;
    await new Promise((r) => setTimeout(r, 250));
  }
  return last;
}

/** Calls per Redis command since the server started (INFO commandstats), e.g. { evalsha: 1234 }. */
export async function redisCalls(redisUrl: string): Promise<Map<string, number>> {
  const redis = new Redis(redisUrl);
  try {
    const info = await redis.info('commandstats');
    return new Map(
      [...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])] as const),
    );
  } finally {
    redis.disconnect();
  }
}

/** Redis commands per request between two INFO snapshots, the frequent ones, e.g. "evalsha 1.00, xadd 1.00". */
export function callsPerRequest(
  before: Map<string, number>,
  after: Map<string, number>,
  requests: number,
): string {
  return [...after]
    .map(
      ([command, calls]) => [command, (calls - (before.get(command) ?? 0)) / Math.max(1, requests)] as const,
    )
    .filter(([command, perRequest]) => perRequest >= 0.05 && command !== 'info')
    .sort((a, b) => b[1] - a[1])
    .map(([command, perRequest]) => `${command} ${perRequest.toFixed(2)}`)
    .join(', ');
}
