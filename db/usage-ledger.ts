// Appends usage events to the ledger and, in the same transaction, adds exactly the rows that were
// new to the hourly rollups: `INSERT … ON CONFLICT DO NOTHING RETURNING` feeds the rollup upsert, so
// an event delivered twice (a consumer killed between commit and acknowledgement) adds nothing the
// second time, and the rollups always equal the ledger's sums.
//
// Row-level security stays on: the batch is grouped by org and each group is written after binding
// its org with set_config(…, true), as withTenant does. One transaction covers the whole batch, so a
// batch of many orgs costs one commit. Each group is one statement: unnest arrays, not row values.
import { sql } from 'drizzle-orm';
import type { UsageEvent } from '../core/usage-event.js';
import type { Db, Tx } from './client.js';

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

/** Column arrays, one element per event; sql.param passes each array as one parameter. */
function column<T>(events: readonly UsageEvent[], pick: (e: UsageEvent) => T) {
  return sql.param(events.map(pick));
}

async function appendOrgEvents(tx: Tx, orgId: string, events: readonly UsageEvent[]): Promise<number> {
  await tx.execute(sql`SELECT set_config('app.org_id', ${orgId}, true)`);
  const result = await tx.execute<{ inserted: number }>(sql`
    WITH input AS (
      SELECT * FROM unnest(
        ${column(events, (e) => e.id)}::uuid[],
        ${column(events, (e) => e.occurredAt)}::timestamptz[],
        ${column(events, (e) => e.teamId)}::uuid[],
        ${column(events, (e) => e.keyId)}::uuid[],
        ${column(events, (e) => e.model)}::text[],
        ${column(events, (e) => e.deploymentId)}::text[],
        ${column(events, (e) => e.promptTokens)}::integer[],
        ${column(events, (e) => e.completionTokens)}::integer[],
        ${column(events, (e) => e.cachedTokens)}::integer[],
        ${column(events, (e) => e.estimated)}::boolean[],
        ${column(events, (e) => e.timeToFirstTokenMs)}::integer[],
        ${column(events, (e) => e.durationMs)}::integer[],
        ${column(events, (e) => e.status)}::integer[],
        ${column(events, (e) => e.streamed)}::boolean[],
        ${column(events, (e) => e.cancelled)}::boolean[]
      ) AS t(id, occurred_at, team_id, key_id, model, deployment_id, prompt_tokens, completion_tokens,
             cached_tokens, estimated, time_to_first_token_ms, duration_ms, status, streamed, cancelled)
    ),
    inserted AS (
      INSERT INTO usage_events (id, occurred_at, org_id, team_id, key_id, model, deployment_id,
        prompt_tokens, completion_tokens, cached_tokens, estimated, time_to_first_token_ms, duration_ms,
        status, streamed, cancelled)
      SELECT id, occurred_at, ${orgId}::uuid, team_id, key_id, model, deployment_id, prompt_tokens,
        completion_tokens, cached_tokens, estimated, time_to_first_token_ms, duration_ms, status, streamed,
        cancelled
      FROM input
      ON CONFLICT DO NOTHING
      RETURNING occurred_at, team_id, key_id, model, prompt_tokens, completion_tokens, cached_tokens,
        estimated, status, cancelled
    ),
    rolled_up AS (
      INSERT INTO usage_hourly AS h (org_id, hour, team_id, key_id, model, requests, errors, cancelled,
        prompt_tokens, completion_tokens, cached_tokens, estimated)
      SELECT ${orgId}::uuid, date_trunc('hour', occurred_at, 'UTC'), team_id, key_id, model, count(*),
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
    SELECT count(*)::integer AS inserted FROM inserted`);
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
      return await this.db.transaction(async (tx) => {
        let inserted = 0;
        for (const [orgId, group] of groups) inserted += await appendOrgEvents(tx, orgId, group);
        return inserted;
      });
    } catch (err) {
      // A partition may have been detached (retention) since it was cached: ask again next time.
      this.partitions.clear();
      throw err;
    }
  }

  private async ensurePartitions(events: readonly UsageEvent[]): Promise<void> {
    const months = new Set(events.map((e) => monthOf(e.occurredAt)));
    for (const month of months) {
      if (this.partitions.has(month)) continue;
      await this.db.execute(sql`SELECT ensure_usage_events_partition(${month}::timestamptz)`);
      this.partitions.add(month);
    }
  }
}
