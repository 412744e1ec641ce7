// Appends usage events to the ledger and, in the same statement, adds exactly the rows that were new
// to the hourly rollups: usage_ingest() (db/migrations/0014_usage_ingest.sql) runs
// `INSERT … ON CONFLICT DO NOTHING RETURNING` and feeds the returned rows to the rollup upsert, so
// an event delivered twice (a consumer killed between commit and acknowledgement) adds nothing the
// second time, and the rollups always equal the ledger's sums.
//
// A batch of any number of orgs is one statement: the function is the trusted ingest path, allowed
// to write every org's usage rows while tenants' own queries stay bound to their org by row-level
// security (docs/metering.md). Columns travel as arrays, an element per event.
import { sql } from 'drizzle-orm';
import type { UsageEvent } from '../core/usage-event.js';
import type { Db } from './client.js';

/** The first instant of the UTC month that contains `iso`, as an ISO string (a partition's key). */
function monthOf(iso: string): string {
  const at = new Date(iso);
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1)).toISOString();
}

/** The events with ids not seen before in the batch: one statement may not upsert a bucket twice. */
function distinctEvents(events: readonly UsageEvent[]): UsageEvent[] {
  const seen = new Set<string>();
  return events.filter((event) => {
    if (seen.has(event.id)) return false;
    seen.add(event.id);
    return true;
  });
}

const appendStatement = `SELECT public.usage_ingest($1::uuid[], $2::timestamptz[], $3::uuid[], $4::uuid[],
  $5::uuid[], $6::text[], $7::text[], $8::integer[], $9::integer[], $10::integer[], $11::boolean[],
  $12::integer[], $13::integer[], $14::integer[], $15::boolean[], $16::boolean[], $17::text[]) AS inserted`;

function appendParameters(events: readonly UsageEvent[]): unknown[] {
  const column = <T>(pick: (e: UsageEvent) => T) => events.map(pick);
  return [
    column((e) => e.id),
    column((e) => e.occurredAt),
    column((e) => e.orgId),
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

export class UsageLedger {
  /** Months whose partition is known to exist, so a batch does not ask again. */
  private readonly partitions = new Set<string>();

  constructor(private readonly db: Db) {}

  /** Stores the events not stored before (by id and time); returns how many were new. */
  async append(events: readonly UsageEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    try {
      await this.ensurePartitions(events);
      // One statement is one transaction: the ledger rows and their rollups commit together.
      const result = await this.db.$client.query<{ inserted: number }>(
        appendStatement,
        appendParameters(distinctEvents(events)),
      );
      return result.rows[0]?.inserted ?? 0;
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
      // Inserting a new month creates its partition (a trigger in db/migrations/0010_usage.sql).
      await this.db.execute(
        sql`INSERT INTO usage_event_months (month) VALUES (${month}::timestamptz) ON CONFLICT DO NOTHING`,
      );
      this.partitions.add(month);
    }
  }
}
