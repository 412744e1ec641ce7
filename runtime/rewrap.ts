// Re-wraps every wrapped value (runtime/wrapped-columns.ts) under the current master key, after a
// rotation: only each value's data key is re-encrypted, the secret's ciphertext stays. One row per
// transaction (locked, re-read, re-wrapped, written), so the app keeps running, a crash loses at
// most one row's work, and running it again simply continues: values already under the current
// key are left alone.
//
// It must see every tenant's rows, which row-level security exists to prevent for the app role
// (and FORCE applies to the table owner too), so it runs as vlinders_rewrap (db/migrations/0023_security_operations.sql):
// a role whose policies show it every tenant's wrapped columns and whose grants allow nothing else
// than reading them and updating the wrapped value.
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { rewrap, type MasterKey } from './envelope.js';
import { wrappedColumns, type WrappedColumn } from './wrapped-columns.js';

export interface ColumnCounts {
  table: string;
  column: string;
  /** Rows looked at. */
  scanned: number;
  /** Values re-wrapped under the current master key by this run. */
  rewrapped: number;
  /** Values already under the current master key. */
  current: number;
  /** Erased values (empty), nothing to re-wrap. */
  erased: number;
}

export interface RewrapOptions {
  columns?: readonly WrappedColumn[];
  /** Called after each row is committed; what it throws stops the run (the next run continues). */
  onRow?: (counts: ColumnCounts) => void;
}

/** The role the re-wrap runs as. */
export const rewrapRole = 'vlinders_rewrap';

export class RewrapRoleError extends Error {
  constructor(role: string) {
    super(
      `database role ${role} does not have the rights of ${rewrapRole} and cannot see every tenant's secrets: ` +
        `run the re-wrap with a login that is a member of ${rewrapRole} (GRANT ${rewrapRole} TO <login>; ` +
        'DATABASE_REWRAP_URL names it)',
    );
  }
}

const pageSize = 100;

async function assertRewrapRole(db: Db): Promise<void> {
  const { rows } = await db.execute<{ role: string; allowed: boolean }>(
    sql`SELECT current_user AS role, pg_has_role(current_user, ${rewrapRole}, 'USAGE') AS allowed`,
  );
  const row = rows[0];
  if (!row?.allowed) throw new RewrapRoleError(row?.role ?? 'current_user');
}

async function rewrapColumn(
  db: Db,
  master: MasterKey,
  target: WrappedColumn,
  onRow: RewrapOptions['onRow'],
): Promise<ColumnCounts> {
  const counts: ColumnCounts = {
    table: target.table,
    column: target.column,
    scanned: 0,
    rewrapped: 0,
    current: 0,
    erased: 0,
  };
  const table = sql.identifier(target.table);
  const key = sql.identifier(target.primaryKey);
  const column = sql.identifier(target.column);
  const context = sql.identifier(target.context);
  let after: string | null = null;
  for (;;) {
    const page: { rows: { id: string }[] } = await db.execute<{ id: string }>(
      sql`SELECT ${key}::text AS id FROM ${table}
          WHERE ${after}::text IS NULL OR ${key}::text > ${after}::text
          ORDER BY ${key}::text LIMIT ${pageSize}`,
    );
    for (const { id } of page.rows) {
      await db.transaction(async (tx) => {
        const { rows } = await tx.execute<{ value: string; context: string }>(
          sql`SELECT ${column} AS value, ${context}::text AS context FROM ${table}
              WHERE ${key}::text = ${id} FOR UPDATE`,
        );
        const row = rows[0];
        if (!row) return; // deleted meanwhile
        counts.scanned += 1;
        if (row.value === '') {
          counts.erased += 1;
          return;
        }
        const rewrapped = rewrap(master, row.value, (target.contextPrefix ?? '') + row.context);
        if (rewrapped === undefined) {
          counts.current += 1;
          return;
        }
        await tx.execute(sql`UPDATE ${table} SET ${column} = ${rewrapped} WHERE ${key}::text = ${id}`);
        counts.rewrapped += 1;
      });
      onRow?.(counts);
    }
    const last = page.rows.at(-1);
    if (!last || page.rows.length < pageSize) return counts;
    after = last.id;
  }
}

/** Re-wraps every wrapped column; answers what it did per column. */
export async function rewrapSecrets(
  db: Db,
  master: MasterKey,
  options: RewrapOptions = {},
): Promise<ColumnCounts[]> {
  await assertRewrapRole(db);
  const results: ColumnCounts[] = [];
  for (const target of options.columns ?? wrappedColumns)
    results.push(await rewrapColumn(db, master, target, options.onRow));
  return results;
}
