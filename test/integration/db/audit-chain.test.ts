// The audit log's hash chain as the database keeps it: linked by the insert trigger under
// concurrency, byte-identical to core/audit-chain.ts, and append-only for every role.
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { canonicalRow, GENESIS_HASH, linkHash } from '../../../core/audit-chain.js';
import { createDb, createPool, type Db } from '../../../db/client.js';
import { withTenant } from '../../../db/tenant.js';
import { adminChain, adminVerify } from './audit-chain-support.js';
import { dbError } from '../../support/db-errors.js';

let pool: pg.Pool;
let db: Db;
let admin: pg.Pool;

async function seedOrg(): Promise<string> {
  const org = randomUUID();
  const user = randomUUID();
  await admin.query(
    `INSERT INTO users (id, email, password_hash, display_name) VALUES ($1, $2, 'x', 'User')`,
    [user, `${user}@example.test`],
  );
  await admin.query(`INSERT INTO organizations (id, name, slug, created_by) VALUES ($1, 'Org', $2, $3)`, [
    org,
    `org-${org}`,
    user,
  ]);
  return org;
}

function append(org: string, action: string, details: Record<string, unknown> = {}) {
  return withTenant(db, org, (tx) =>
    tx.execute(sql`INSERT INTO audit_log (org_id, action, target_type, details, ip)
      VALUES (${org}, ${action}, 'test', ${JSON.stringify(details)}::jsonb, '198.51.100.7')`),
  );
}

beforeAll(() => {
  pool = createPool({ url: inject('databaseUrl'), size: 8, applicationName: 'audit-chain-test' });
  db = createDb(pool);
  admin = new pg.Pool({ connectionString: inject('adminDatabaseUrl'), max: 2 });
});
afterAll(async () => {
  await pool.end();
  await admin.end();
});

describe('audit hash chain', () => {
  it('links rows exactly as core/audit-chain.ts computes them, tricky details included', async () => {
    const org = await seedOrg();
    await append(org, 'first');
    await append(org, 'second', {
      zeta: 1,
      Alpha: [1.5, -0.0000001, 1e21, 100, true, null, { b: 'é\n"\\\u0001', a: [] }],
      émoji: '🦋',
      '': {},
      nested: { z: { y: 'x' }, a: 2 },
    });
    const rows = await adminChain(admin, org);
    expect(rows.map((r) => r.action)).toEqual(['first', 'second']);
    expect(Buffer.from(rows[0]!.prevHash).equals(GENESIS_HASH)).toBe(true);
    expect(Buffer.from(rows[1]!.prevHash).equals(rows[0]!.hash)).toBe(true);
    for (const row of rows) {
      const [sqlCanonical] = (
        await admin.query<{ c: string }>(
          `SELECT audit_canonical_row(id, org_id, actor_id, action, target_type, target_id, ip, details, created_at) AS c
           FROM audit_log WHERE id = $1`,
          [row.id],
        )
      ).rows;
      expect(sqlCanonical!.c).toBe(canonicalRow(row));
      expect(linkHash(row.prevHash, row).equals(row.hash)).toBe(true);
    }
    expect(await adminVerify(admin, org)).toEqual({ ok: true, checked: 2 });
  });

  it('stays one unbroken chain per org under many concurrent writers, across orgs', async () => {
    const orgs = [await seedOrg(), await seedOrg(), await seedOrg()];
    await Promise.all(
      orgs.flatMap((org) => Array.from({ length: 20 }, (_, i) => append(org, `parallel.${i}`, { i }))),
    );
    for (const org of orgs) {
      expect(await adminVerify(admin, org)).toEqual({ ok: true, checked: 20 });
    }
  });

  it('links platform rows (no org) into their own chain, whatever the writer’s scope', async () => {
    const org = await seedOrg();
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        withTenant(db, org, (tx) =>
          tx.execute(
            sql`INSERT INTO audit_log (action, target_type, details) VALUES ('platform.test', 'user', ${JSON.stringify({ i })}::jsonb)`,
          ),
        ),
      ),
    );
    // Other test files write platform rows at the same time; the whole chain must hold.
    const report = await adminVerify(admin, null);
    expect(report.ok).toBe(true);
    expect(report.checked).toBeGreaterThanOrEqual(10);
  });

  it('records an idempotent entry once and keeps the chain intact when the retry is skipped', async () => {
    const org = await seedOrg();
    const key = `wf-${org}/step`;
    for (let i = 0; i < 2; i++) {
      await withTenant(db, org, (tx) =>
        tx.execute(sql`INSERT INTO audit_log (org_id, action, target_type, idempotency_key)
          VALUES (${org}, 'once', 'org', ${key}) ON CONFLICT (idempotency_key) DO NOTHING`),
      );
    }
    await append(org, 'after');
    expect((await adminChain(admin, org)).map((r) => r.action)).toEqual(['once', 'after']);
    expect(await adminVerify(admin, org)).toEqual({ ok: true, checked: 2 });
  });

  it('ignores hashes a writer tries to set', async () => {
    const org = await seedOrg();
    await withTenant(db, org, (tx) =>
      tx.execute(sql`INSERT INTO audit_log (org_id, action, target_type, prev_hash, hash)
        VALUES (${org}, 'forged', 'org', '\\x00'::bytea, '\\x00'::bytea)`),
    );
    expect(await adminVerify(admin, org)).toEqual({ ok: true, checked: 1 });
  });
});

describe('append-only', () => {
  it('the app role may not UPDATE, DELETE or TRUNCATE (permission denied)', async () => {
    const org = await seedOrg();
    await append(org, 'kept');
    for (const statement of [
      sql`UPDATE audit_log SET action = 'rewritten'`,
      sql`DELETE FROM audit_log`,
      sql`TRUNCATE audit_log`,
      sql`UPDATE audit_chain_heads SET last_id = 0`,
      sql`DELETE FROM audit_chain_heads`,
    ]) {
      expect(await dbError(withTenant(db, org, (tx) => tx.execute(statement)))).toMatch(/permission denied/);
    }
    expect(await adminVerify(admin, org)).toEqual({ ok: true, checked: 1 });
  });

  it('even the owner (a superuser) is stopped by the trigger', async () => {
    const org = await seedOrg();
    await append(org, 'kept');
    for (const statement of [
      `UPDATE audit_log SET details = '{"x":1}' WHERE org_id = '${org}'`,
      `DELETE FROM audit_log WHERE org_id = '${org}'`,
      'TRUNCATE audit_log',
    ]) {
      await expect(admin.query(statement)).rejects.toThrow(
        /audit_log is append-only: (UPDATE|DELETE|TRUNCATE) refused/,
      );
    }
    expect(await adminVerify(admin, org)).toEqual({ ok: true, checked: 1 });
  });

  it('the chain function is the only SECURITY DEFINER function of the audit log', async () => {
    const { rows } = await admin.query<{ proname: string }>(
      `SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = 'public' AND p.prosecdef AND p.proname LIKE 'audit%'`,
    );
    expect(rows.map((r) => r.proname)).toEqual(['audit_log_chain']);
  });
});
