// An attacker holding tenant A's context tries every way to reach tenant B's rows.
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb, createPool, type Db, type Tx } from '../../../db/client.js';
import { withTenant } from '../../../db/tenant.js';
import { dbError } from '../../support/db-errors.js';

const tenantTables = [
  'organizations',
  'memberships',
  'teams',
  'team_members',
  'invitations',
  'tenant_data_keys',
  'outbox',
  'audit_log',
] as const;
/** The column that names the tenant, per table. */
const tenantColumn = (table: string) => (table === 'organizations' ? 'id' : 'org_id');

let pool: pg.Pool;
let db: Db;
const a = { org: randomUUID(), user: randomUUID(), team: randomUUID() };
const b = { org: randomUUID(), user: randomUUID(), team: randomUUID() };

async function rows(tx: Tx, query: ReturnType<typeof sql>): Promise<Record<string, unknown>[]> {
  return (await tx.execute(query)).rows;
}

async function seedTenant(t: typeof a) {
  await db.execute(sql`INSERT INTO users (id, email, password_hash, display_name)
    VALUES (${t.user}, ${`${t.user}@example.test`}, 'x', 'User')`);
  await withTenant(db, t.org, async (tx) => {
    await tx.execute(
      sql`INSERT INTO organizations (id, name, slug, created_by) VALUES (${t.org}, 'Org', ${`org-${t.org}`}, ${t.user})`,
    );
    await tx.execute(
      sql`INSERT INTO memberships (org_id, user_id, role) VALUES (${t.org}, ${t.user}, 'owner')`,
    );
    await tx.execute(sql`INSERT INTO teams (id, org_id, name) VALUES (${t.team}, ${t.org}, 'core')`);
    await tx.execute(
      sql`INSERT INTO team_members (org_id, team_id, user_id) VALUES (${t.org}, ${t.team}, ${t.user})`,
    );
    await tx.execute(sql`INSERT INTO invitations (org_id, email, role, token_hash, invited_by, expires_at)
      VALUES (${t.org}, 'guest@example.test', 'member', ${`hash-${t.org}`}, ${t.user}, now() + interval '1 day')`);
    await tx.execute(sql`INSERT INTO tenant_data_keys (org_id, wrapped_key) VALUES (${t.org}, 'wrapped')`);
    await tx.execute(
      sql`INSERT INTO outbox (org_id, kind, payload, idempotency_key) VALUES (${t.org}, 'mail', '{}', ${`mail-${t.org}`})`,
    );
    await tx.execute(
      sql`INSERT INTO audit_log (org_id, actor_id, action, target_type) VALUES (${t.org}, ${t.user}, 'test.seed', 'org')`,
    );
  });
}

/** Counts every tenant table's rows as the superuser, to prove an attack changed nothing. */
async function adminCounts(org: string): Promise<Record<string, number>> {
  const admin = new pg.Client(inject('adminDatabaseUrl'));
  await admin.connect();
  const counts: Record<string, number> = {};
  for (const table of tenantTables) {
    const r = await admin.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${table} WHERE ${tenantColumn(table)} = $1`,
      [org],
    );
    counts[table] = Number(r.rows[0]!.n);
  }
  await admin.end();
  return counts;
}

beforeAll(async () => {
  pool = createPool({ url: inject('databaseUrl'), size: 1, applicationName: 'isolation-test' });
  db = createDb(pool);
  await seedTenant(a);
  await seedTenant(b);
});
afterAll(async () => {
  await pool.end();
});

describe('tenant A attacking tenant B', () => {
  it.each(tenantTables)('%s: B rows are invisible by id and by an unfiltered list', async (table) => {
    const col = sql.identifier(tenantColumn(table));
    await withTenant(db, a.org, async (tx) => {
      expect(await rows(tx, sql`SELECT * FROM ${sql.identifier(table)} WHERE ${col} = ${b.org}`)).toEqual([]);
      const all = await rows(tx, sql`SELECT ${col} AS org FROM ${sql.identifier(table)}`);
      expect(all.length).toBeGreaterThan(0);
      expect(all.every((r) => r.org === a.org)).toBe(true);
    });
  });

  it('updates and deletes aimed at B, by id or with a forgotten where, touch nothing of B', async () => {
    const before = await adminCounts(b.org);
    await withTenant(db, a.org, async (tx) => {
      const byId = await tx.execute(sql`UPDATE teams SET name = 'pwned' WHERE id = ${b.team}`);
      expect(byId.rowCount).toBe(0);
      const forgotten = await tx.execute(sql`UPDATE teams SET description = 'seen by A'`);
      expect(forgotten.rowCount).toBe(1);
      expect((await tx.execute(sql`DELETE FROM memberships WHERE org_id = ${b.org}`)).rowCount).toBe(0);
      expect((await tx.execute(sql`DELETE FROM organizations WHERE id = ${b.org}`)).rowCount).toBe(0);
      expect((await tx.execute(sql`DELETE FROM outbox WHERE org_id <> ${a.org}`)).rowCount).toBe(0);
      expect(
        (await tx.execute(sql`UPDATE tenant_data_keys SET wrapped_key = 'x' WHERE org_id = ${b.org}`))
          .rowCount,
      ).toBe(0);
    });
    expect(await adminCounts(b.org)).toEqual(before);
    const admin = new pg.Client(inject('adminDatabaseUrl'));
    await admin.connect();
    const team = await admin.query('SELECT name, description FROM teams WHERE id = $1', [b.team]);
    await admin.end();
    expect(team.rows[0]).toEqual({ name: 'core', description: '' });
  });

  it.each([
    [
      'memberships',
      sql`INSERT INTO memberships (org_id, user_id, role) VALUES (${b.org}, ${a.user}, 'owner')`,
    ],
    ['teams', sql`INSERT INTO teams (org_id, name) VALUES (${b.org}, 'implant')`],
    [
      'invitations',
      sql`INSERT INTO invitations (org_id, email, role, token_hash, invited_by, expires_at)
      VALUES (${b.org}, 'evil@example.test', 'owner', 'evil', ${a.user}, now() + interval '1 day')`,
    ],
    [
      'outbox',
      sql`INSERT INTO outbox (org_id, kind, payload, idempotency_key) VALUES (${b.org}, 'mail', '{}', 'evil')`,
    ],
    [
      'audit_log',
      sql`INSERT INTO audit_log (org_id, action, target_type) VALUES (${b.org}, 'forged', 'org')`,
    ],
    [
      'organizations',
      sql`INSERT INTO organizations (id, name, slug, created_by) VALUES (${randomUUID()}, 'x', 'evil', ${a.user})`,
    ],
  ])("inserting a %s row with B's org id is refused", async (_table, insert) => {
    expect(await dbError(withTenant(db, a.org, (tx) => tx.execute(insert)))).toMatch(/row-level security/);
  });

  it('moving an own row into B is refused', async () => {
    const update = withTenant(db, a.org, (tx) =>
      tx.execute(sql`UPDATE teams SET org_id = ${b.org} WHERE id = ${a.team}`),
    );
    expect(await dbError(update)).toMatch(/row-level security/);
  });
});

describe('scope hygiene', () => {
  it('a pooled connection does not carry one tenant into the next transaction', async () => {
    // The pool has one connection, so the second transaction reuses the first one's session.
    await withTenant(db, a.org, async (tx) => {
      expect(await rows(tx, sql`SELECT id FROM organizations`)).toEqual([{ id: a.org }]);
    });
    const leaked = await db.transaction(async (tx) => ({
      setting: await rows(tx, sql`SELECT current_setting('app.org_id', true) AS v`),
      orgs: await rows(tx, sql`SELECT id FROM organizations`),
      teams: await rows(tx, sql`SELECT id FROM teams`),
    }));
    expect(leaked.setting[0]?.v ?? '').toBe('');
    expect(leaked.orgs).toEqual([]);
    expect(leaked.teams).toEqual([]);
  });

  it('without a tenant scope no tenant row is visible', async () => {
    for (const table of tenantTables) {
      const r = await db.execute(
        sql`SELECT count(*)::int AS n FROM ${sql.identifier(table)} WHERE ${sql.identifier(tenantColumn(table))} IS NOT NULL`,
      );
      expect(r.rows[0]).toEqual({ n: 0 });
    }
  });

  it('account mail (outbox rows of no org) is seen outside a tenant scope only, and no tenant writes one', async () => {
    const key = `account-mail/${randomUUID()}`;
    await db.execute(
      sql`INSERT INTO outbox (org_id, kind, payload, idempotency_key) VALUES (NULL, 'mail', '{}'::jsonb, ${key})`,
    );
    const count = (tx: Tx) =>
      rows(tx, sql`SELECT count(*)::int AS n FROM outbox WHERE idempotency_key = ${key}`);
    expect(await db.transaction(count)).toEqual([{ n: 1 }]);
    expect(await withTenant(db, a.org, count)).toEqual([{ n: 0 }]);
    const insert = sql`INSERT INTO outbox (org_id, kind, payload, idempotency_key) VALUES (NULL, 'mail', '{}'::jsonb, ${`${key}-2`})`;
    expect(await dbError(withTenant(db, a.org, (tx) => tx.execute(insert)))).toMatch(/row-level security/);
  });

  it('the audit log is append-only for the app role', async () => {
    expect(
      await dbError(
        withTenant(db, a.org, (tx) => tx.execute(sql`UPDATE audit_log SET action = 'rewritten'`)),
      ),
    ).toMatch(/permission denied/);
    expect(await dbError(withTenant(db, a.org, (tx) => tx.execute(sql`DELETE FROM audit_log`)))).toMatch(
      /permission denied/,
    );
  });
});

describe('catalog', () => {
  it('every table with an org_id column has RLS enabled and forced', async () => {
    const admin = new pg.Client(inject('adminDatabaseUrl'));
    await admin.connect();
    // Ordinary tables ('r', partitions included) and partitioned tables ('p'): a partitioned table
    // without RLS would expose every tenant's rows through its partitions.
    const { rows: tables } = await admin.query<{
      relname: string;
      relkind: string;
      relispartition: boolean;
      relrowsecurity: boolean;
      relforcerowsecurity: boolean;
      policies: number;
      appPrivileged: boolean;
    }>(`
      SELECT c.relname, c.relkind, c.relispartition, c.relrowsecurity, c.relforcerowsecurity,
        (SELECT count(*)::int FROM pg_policy p WHERE p.polrelid = c.oid) AS policies,
        has_table_privilege('vlinders_app', c.oid, 'SELECT, INSERT, UPDATE, DELETE') AS "appPrivileged"
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
        AND (EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped)
             OR c.relname = 'organizations')`);
    await admin.end();
    expect(tables.length).toBeGreaterThanOrEqual(tenantTables.length);
    // The check sees the partitioned ledger and its partitions (this month's and the next exist).
    expect(tables.find((t) => t.relname === 'usage_events')).toMatchObject({ relkind: 'p' });
    const partitions = tables.filter((t) => t.relispartition);
    expect(partitions.map((t) => t.relname)).toContain(
      `usage_events_${new Date().toISOString().slice(0, 7).replace('-', '_')}`,
    );
    for (const t of tables)
      expect({ table: t.relname, enabled: t.relrowsecurity, forced: t.relforcerowsecurity }).toEqual({
        table: t.relname,
        enabled: true,
        forced: true,
      });
    // A query through the parent applies the parent's policies, not the partition's; a partition is
    // reached directly only by its owner. So partitions carry no policy and grant the app nothing:
    // forced RLS without a policy denies every row should a grant ever appear.
    for (const t of partitions)
      expect({ partition: t.relname, policies: t.policies, appPrivileged: t.appPrivileged }).toEqual({
        partition: t.relname,
        policies: 0,
        appPrivileged: false,
      });
    const app = new pg.Client(inject('databaseUrl'));
    await app.connect();
    const direct = await dbError(app.query(`SELECT org_id FROM ${partitions[0]!.relname}`));
    await app.end();
    expect(direct).toMatch(/permission denied/);
  });

  it('the app login is not superuser, cannot bypass RLS and owns no table', async () => {
    const c = new pg.Client(inject('databaseUrl'));
    await c.connect();
    const role = await c.query('SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user');
    const owned = await c.query(
      `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user`,
    );
    await c.end();
    expect(role.rows[0]).toEqual({ rolsuper: false, rolbypassrls: false });
    expect(owned.rows[0]).toEqual({ n: 0 });
  });
});
