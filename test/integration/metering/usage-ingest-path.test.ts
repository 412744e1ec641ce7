// The trusted ingest path (usage_ingest(), db/migrations/0014_usage_ingest.sql) on real PostgreSQL,
// called by the app login: one statement stores a batch of many orgs, each event once, with rollups
// equal to the ledger; tenants' own queries still see and change only their org's usage; and the
// role behind the path can be neither assumed nor used to read.
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { UsageEvent } from '../../../core/usage-event.js';
import { createDb, createPool, type Db } from '../../../db/client.js';
import { withTenant } from '../../../db/tenant.js';
import { UsageLedger } from '../../../db/usage-ledger.js';
import { dbError } from '../../support/db-errors.js';
import { ledgerCount, rollupDifferences, rollupTotals, usageEvent } from './support.js';

let pool: pg.Pool;
let db: Db;
let admin: pg.Pool;

beforeAll(() => {
  pool = createPool({ url: inject('databaseUrl'), size: 2, applicationName: 'ingest-path-test' });
  db = createDb(pool);
  admin = new pg.Pool({ connectionString: inject('adminDatabaseUrl'), max: 1 });
});
afterAll(async () => {
  await Promise.all([pool.end(), admin.end()]);
});

const hoursAgo = (n: number) => new Date(Date.now() - n * 3_600_000).toISOString();

/** Two events per org over two hours and two models, some errors and cancellations. */
function eventsOf(orgIds: string[]): UsageEvent[] {
  return orgIds.flatMap((orgId, i) =>
    [0, 1].map((j) =>
      usageEvent({
        orgId,
        teamId: j === 0 ? null : orgId,
        occurredAt: hoursAgo(j),
        model: j === 0 ? 'llama-3-8b' : 'mistral-7b',
        promptTokens: i + j,
        completionTokens: 2 * i,
        cachedTokens: i % 3,
        status: i % 10 === 0 ? 500 : 200,
        cancelled: i % 7 === 0,
        estimated: i % 5 === 0,
      }),
    ),
  );
}

/** The function's arguments, an array per column in its order, for calling it by hand. */
function columns(events: UsageEvent[]): unknown[] {
  const pick = <K extends keyof UsageEvent>(k: K) => events.map((e) => e[k]);
  return [
    pick('id'),
    pick('occurredAt'),
    pick('orgId'),
    pick('teamId'),
    pick('keyId'),
    pick('model'),
    pick('deploymentId'),
    pick('promptTokens'),
    pick('completionTokens'),
    pick('cachedTokens'),
    pick('estimated'),
    pick('timeToFirstTokenMs'),
    pick('durationMs'),
    pick('status'),
    pick('streamed'),
    pick('cancelled'),
    pick('requestId'),
  ];
}
const ingestCall = `SELECT usage_ingest($1::uuid[], $2::timestamptz[], $3::uuid[], $4::uuid[], $5::uuid[],
  $6::text[], $7::text[], $8::integer[], $9::integer[], $10::integer[], $11::boolean[], $12::integer[],
  $13::integer[], $14::integer[], $15::boolean[], $16::boolean[], $17::text[]) AS inserted`;

describe('the trusted usage ingest path', () => {
  it('stores a batch of 1,000 orgs in one statement of the app login, rollups equal to the ledger', async () => {
    const orgIds = Array.from({ length: 1000 }, () => randomUUID());
    const events = eventsOf(orgIds);
    // The partitions of the batch's months exist already (this month and the next, or created by
    // earlier appends); the one statement is the app login's only query here.
    await new UsageLedger(db).append([events[0]!]);
    const { rows } = await pool.query<{ inserted: number }>(ingestCall, columns(events));

    expect(rows).toEqual([{ inserted: events.length - 1 }]);
    expect(await ledgerCount(admin, orgIds)).toEqual({ rows: 2000, ids: 2000 });
    expect(await rollupDifferences(admin, orgIds)).toBe(0);
    expect(await rollupTotals(admin, orgIds)).toEqual({
      requests: 2000,
      promptTokens: events.reduce((n, e) => n + e.promptTokens, 0),
      completionTokens: events.reduce((n, e) => n + e.completionTokens, 0),
    });
  });

  it('counts an event once however often it arrives, in one batch or across batches', async () => {
    const orgIds = Array.from({ length: 30 }, () => randomUUID());
    const events = eventsOf(orgIds);
    const ledger = new UsageLedger(db);
    expect(await ledger.append(events.slice(0, 40))).toBe(40);
    // Redelivered, with a duplicate inside the batch and new events among them.
    const again = [...events.slice(20, 40), events[45]!, ...events.slice(40), events[45]!];
    expect(await ledger.append(again)).toBe(events.length - 40);
    expect(await ledger.append(events)).toBe(0);

    expect(await ledgerCount(admin, orgIds)).toEqual({ rows: events.length, ids: events.length });
    expect(await rollupDifferences(admin, orgIds)).toBe(0);
    expect((await rollupTotals(admin, orgIds)).requests).toBe(events.length);
  });

  it("leaves a tenant's scope unable to read or change another org's usage", async () => {
    const [mine, theirs] = [randomUUID(), randomUUID()];
    await new UsageLedger(db).append(eventsOf([mine, theirs]));

    const seen = await withTenant(db, mine, async (tx) => ({
      events: (await tx.execute(sql`SELECT DISTINCT org_id FROM usage_events`)).rows,
      hourly: (await tx.execute(sql`SELECT DISTINCT org_id FROM usage_hourly`)).rows,
      updated: (
        await tx.execute(sql`UPDATE usage_hourly SET requests = requests + 100 WHERE org_id = ${theirs}`)
      ).rowCount,
    }));
    expect(seen).toEqual({ events: [{ org_id: mine }], hourly: [{ org_id: mine }], updated: 0 });
    expect(
      await dbError(
        withTenant(db, mine, (tx) =>
          tx.execute(sql`INSERT INTO usage_hourly (org_id, hour, key_id, model, requests, errors,
            cancelled, prompt_tokens, completion_tokens, cached_tokens, estimated)
            VALUES (${theirs}, date_trunc('hour', now()), ${randomUUID()}, 'm', 1, 0, 0, 1, 1, 0, 0)`),
        ),
      ),
    ).toMatch(/row-level security/);
    expect((await rollupTotals(admin, [theirs])).requests).toBe(2);
  });

  it('cannot be used to read: the role behind it is refused to the app login, the function returns a count', async () => {
    expect(await dbError(pool.query('SET ROLE vlinders_ingest'))).toMatch(/permission denied/);
    const { rows: role } = await admin.query(
      `SELECT rolcanlogin AS login, rolbypassrls AS bypass, rolsuper AS super,
         (SELECT count(*)::int FROM pg_auth_members WHERE roleid = r.oid) AS members,
         (SELECT count(*)::int FROM pg_class WHERE relowner = r.oid) AS tables,
         (SELECT array_agg(proname::text ORDER BY proname) FROM pg_proc WHERE proowner = r.oid) AS functions
       FROM pg_roles r WHERE rolname = 'vlinders_ingest'`,
    );
    expect(role).toEqual([
      // usage_ingest() writes the ledger; deployment_health() (0015) reads aggregates for rollouts.
      {
        login: false,
        bypass: false,
        super: false,
        members: 0,
        tables: 0,
        functions: ['deployment_health', 'usage_ingest'],
      },
    ]);
    const { rows: fn } = await admin.query(
      `SELECT proname AS name, prosecdef AS definer, prorettype::regtype::text AS returns, proconfig AS config,
         has_function_privilege('public', oid, 'EXECUTE') AS public_may_call
       FROM pg_proc WHERE proname IN ('usage_ingest', 'deployment_health') ORDER BY proname`,
    );
    expect(fn).toEqual([
      {
        name: 'deployment_health',
        definer: true,
        returns: 'record',
        config: ['search_path=pg_catalog, pg_temp'],
        public_may_call: false,
      },
      {
        name: 'usage_ingest',
        definer: true,
        returns: 'integer',
        config: ['search_path=pg_catalog, pg_temp'],
        public_may_call: false,
      },
    ]);
  });

  it('keeps row-level security enabled and forced on the usage tables and every ledger partition, reached only through the parent', async () => {
    const { rows } = await admin.query<{ name: string; enabled: boolean; forced: boolean }>(
      `SELECT c.relname AS name, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced
       FROM pg_class c
       WHERE c.relname IN ('usage_events', 'usage_hourly')
          OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'usage_events'::regclass)`,
    );
    expect(rows.length).toBeGreaterThanOrEqual(4);
    expect(rows.filter((r) => !r.enabled || !r.forced)).toEqual([]);
    // A partition is reached only through usage_events and its policies.
    const partition = rows.find((r) => r.name.startsWith('usage_events_'))!.name;
    expect(await dbError(pool.query(`SELECT count(*) FROM ${partition}`))).toMatch(/permission denied/);
  });
});
