// Metering. `usage_events` is the ledger, one row per request, partitioned by month (the partitions
// and their creating function are in db/migrations/0010_usage.sql); `usage_hourly` holds the rollups
// per org/hour/team/key/model that usage queries and billing read. Both have RLS on org_id.
import {
  bigint,
  boolean,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { orgId, timestamptz } from './columns.js';

export const usageEvents = pgTable(
  'usage_events',
  {
    id: uuid('id').notNull(),
    occurredAt: timestamptz('occurred_at').notNull(),
    orgId: orgId(),
    teamId: uuid('team_id'),
    keyId: uuid('key_id').notNull(),
    model: text('model').notNull(),
    deploymentId: text('deployment_id'),
    promptTokens: integer('prompt_tokens').notNull(),
    completionTokens: integer('completion_tokens').notNull(),
    cachedTokens: integer('cached_tokens').notNull(),
    estimated: boolean('estimated').notNull(),
    timeToFirstTokenMs: integer('time_to_first_token_ms'),
    durationMs: integer('duration_ms').notNull(),
    status: integer('status').notNull(),
    streamed: boolean('streamed').notNull(),
    cancelled: boolean('cancelled').notNull(),
    requestId: text('request_id').notNull(),
    ingestedAt: timestamptz('ingested_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.id, t.occurredAt] }),
    index('usage_events_org_idx').on(t.orgId, t.occurredAt),
  ],
);

/** Months with a partition; inserting one creates its partition (a trigger, see the migration). */
export const usageEventMonths = pgTable('usage_event_months', {
  month: timestamptz('month').primaryKey(),
});

const count = (name: string) => bigint(name, { mode: 'number' }).notNull();

export const usageHourly = pgTable(
  'usage_hourly',
  {
    orgId: orgId(),
    hour: timestamptz('hour').notNull(),
    teamId: uuid('team_id'),
    keyId: uuid('key_id').notNull(),
    model: text('model').notNull(),
    requests: count('requests'),
    /** Requests answered with a status of 400 or more. */
    errors: count('errors'),
    cancelled: count('cancelled'),
    promptTokens: count('prompt_tokens'),
    completionTokens: count('completion_tokens'),
    cachedTokens: count('cached_tokens'),
    /** Requests whose token counts were estimated (the upstream reported no usage). */
    estimated: count('estimated'),
    /** The billing cursor: tokens of this bucket already reported to Stripe (0011_billing.sql). */
    reportedPromptTokens: count('reported_prompt_tokens').default(0),
    reportedCompletionTokens: count('reported_completion_tokens').default(0),
  },
  (t) => [unique('usage_hourly_bucket').on(t.orgId, t.hour, t.teamId, t.keyId, t.model).nullsNotDistinct()],
);
