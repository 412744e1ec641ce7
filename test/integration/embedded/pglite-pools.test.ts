// `up` serves PGlite over the Postgres protocol to the API's and the workers' pools at once. This
// proves that works: concurrent pooled transactions from two pools, each keeping its own tenant
// scope, with row-level security applying under the app role; concurrent parameterised queries
// outside transactions; and a client that dies inside a transaction blocking nobody.
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, createPool, type Db } from '../../../db/client.js';
import { migrateDatabase } from '../../../db/migrate.js';
import { withTenant } from '../../../db/tenant.js';
import { startPgliteServer, type PgliteServer } from '../../../scripts/pglite-server.js';

let server: PgliteServer;
let apiPool: pg.Pool;
let workerPool: pg.Pool;
const orgA = randomUUID();
const orgB = randomUUID();
const teamOfB = randomUUID();

beforeAll(async () => {
  server = await startPgliteServer({ dataDir: 'memory://', host: '127.0.0.1', port: 0, maxConnections: 24 });
  await migrateDatabase(server.url);
  // Seeded as the superuser (PGlite's only login), which RLS does not restrict.
  const admin = new pg.Client(server.url);
  await admin.connect();
  const userId = randomUUID();
  await admin.query(
    `INSERT INTO users (id, email, password_hash, display_name) VALUES ($1, $2, 'x', 'Owner')`,
    [userId, `${userId}@example.com`],
  );
  for (const [org, slug] of [
    [orgA, 'org-a'],
    [orgB, 'org-b'],
  ] as const) {
    await admin.query('INSERT INTO organizations (id, name, slug, created_by) VALUES ($1, $2, $3, $4)', [
      org,
      slug,
      slug,
      userId,
    ]);
  }
  await admin.query('INSERT INTO teams (id, org_id, name) VALUES ($1, $2, $3)', [teamOfB, orgB, 'b-secret']);
  await admin.end();
  // The API's and the workers' pools, as in `up`: superuser logins that SET ROLE vlinders_app.
  apiPool = createPool({
    url: server.url,
    size: 10,
    appRole: 'vlinders_app',
    applicationName: 'vlinders-api',
  });
  workerPool = createPool({
    url: server.url,
    size: 10,
    appRole: 'vlinders_app',
    applicationName: 'vlinders-worker',
  });
}, 120_000);

afterAll(async () => {
  await Promise.all([apiPool?.end(), workerPool?.end()]);
  await server?.stop();
});

interface Seen {
  orgBefore: string;
  orgAfter: string;
  role: string;
  teamOrgs: string[];
  bTeamVisible: number;
}

async function tenantTransaction(db: Db, orgId: string, n: number): Promise<Seen> {
  return withTenant(db, orgId, async (tx) => {
    const first = await tx.execute<{ org: string; role: string }>(
      sql`SELECT current_setting('app.org_id', true) AS org, current_user AS role`,
    );
    await tx.execute(sql`INSERT INTO teams (org_id, name) VALUES (${orgId}, ${`team-${n}`})`);
    // Give the other transactions every chance to run in between.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const teams = await tx.execute<{ org_id: string }>(sql`SELECT org_id FROM teams`);
    const bTeam = await tx.execute(sql`SELECT id FROM teams WHERE id = ${teamOfB}`);
    const last = await tx.execute<{ org: string }>(sql`SELECT current_setting('app.org_id', true) AS org`);
    return {
      orgBefore: first.rows[0]!.org,
      orgAfter: last.rows[0]!.org,
      role: first.rows[0]!.role,
      teamOrgs: [...new Set(teams.rows.map((r) => r.org_id))],
      bTeamVisible: bTeam.rows.length,
    };
  });
}

describe('embedded PGlite over the Postgres wire protocol', () => {
  it('runs 20 concurrent pooled transactions from two pools, each in its own tenant scope under RLS', async () => {
    const apiDb = createDb(apiPool);
    const workerDb = createDb(workerPool);
    const runs = Array.from({ length: 20 }, (_, n) => {
      const org = n % 4 < 2 ? orgA : orgB;
      return { org, seen: tenantTransaction(n % 2 === 0 ? apiDb : workerDb, org, n) };
    });
    const results = await Promise.all(runs.map((r) => r.seen));

    results.forEach((seen, n) => {
      const org = runs[n]!.org;
      expect(seen.orgBefore).toBe(org);
      expect(seen.orgAfter).toBe(org);
      expect(seen.role).toBe('vlinders_app');
      expect(seen.teamOrgs).toEqual([org]);
      expect(seen.bTeamVisible).toBe(org === orgB ? 1 : 0);
    });
    // Both pools really held several connections at once.
    expect(apiPool.totalCount).toBeGreaterThan(1);
    expect(workerPool.totalCount).toBeGreaterThan(1);
  });

  it('refuses a row for another tenant, and the failed transaction blocks nobody', async () => {
    const db = createDb(apiPool);
    await expect(
      withTenant(db, orgA, (tx) =>
        tx.execute(sql`INSERT INTO teams (org_id, name) VALUES (${orgB}, 'smuggled')`),
      ),
    ).rejects.toThrow();
    const teams = await withTenant(createDb(workerPool), orgB, (tx) =>
      tx.execute<{ name: string }>(sql`SELECT name FROM teams`),
    );
    expect(teams.rows.map((r) => r.name)).not.toContain('smuggled');
  });

  it('leaves no tenant scope on a pooled connection after its transaction', async () => {
    const leftovers = await Promise.all(
      Array.from({ length: 10 }, async (_, n) => {
        const pool = n % 2 === 0 ? apiPool : workerPool;
        const { rows } = await pool.query<{ org: string | null; role: string }>(
          "SELECT current_setting('app.org_id', true) AS org, current_user AS role",
        );
        return rows[0]!;
      }),
    );
    for (const row of leftovers) {
      expect(row.org ?? '').toBe('');
      expect(row.role).toBe('vlinders_app');
    }
    // Without a scope, RLS shows no tenant rows at all.
    const { rows } = await apiPool.query('SELECT id FROM teams');
    expect(rows).toEqual([]);
  });

  it('answers concurrent parameterised queries outside transactions, each with its own result', async () => {
    const answers = await Promise.all(
      Array.from({ length: 40 }, async (_, n) => {
        const pool = n % 2 === 0 ? apiPool : workerPool;
        const { rows } = await pool.query<{ n: number; label: string }>(
          'SELECT $1::int AS n, $2::text AS label',
          [n, `q${n}`],
        );
        return rows[0]!;
      }),
    );
    answers.forEach((row, n) => expect(row).toEqual({ n, label: `q${n}` }));
  });

  it('rolls back and releases the database when a client disconnects inside a transaction', async () => {
    const quitter = new pg.Client(server.url);
    await quitter.connect();
    quitter.on('error', () => {});
    await quitter.query('BEGIN');
    await quitter.query("SELECT set_config('app.org_id', $1, true)", [orgA]);
    await quitter.query("INSERT INTO teams (org_id, name) VALUES ($1, 'abandoned')", [orgA]);
    // Gone without COMMIT or ROLLBACK, as when a process is killed.
    (quitter as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();

    const teams = await withTenant(createDb(apiPool), orgA, (tx) =>
      tx.execute<{ name: string }>(sql`SELECT name FROM teams`),
    );
    expect(teams.rows.map((r) => r.name)).not.toContain('abandoned');
  });

  it('refuses connections beyond its limit with a Postgres error', async () => {
    const small = await startPgliteServer({
      dataDir: 'memory://',
      host: '127.0.0.1',
      port: 0,
      maxConnections: 1,
    });
    const first = new pg.Client(small.url);
    const second = new pg.Client(small.url);
    try {
      await first.connect();
      await expect(second.connect()).rejects.toThrow(/too many clients/);
    } finally {
      await first.end();
      await small.stop();
    }
  }, 60_000);
});
