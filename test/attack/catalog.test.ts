// Catalog rules an attacker who gets SQL running as the app would test first: views that run with
// their owner's rights (and so skip row-level security), SECURITY DEFINER functions, and grants that
// would let the app rewrite or empty the audit log. Each rule is also shown to catch a violation,
// created by the admin in a transaction that is rolled back, so a rule that matches nothing today
// still proves it would match something tomorrow.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dbError } from '../support/db-errors.js';

/** SECURITY DEFINER functions that exist on purpose (see the comment above each in db/migrations). */
const definerAllowList = [
  'public.audit_log_chain',
  'public.deployment_health',
  'public.erase_organization_rows',
  'public.erase_person_rows',
  'public.gpu_allocations_follow',
  'public.usage_events_add_partition',
  'public.usage_ingest',
];
/**
 * The ones the app calls itself: the trusted usage ingest path (0014_usage_ingest.sql), which inserts
 * events across orgs and answers a count, never a row (test/integration/metering/usage-ingest-path.test.ts);
 * the rollout's gates (0015_model_versions.sql), which answer one row of aggregates over the given
 * deployments' events, never an event; and the GDPR erasure's two (0019_gdpr_erasure.sql), which
 * act only on the transaction's org and reach nothing the app's own DELETE on `organizations`
 * (cascading) does not, while keeping what tax law keeps and never touching the audit log.
 */
const callableByApp = [
  'public.deployment_health',
  'public.erase_organization_rows',
  'public.erase_person_rows',
  'public.usage_ingest',
];

let admin: pg.Pool;
let app: pg.Client;

beforeAll(async () => {
  admin = new pg.Pool({ connectionString: inject('adminDatabaseUrl'), max: 2 });
  app = new pg.Client(inject('databaseUrl'));
  await app.connect();
});
afterAll(async () => {
  await app?.end();
  await admin?.end();
});

type Queryable = Pick<pg.ClientBase, 'query'>;

/** Views in public that do not run with the caller's rights, and materialized views (no RLS at all). */
async function viewsBypassingRls(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(`
    SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public'
      AND (c.relkind = 'm'
           OR (c.relkind = 'v' AND NOT EXISTS (
                 SELECT 1 FROM unnest(coalesce(c.reloptions, '{}')) AS o
                 WHERE o ~* '^security_invoker=(true|on|yes|1)$')))
    ORDER BY 1`);
  return rows.map((r) => r.name);
}

/** Every SECURITY DEFINER function outside the system schemas, as schema.name. */
async function definerFunctions(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(`
    SELECT n.nspname || '.' || p.proname AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
    ORDER BY 1`);
  return rows.map((r) => r.name);
}

/** Runs `probe` after `setup` inside an admin transaction that is always rolled back. */
async function inRolledBackTransaction<T>(setup: string[], probe: (db: Queryable) => Promise<T>): Promise<T> {
  const client = await admin.connect();
  try {
    await client.query('BEGIN');
    for (const statement of setup) await client.query(statement);
    return await probe(client);
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}

describe('views', () => {
  it('every view in public runs as the caller (security_invoker) and there is no materialized view', async () => {
    const { rows } = await admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm')`,
    );
    console.info(`catalog: ${rows[0]?.n ?? 0} views in public`);
    expect(await viewsBypassingRls(admin)).toEqual([]);
  });

  it('the rule catches an owner-rights view and a materialized view, and passes a security_invoker one', async () => {
    const found = await inRolledBackTransaction(
      [
        'CREATE VIEW public.attack_probe_owner_rights AS SELECT id FROM organizations',
        'CREATE VIEW public.attack_probe_invoker WITH (security_invoker = on) AS SELECT id FROM organizations',
        'CREATE VIEW public.attack_probe_invoker_true WITH (security_invoker = true) AS SELECT id FROM organizations',
        'CREATE MATERIALIZED VIEW public.attack_probe_snapshot AS SELECT id FROM organizations WITH NO DATA',
      ],
      viewsBypassingRls,
    );
    expect(found).toEqual(['attack_probe_owner_rights', 'attack_probe_snapshot']);
    expect(await viewsBypassingRls(admin)).toEqual([]);
  });
});

describe('SECURITY DEFINER functions', () => {
  it(`exist only on the allow-list (${definerAllowList.join(', ')})`, async () => {
    expect(await definerFunctions(admin)).toEqual(definerAllowList);
  });

  it('each allowed one pins its search_path; PUBLIC may call none, the app only the ingest path, the rollout gates and the erasure', async () => {
    const { rows } = await admin.query<{
      name: string;
      config: string[] | null;
      public: boolean;
      app: boolean;
    }>(
      `SELECT n.nspname || '.' || p.proname AS name, p.proconfig AS config,
              has_function_privilege('public', p.oid, 'EXECUTE') AS public,
              has_function_privilege('vlinders_app', p.oid, 'EXECUTE') AS app
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.prosecdef`,
    );
    for (const row of rows.filter((r) => definerAllowList.includes(r.name))) {
      expect(row.config?.some((c) => c.startsWith('search_path='))).toBe(true);
      expect({ name: row.name, public: row.public, app: row.app }).toEqual({
        name: row.name,
        public: false,
        app: callableByApp.includes(row.name),
      });
    }
  });

  it('the rule catches a new SECURITY DEFINER function', async () => {
    const found = await inRolledBackTransaction(
      ["CREATE FUNCTION public.attack_probe() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1'"],
      definerFunctions,
    );
    expect(found).toEqual([...definerAllowList, 'public.attack_probe'].sort());
    expect(await definerFunctions(admin)).toEqual(definerAllowList);
  });
});

describe('the app role', () => {
  it('may append to the audit log but has no UPDATE, DELETE or TRUNCATE grant on it or its chain heads', async () => {
    const { rows } = await app.query<{ grants: Record<string, boolean> }>(`
      SELECT jsonb_object_agg(t || ':' || p, has_table_privilege(current_user, t, p)) AS grants
      FROM unnest(ARRAY['audit_log', 'audit_chain_heads']) AS t,
           unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p`);
    expect(rows[0]?.grants).toEqual({
      'audit_log:SELECT': true,
      'audit_log:INSERT': true,
      'audit_log:UPDATE': false,
      'audit_log:DELETE': false,
      'audit_log:TRUNCATE': false,
      'audit_log:REFERENCES': false,
      'audit_log:TRIGGER': false,
      'audit_chain_heads:SELECT': true,
      'audit_chain_heads:INSERT': false,
      'audit_chain_heads:UPDATE': false,
      'audit_chain_heads:DELETE': false,
      'audit_chain_heads:TRUNCATE': false,
      'audit_chain_heads:REFERENCES': false,
      'audit_chain_heads:TRIGGER': false,
    });
    const columns = await app.query<{ update: boolean }>(
      `SELECT has_any_column_privilege(current_user, 'audit_log', 'UPDATE') AS update`,
    );
    expect(columns.rows[0]?.update).toBe(false);
  });

  it('cannot switch the append-only guard off, nor create objects of its own in public', async () => {
    for (const statement of [
      'ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only',
      'DROP TRIGGER audit_log_chain ON audit_log',
      "CREATE FUNCTION public.attack_probe() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1'",
      'CREATE VIEW public.attack_probe AS SELECT 1',
    ]) {
      expect(await dbError(app.query(statement)), statement).toMatch(/must be owner|permission denied/);
    }
  });

  it('inherits no superuser, BYPASSRLS or ownership through any role it is a member of', async () => {
    const { rows } = await app.query<{
      rolname: string;
      rolsuper: boolean;
      rolbypassrls: boolean;
      owns: number;
    }>(`
      SELECT r.rolname, r.rolsuper, r.rolbypassrls,
             (SELECT count(*)::int FROM pg_class c WHERE c.relowner = r.oid
                AND c.relnamespace = 'public'::regnamespace)
           + (SELECT count(*)::int FROM pg_proc p WHERE p.proowner = r.oid
                AND p.pronamespace = 'public'::regnamespace) AS owns
      FROM pg_roles r WHERE pg_has_role(current_user, r.oid, 'MEMBER') ORDER BY 1`);
    expect(rows.map((r) => r.rolname)).toContain('vlinders_app');
    for (const row of rows)
      expect(row).toEqual({ rolname: row.rolname, rolsuper: false, rolbypassrls: false, owns: 0 });
  });
});
