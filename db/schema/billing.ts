// Billing: the tenant's Stripe account and subscription (written by the subscription workflow),
// the Stripe webhook events already taken, the billing runs' reports and the quota notices sent.
// Policies and grants are in db/migrations/0011_billing.sql.
import { bigint, boolean, integer, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { planNames } from '../../core/plans.js';
import { subscriptionStatuses } from '../../core/billing.js';
import { createdAt, orgId, timestamptz } from './columns.js';
import { organizations } from './tenancy.js';

export const billingAccounts = pgTable('billing_accounts', {
  orgId: uuid('org_id')
    .primaryKey()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  stripeCustomerId: text('stripe_customer_id').notNull().unique(),
  stripeSubscriptionId: text('stripe_subscription_id').unique(),
  plan: text('plan', { enum: planNames }).notNull(),
  seats: integer('seats').notNull(),
  status: text('status', { enum: subscriptionStatuses }).notNull(),
  trialEndsAt: timestamptz('trial_ends_at'),
  currentPeriodStart: timestamptz('current_period_start'),
  currentPeriodEnd: timestamptz('current_period_end'),
  cancelAtPeriodEnd: boolean('cancel_at_period_end').notNull().default(false),
  /** Stripe's `created` of the newest event applied; older events arriving later change nothing. */
  statusEventCreated: timestamptz('status_event_created'),
  /** A platform operator's suspension (0027): the gateway refuses the tenant while it is set. */
  operatorSuspendedAt: timestamptz('operator_suspended_at'),
  operatorSuspendedBy: uuid('operator_suspended_by'),
  operatorSuspensionReason: text('operator_suspension_reason'),
  createdAt: createdAt(),
  updatedAt: timestamptz('updated_at').notNull().defaultNow(),
});

export const stripeWebhookEvents = pgTable('stripe_webhook_events', {
  id: text('id').primaryKey(),
  type: text('type').notNull(),
  stripeCreated: timestamptz('stripe_created').notNull(),
  receivedAt: timestamptz('received_at').notNull().defaultNow(),
});

const tokens = (name: string) => bigint(name, { mode: 'number' }).notNull();

export const billingReports = pgTable(
  'billing_reports',
  {
    orgId: orgId().references(() => organizations.id, { onDelete: 'cascade' }),
    windowStart: timestamptz('window_start').notNull(),
    windowEnd: timestamptz('window_end').notNull(),
    meter: text('meter', { enum: ['inputTokens', 'outputTokens'] }).notNull(),
    quantity: tokens('quantity'),
    /** The part of quantity from buckets before the window: usage that arrived after its window closed. */
    lateQuantity: tokens('late_quantity'),
    /** The meter event's identifier: Stripe drops a second event with the same one. */
    identifier: text('identifier').notNull().unique(),
    stripeCustomerId: text('stripe_customer_id').notNull(),
    workflowId: text('workflow_id').notNull(),
    createdAt: createdAt(),
    /** When Stripe accepted the meter event; null while it is still to be sent. */
    reportedAt: timestamptz('reported_at'),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.windowStart, t.meter] })],
);

export const billingRuns = pgTable('billing_runs', {
  windowStart: timestamptz('window_start').primaryKey(),
  windowEnd: timestamptz('window_end').notNull(),
  workflowId: text('workflow_id').notNull(),
  tenants: integer('tenants').notNull().default(0),
  /** Tenants the run could not bill (null: not finished, or recorded before 0026). */
  failedTenants: integer('failed_tenants'),
  meterEvents: integer('meter_events').notNull().default(0),
  lateTokens: tokens('late_tokens').default(0),
  startedAt: timestamptz('started_at').notNull().defaultNow(),
  finishedAt: timestamptz('finished_at'),
});

export const quotaNotices = pgTable(
  'quota_notices',
  {
    orgId: orgId().references(() => organizations.id, { onDelete: 'cascade' }),
    periodStart: timestamptz('period_start').notNull(),
    threshold: integer('threshold').notNull(),
    sentAt: timestamptz('sent_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.periodStart, t.threshold] })],
);
