// Activities of the billing run (workflows/billing-run.ts). The accounting is the cursor on the
// rollups (usage_hourly.reported_*): one tenant transaction reports every bucket's unreported tokens
// up to the window's end, moves the cursor and records the report; only then are the meter events
// sent, each with an identifier Stripe deduplicates by. So a retry, a rerun, a backfill or a worker
// killed anywhere in between reports every token exactly once.
import { Context } from '@temporalio/activity';
import { and, asc, eq, gt, isNull, sql } from 'drizzle-orm';
import { billingMeters, type BillingMeter } from '../../core/billing.js';
import {
  billingWindow,
  meterEventIdentifier,
  meterEventTimestamp,
  periodStartFor,
  reachedThresholds,
  type QuotaThreshold,
} from '../../core/billing-window.js';
import { plan } from '../../core/plans.js';
import type { Tx } from '../../db/client.js';
import {
  billingAccounts,
  billingReports,
  billingRuns,
  quotaNotices,
  usageHourly,
} from '../../db/schema/index.js';
import { withBillingRun, withTenant } from '../../db/tenant.js';
import type { Stripe } from '../../runtime/stripe.js';
import type { Mailer } from '../mail/mailer.js';
import { createMailActivities } from '../outbox.js';
import { createReconciliationActivities, type ReconciliationActivityDeps } from './reconciliation.js';

export interface BillingActivityDeps extends ReconciliationActivityDeps {
  stripe: Stripe;
  mailer: Mailer;
  mailFrom: string;
}

/** A platform payload: the run's window and workflow. */
export interface BillingRunRef {
  windowStart: string;
  workflowId: string;
}

export interface TenantWindowInput {
  orgId: string;
  windowStart: string;
  /** The run's workflow id, kept on the reports it creates (their meter events' idempotency keys). */
  workflowId: string;
}

/** A quota notice the tenant is due: the mail to its owners and the notice row to record after it. */
export interface QuotaNoticeDue {
  threshold: QuotaThreshold;
  periodStart: string;
  /** Org + period + threshold, not the run: whichever run sends it, it is one message. */
  idempotencyKey: string;
  subject: string;
  text: string;
}

export interface TenantReport {
  orgId: string;
  /** false: the window had been reported for this tenant already (a rerun), nothing new. */
  created: boolean;
  meterEvents: number;
  lateTokens: number;
  /** Reports of this window that Stripe has not accepted yet. */
  unsent: number;
  noticesDue: QuotaNoticeDue[];
}

const meters = Object.keys(billingMeters) as BillingMeter[];

/** Reports the unreported tokens of every bucket before the window's end; moves the cursor. */
async function reportWindow(tx: Tx, orgId: string, start: Date, end: Date) {
  const h = usageHourly;
  // One statement: the buckets are locked as they are read (an ingester's upsert-add waits, and
  // its tokens stay above the cursor for the next window), and the cursor moves to what was read.
  const { rows } = await tx.execute<{ late: boolean; prompt: string; completion: string }>(sql`
    WITH due AS (
      SELECT ctid, hour, prompt_tokens, completion_tokens,
        prompt_tokens - reported_prompt_tokens AS prompt,
        completion_tokens - reported_completion_tokens AS completion
      FROM ${h}
      WHERE org_id = ${orgId} AND hour < ${end.toISOString()}
        AND (prompt_tokens > reported_prompt_tokens OR completion_tokens > reported_completion_tokens)
      FOR UPDATE
    ), moved AS (
      UPDATE ${h} SET reported_prompt_tokens = due.prompt_tokens,
        reported_completion_tokens = due.completion_tokens
      FROM due WHERE ${h}.ctid = due.ctid
      RETURNING due.hour, due.prompt, due.completion
    )
    SELECT hour < ${start.toISOString()} AS late, sum(prompt)::text AS prompt, sum(completion)::text AS completion
    FROM moved GROUP BY 1`);
  const quantity = { inputTokens: 0, outputTokens: 0 };
  const late = { inputTokens: 0, outputTokens: 0 };
  for (const row of rows) {
    quantity.inputTokens += Number(row.prompt);
    quantity.outputTokens += Number(row.completion);
    if (row.late) {
      late.inputTokens += Number(row.prompt);
      late.outputTokens += Number(row.completion);
    }
  }
  return { quantity, late };
}

/** The tenant's tokens this period up to the window's end, against its plan's included tokens. */
async function noticesDue(
  tx: Tx,
  orgId: string,
  account: { plan: Parameters<typeof plan>[0]; currentPeriodStart: Date | null },
  start: Date,
  end: Date,
): Promise<QuotaNoticeDue[]> {
  const included = plan(account.plan).includedTokens;
  const periodStart = periodStartFor(start, account.currentPeriodStart);
  const [used] = await tx
    .select({ tokens: sql<string>`coalesce(sum(prompt_tokens + completion_tokens), 0)::text` })
    .from(usageHourly)
    .where(
      and(
        eq(usageHourly.orgId, orgId),
        sql`${usageHourly.hour} >= ${periodStart.toISOString()} AND ${usageHourly.hour} < ${end.toISOString()}`,
      ),
    );
  const tokens = Number(used?.tokens ?? 0);
  const reached = reachedThresholds(tokens, included);
  if (reached.length === 0) return [];
  const sent = await tx
    .select({ threshold: quotaNotices.threshold })
    .from(quotaNotices)
    .where(and(eq(quotaNotices.orgId, orgId), eq(quotaNotices.periodStart, periodStart)));
  const period = periodStart.toISOString();
  return reached
    .filter((t) => !sent.some((s) => s.threshold === t))
    .map((threshold) => ({
      threshold,
      periodStart: period,
      idempotencyKey: `quota-notice/${orgId}/${period}/${threshold}`,
      ...quotaMail(threshold, tokens, included, account.plan),
    }));
}

function quotaMail(threshold: QuotaThreshold, tokens: number, included: number, planName: string) {
  const overage = plan(planName as Parameters<typeof plan>[0]).overage;
  const after =
    overage === 'bill'
      ? 'Tokens beyond the included amount are billed at your plan’s metered price.'
      : 'Requests beyond the included amount are refused until the next period or an upgrade.';
  return {
    subject:
      threshold === 100
        ? 'Vlinders: you have used all tokens included in your plan'
        : `Vlinders: you have used ${threshold} % of the tokens included in your plan`,
    text: [
      'Hello,',
      '',
      `Your organization has used ${tokens.toLocaleString('en')} of the ${included.toLocaleString('en')} tokens`,
      `included in its ${planName} plan this billing period (${threshold} %).`,
      threshold === 100 ? after : 'You can follow your usage and change your plan in the console.',
      '',
      '— Vlinders',
    ].join('\n'),
  };
}

export function createBillingActivities({
  db,
  stripe,
  mailer,
  mailFrom,
  metrics,
  watermarkMinutes,
}: BillingActivityDeps) {
  return {
    ...createMailActivities({ db, mailer, from: mailFrom }),
    ...createReconciliationActivities({ db, metrics, watermarkMinutes }),

    /** A page of the tenants to bill (every org with a Stripe account), in org id order. */
    async listBillingTenants({
      afterOrgId,
      limit,
    }: {
      afterOrgId: string | null;
      limit: number;
    }): Promise<{ orgIds: string[] }> {
      const rows = await withBillingRun(db, (tx) =>
        tx
          .select({ orgId: billingAccounts.orgId })
          .from(billingAccounts)
          .where(afterOrgId ? gt(billingAccounts.orgId, afterOrgId) : undefined)
          .orderBy(asc(billingAccounts.orgId))
          .limit(limit),
      );
      return { orgIds: rows.map((r) => r.orgId) };
    },

    /** Records that the window's run started (again, for a rerun: finished_at is cleared). */
    async startBillingRun({ windowStart, workflowId }: BillingRunRef): Promise<BillingRunRef> {
      const window = billingWindow(new Date(windowStart));
      await db
        .insert(billingRuns)
        .values({ windowStart: window.start, windowEnd: window.end, workflowId })
        .onConflictDoUpdate({
          target: billingRuns.windowStart,
          set: { workflowId, startedAt: sql`now()`, finishedAt: null, failedTenants: null },
        });
      return { windowStart, workflowId };
    },

    /**
     * Records the finished run: its tenants and those it could not bill, and the window's meter
     * events and late tokens in all. (Runs started before failedTenants was passed record null.)
     */
    async finishBillingRun({
      windowStart,
      tenants,
      failedTenants,
    }: {
      windowStart: string;
      tenants: number;
      failedTenants?: number;
    }): Promise<{ windowStart: string }> {
      const start = billingWindow(new Date(windowStart)).start;
      await withBillingRun(db, async (tx) => {
        const [totals] = await tx
          .select({
            meterEvents: sql<number>`count(*)::int`,
            lateTokens: sql<string>`coalesce(sum(${billingReports.lateQuantity}), 0)::text`,
          })
          .from(billingReports)
          .where(eq(billingReports.windowStart, start));
        await tx
          .update(billingRuns)
          .set({
            tenants,
            failedTenants: failedTenants ?? null,
            meterEvents: totals?.meterEvents ?? 0,
            lateTokens: Number(totals?.lateTokens ?? 0),
            finishedAt: sql`now()`,
          })
          .where(eq(billingRuns.windowStart, start));
      });
      return { windowStart };
    },

    /**
     * The tenant's report for the window, in one tenant transaction: the reports already recorded
     * (a rerun: nothing new), else every unreported token before the window's end, the cursor moved
     * and a report per meter with a quantity. Also the quota notices the tenant is due.
     */
    async reportTenantUsage({ orgId, windowStart, workflowId }: TenantWindowInput): Promise<TenantReport> {
      const { start, end } = billingWindow(new Date(windowStart));
      return withTenant(db, orgId, async (tx) => {
        const [account] = await tx
          .select({
            customerId: billingAccounts.stripeCustomerId,
            plan: billingAccounts.plan,
            currentPeriodStart: billingAccounts.currentPeriodStart,
          })
          .from(billingAccounts)
          .where(eq(billingAccounts.orgId, orgId));
        // Gone since the run listed it (the org was deleted): nothing left to bill.
        if (!account)
          return { orgId, created: false, meterEvents: 0, lateTokens: 0, unsent: 0, noticesDue: [] };
        // Serialises two runs of one tenant (a backfill beside the schedule): the second sees the
        // first's reports and moved cursor.
        await tx.execute(sql`SELECT 1 FROM ${billingAccounts} WHERE org_id = ${orgId} FOR UPDATE`);
        const existing = await tx
          .select()
          .from(billingReports)
          .where(and(eq(billingReports.orgId, orgId), eq(billingReports.windowStart, start)));
        let reports = existing;
        if (existing.length === 0) {
          const { quantity, late } = await reportWindow(tx, orgId, start, end);
          const rows = meters
            .filter((meter) => quantity[meter] > 0)
            .map((meter) => ({
              orgId,
              windowStart: start,
              windowEnd: end,
              meter,
              quantity: quantity[meter],
              lateQuantity: late[meter],
              identifier: meterEventIdentifier(orgId, meter, start),
              stripeCustomerId: account.customerId,
              workflowId,
            }));
          reports = rows.length > 0 ? await tx.insert(billingReports).values(rows).returning() : [];
        }
        return {
          orgId,
          created: existing.length === 0,
          meterEvents: reports.length,
          lateTokens: reports.reduce((sum, r) => sum + r.lateQuantity, 0),
          unsent: reports.filter((r) => r.reportedAt === null).length,
          noticesDue: await noticesDue(tx, orgId, account, start, end),
        };
      });
    },

    /**
     * Sends the window's reports Stripe has not accepted yet as meter events, then marks them. A
     * crash between the two sends the same identifier again, and Stripe drops the second event.
     */
    async sendMeterEvents({ orgId, windowStart }: { orgId: string; windowStart: string }) {
      const window = billingWindow(new Date(windowStart));
      const unsent = await withTenant(db, orgId, (tx) =>
        tx
          .select()
          .from(billingReports)
          .where(
            and(
              eq(billingReports.orgId, orgId),
              eq(billingReports.windowStart, window.start),
              isNull(billingReports.reportedAt),
            ),
          )
          .orderBy(asc(billingReports.meter)),
      );
      for (const report of unsent) {
        await stripe.billing.meterEvents.create(
          {
            event_name: billingMeters[report.meter],
            payload: { stripe_customer_id: report.stripeCustomerId, value: String(report.quantity) },
            identifier: report.identifier,
            timestamp: meterEventTimestamp(window),
          },
          { idempotencyKey: `${report.workflowId}/${orgId}/${report.meter}` },
        );
        await withTenant(db, orgId, (tx) =>
          tx
            .update(billingReports)
            .set({ reportedAt: sql`now()` })
            .where(and(eq(billingReports.identifier, report.identifier), isNull(billingReports.reportedAt))),
        );
        Context.current().heartbeat(report.meter);
      }
      return { orgId, sent: unsent.length };
    },

    /** Records a quota notice after its mail went out: the tenant is not due it again this period. */
    async recordQuotaNotice({
      orgId,
      periodStart,
      threshold,
    }: {
      orgId: string;
      periodStart: string;
      threshold: QuotaThreshold;
    }): Promise<{ orgId: string; recorded: boolean }> {
      const rows = await withTenant(db, orgId, (tx) =>
        tx
          .insert(quotaNotices)
          .values({ orgId, periodStart: new Date(periodStart), threshold })
          .onConflictDoNothing()
          .returning({ threshold: quotaNotices.threshold }),
      );
      return { orgId, recorded: rows.length > 0 };
    },
  };
}

export type BillingActivities = ReturnType<typeof createBillingActivities>;
