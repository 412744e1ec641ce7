// Shared by the metering tests: usage events, a superuser look at the ledger and the rollups, and
// the check that the rollups equal the ledger's sums.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';

/** A superuser pool, or a connection inside a tenant's scope (embedded PGlite has no other view). */
type Queryable = Pick<pg.PoolClient, 'query'>;
import type { UsageEvent } from '../../../core/usage-event.js';

export function usageEvent(overrides: Partial<UsageEvent> = {}): UsageEvent {
  return {
    id: randomUUID(),
    occurredAt: new Date().toISOString(),
    orgId: randomUUID(),
    teamId: null,
    keyId: randomUUID(),
    model: 'llama-3-8b',
    deploymentId: 'deployment-1',
    promptTokens: 12,
    completionTokens: 30,
    cachedTokens: 0,
    estimated: false,
    timeToFirstTokenMs: 40,
    durationMs: 310,
    status: 200,
    streamed: false,
    cancelled: false,
    requestId: randomUUID(),
    ...overrides,
  };
}

/** Rows in the ledger for these orgs, and how many distinct event ids. */
export async function ledgerCount(
  admin: Queryable,
  orgIds: string[],
): Promise<{ rows: number; ids: number }> {
  const { rows } = await admin.query<{ rows: number; ids: number }>(
    'SELECT count(*)::int AS rows, count(DISTINCT id)::int AS ids FROM usage_events WHERE org_id = ANY($1)',
    [orgIds],
  );
  return rows[0]!;
}

/** Buckets where the rollups and the ledger's own sums disagree (0 when metering is exact). */
export async function rollupDifferences(admin: Queryable, orgIds: string[]): Promise<number> {
  const { rows } = await admin.query<{ differences: number }>(
    `WITH ledger AS (
       SELECT org_id, date_trunc('hour', occurred_at, 'UTC') AS hour, team_id, key_id, model,
         count(*) AS requests, count(*) FILTER (WHERE status >= 400) AS errors,
         count(*) FILTER (WHERE cancelled) AS cancelled, sum(prompt_tokens) AS prompt_tokens,
         sum(completion_tokens) AS completion_tokens, sum(cached_tokens) AS cached_tokens,
         count(*) FILTER (WHERE estimated) AS estimated
       FROM usage_events WHERE org_id = ANY($1) GROUP BY 1, 2, 3, 4, 5),
     rollups AS (
       SELECT org_id, hour, team_id, key_id, model, requests, errors, cancelled, prompt_tokens,
         completion_tokens, cached_tokens, estimated
       FROM usage_hourly WHERE org_id = ANY($1))
     SELECT ((SELECT count(*) FROM (SELECT * FROM ledger EXCEPT SELECT * FROM rollups) a)
           + (SELECT count(*) FROM (SELECT * FROM rollups EXCEPT SELECT * FROM ledger) b))::int AS differences`,
    [orgIds],
  );
  return rows[0]!.differences;
}

/** Total requests and tokens in the rollups of these orgs. */
export async function rollupTotals(
  admin: Queryable,
  orgIds: string[],
): Promise<{ requests: number; promptTokens: number; completionTokens: number }> {
  const { rows } = await admin.query<{ requests: number; promptTokens: number; completionTokens: number }>(
    `SELECT coalesce(sum(requests), 0)::int AS requests, coalesce(sum(prompt_tokens), 0)::int AS "promptTokens",
       coalesce(sum(completion_tokens), 0)::int AS "completionTokens"
     FROM usage_hourly WHERE org_id = ANY($1)`,
    [orgIds],
  );
  return rows[0]!;
}

export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
