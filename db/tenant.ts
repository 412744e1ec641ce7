// Every tenant query runs inside one of these transactions. The scope is bound as a parameter
// with set_config(…, true), so it ends with the transaction and never leaks through the pool.
import { sql } from 'drizzle-orm';
import type { Db, Tx } from './client.js';

/** Runs fn in a transaction scoped to one organization: RLS shows and accepts only its rows. */
export function withTenant<T>(db: Db, orgId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`SELECT set_config('app.org_id', ${orgId}, true)`);
    return fn(tx);
  });
}

/** Runs fn in a transaction scoped to one user: their memberships and orgs across tenants, read-only by policy. */
export function withUser<T>(db: Db, userId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`SELECT set_config('app.user_id', ${userId}, true)`);
    return fn(tx);
  });
}

/**
 * Runs fn in a transaction of the billing run (and the operators' reconciliation and cost analysis):
 * it may read every tenant's organization, billing accounts, rollups and billing reports, never write
 * them (read-only policies).
 */
export function withBillingRun<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`SELECT set_config('app.billing_run', 'on', true)`);
    return fn(tx);
  });
}
