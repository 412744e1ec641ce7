// Appends usage events to the ledger and, in the same transaction, adds exactly the rows that were
// new to the hourly rollups: `INSERT … ON CONFLICT DO NOTHING RETURNING` feeds the rollup upsert, so
// an event delivered twice (a consumer killed between commit and acknowledgement) adds nothing the
// second time, and the rollups always equal the ledger's sums.
//
// Row-level security stays on: the batch is grouped by org and each group is written after binding
// its org with set_config(…, true), as withTenant does. One transaction covers the whole batch, so a
// batch of many orgs costs one commit. Each group is one statement: unnest arrays, not row values.
import { sql } from 'drizzle-orm';
import type pg from 'pg';
import type { UsageEvent } from '../core/usage-event.js';
import type { Db } from './client.js';

/** The first instant of the UTC month that contains `iso`, as an ISO string (a partition's key). */
function monthOf(iso: string): string {
  const at = new Date(iso);
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1)).toISOString();
}

function groupByOrg(events: readonly UsageEvent[]): Map<string, UsageEvent[]> {
  const groups = new Map<string, UsageEvent[]>();
  const seen = new Set<string>();
  for (const event of events) {
    if (seen.has(event.id)) continue;
    seen.add(event.id);
    const group = groups.get(event.orgId);
    if (group) group.push(event);
    else groups.set(event.orgId, [event]);
  }
  return groups;
}

// $1: the org; $2…$17: one array per column, an element per event.
const appendStatement = `
  WITH input AS (
    SELECT * FROM unnest($2::uuid[], $3::timestamptz[], $4::uuid[], $5::uuid[], $6::text[], $7::text[],
      $8::integer[], $9::integer[], $10::integer[], $11::boolean[], $12::integer[], $13::integer[],
      $14::integer[], $15::boolean[], $16::boolean[], $17::text[])
    AS t(id, occurred_at, team_id, key_id, model, deployment_id, prompt_tokens, completion_tokens,
         cached_tokens, estimated, time_to_first_token_ms, duration_ms, status, streamed, cancelled,
         request_id)
  ),
  inserted AS (
    INSERT INTO usage_events (id, occurred_at, org_id, team_id, key_id, model, deployment_id,
      prompt_tokens, completion_tokens, cached_tokens, estimated, time_to_first_token_ms, duration_ms,
      status, streamed, cancelled, request_id)
    SELECT id, occurred_at, $1::uuid, team_id, key_id, model, deployment_id, prompt_tokens,
      completion_tokens, cached_tokens, estimated, time_to_first_token_ms, duration_ms, status, streamed,
      cancelled, request_id
    FROM input
    ON CONFLICT DO NOTHING
    RETURNING occurred_at, team_id, key_id, model, prompt_tokens, completion_tokens, cached_tokens,
      estimated, status, cancelled
  ),
  rolled_up AS (
    INSERT INTO usage_hourly AS h (org_id, hour, team_id, key_id, model, requests, errors, cancelled,
      prompt_tokens, completion_tokens, cached_tokens, estimated)
    SELECT $1::uuid, date_trunc('hour', occurred_at, 'UTC'), team_id, key_id, model, count(*),
      count(*) FILTER (WHERE status >= 400), count(*) FILTER (WHERE cancelled), sum(prompt_tokens),
      sum(completion_tokens), sum(cached_tokens), count(*) FILTER (WHERE estimated)
    FROM inserted
    GROUP BY 2, 3, 4, 5
    ON CONFLICT (org_id, hour, team_id, key_id, model) DO UPDATE SET
      requests = h.requests + excluded.requests,
      errors = h.errors + excluded.errors,
      cancelled = h.cancelled + excluded.cancelled,
      prompt_tokens = h.prompt_tokens + excluded.prompt_tokens,
      completion_tokens = h.completion_tokens + excluded.completion_tokens,
      cached_tokens = h.cached_tokens + excluded.cached_tokens,
      estimated = h.estimated + excluded.estimated
  )
  SELECT count(*)::integer AS inserted FROM inserted`;

function appendParameters(orgId: string, events: readonly UsageEvent[]): unknown[] {
  const column = <T>(pick: (e: UsageEvent) => T) => events.map(pick);
  return [
    orgId,
    column((e) => e.id),
    column((e) => e.occurredAt),
    column((e) => e.teamId),
    column((e) => e.keyId),
    column((e) => e.model),
    column((e) => e.deploymentId),
    column((e) => e.promptTokens),
    column((e) => e.completionTokens),
    column((e) => e.cachedTokens),
    column((e) => e.estimated),
    column((e) => e.timeToFirstTokenMs),
    column((e) => e.durationMs),
    column((e) => e.status),
    column((e) => e.streamed),
    column((e) => e.cancelled),
    column((e) => e.requestId),
  ];
}

// Named statements are planned once per connection. Each connection gets a name of its own: on
// embedded PGlite every connection shares one backend session, where a second `usage-append` would
// collide with the first.
const statementNames = new WeakMap<pg.PoolClient, string>();
let connections = 0;
function statementName(client: pg.PoolClient): string {
  let name = statementNames.get(client);
  if (!name) {
    name = `usage-append-${++connections}`;
    statementNames.set(client, name);
  }
  return name;
}

async function appendOrgEvents(client: pg.PoolClient, orgId: string, events: readonly UsageEvent[]) {
  await client.query("SELECT set_config('app.org_id', $1, true)", [orgId]);
  const result = await client.query<{ inserted: number }>({
    name: statementName(client),
    text: appendStatement,
    values: appendParameters(orgId, events),
  });
  return result.rows[0]?.inserted ?? 0;
}

export class UsageLedger {
  /** Months whose partition is known to exist, so a batch does not ask again. */
  private readonly partitions = new Set<string>();

  constructor(private readonly db: Db) {}

  /** Stores the events not stored before (by id and time); returns how many were new. */
  async append(events: readonly UsageEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    try {
      await this.ensurePartitions(events);
      const groups = groupByOrg(events);
      return await this.transaction(async (client) => {
        let inserted = 0;
        for (const [orgId, group] of groups) inserted += await appendOrgEvents(client, orgId, group);
        return inserted;
      });
    } catch (err) {
      // A partition may have been detached (retention) since it was cached: ask again next time.
      this.partitions.clear();
      throw err;
    }
  }

  /** A transaction on a pooled connection of the app's pool (named statements need the pg client). */
  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.db.$client.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (err) {
      // The connection may be broken: close it rather than hand it to the next caller.
      await client.query('ROLLBACK').catch(() => undefined);
      client.release(err instanceof Error ? err : true);
      throw err;
    }
  }

  private async ensurePartitions(events: readonly UsageEvent[]): Promise<void> {
    const months = new Set(events.map((e) => monthOf(e.occurredAt)));
    for (const month of months) {
      if (this.partitions.has(month)) continue;
      // Inserting a new month creates its partition (a trigger in db/migrations/0010_usage.sql).
      await this.db.execute(
        sql`INSERT INTO usage_event_months (month) VALUES (${month}::timestamptz) ON CONFLICT DO NOTHING`,
      );
      this.partitions.add(month);
    }
  }
}
