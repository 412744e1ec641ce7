// The billing run of one window (`billing/<window>`): every tenant with a Stripe account, a page at a
// time, BILLING_RUN_CONCURRENCY tenants at once: report the tenant's unreported usage (one tenant
// transaction), send what Stripe has not accepted yet, then any quota notice due. The run continues
// as new after each page, so its history stays bounded however many tenants there are; the workflow
// id stays `billing/<window>` across the chain and its last run returns the result.
//
// The Schedule cannot give its runs such ids (it appends the time to one fixed id), so it starts
// `scheduledBillingRun`, which picks the window from its scheduled time and runs `billing/<window>`
// as a child with that id. A backfill starts `billing/<window>` itself, under the same id.
//
// Each run ends with the reconciliation of the last day's windows, which sets the billing worker's
// reconciliation gauges (activities/billing/reconciliation.ts); its failure does not fail the run.
import {
  ActivityFailure,
  ApplicationFailure,
  continueAsNew,
  executeChild,
  log,
  patched,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';
import type { BillingActivities } from '../activities/billing/index.js';
import { windowBilledAt } from '../core/billing-window.js';
import { activityPresets, taskQueues, workflowIds } from '../temporal.config.js';
import type {
  BillingRunInput,
  BillingRunProgress,
  BillingRunResult,
  ScheduledBillingInput,
} from './definitions.js';

const database = proxyActivities<BillingActivities>(activityPresets.database);
const tenantStep = proxyActivities<BillingActivities>(activityPresets.billing);
const external = proxyActivities<BillingActivities>(activityPresets.external);

const defaultConcurrency = 8;
const defaultPageSize = 200;

/** Runs recorded before the reconciliation gauges replay without the reconcileBilling step (see `patched`). */
export const reconciliationMetricsPatch = 'billing-run-reconciliation-metrics';

/** One tenant's part of the run; its failure is counted, not thrown (see billingRun). */
async function billTenant(orgId: string, windowStart: string, workflowId: string) {
  const report = await tenantStep.reportTenantUsage({ orgId, windowStart, workflowId });
  if (report.unsent > 0) await tenantStep.sendMeterEvents({ orgId, windowStart });
  for (const notice of report.noticesDue) {
    try {
      const ref = await database.enqueueOwnerMail({
        orgId,
        idempotencyKey: notice.idempotencyKey,
        template: `quota-${notice.threshold}`,
        subject: notice.subject,
        text: notice.text,
      });
      await external.deliverMail(ref);
      await database.recordQuotaNotice({
        orgId,
        periodStart: notice.periodStart,
        threshold: notice.threshold,
      });
    } catch (err) {
      // A notice that cannot go out (an org without an owner) never holds back the billing; the
      // next run finds it due again.
      if (!(err instanceof ActivityFailure)) throw err;
      log.warn('quota notice not sent', { threshold: notice.threshold, error: err.message });
    }
  }
  return report;
}

export async function billingRun(input: BillingRunInput): Promise<BillingRunResult> {
  const { windowStart } = input;
  const concurrency = input.concurrency ?? defaultConcurrency;
  const pageSize = input.pageSize ?? defaultPageSize;
  const { workflowId } = workflowInfo();
  const progress: BillingRunProgress = input.progress ?? {
    afterOrgId: '',
    tenants: 0,
    meterEvents: 0,
    lateTokens: 0,
    failedTenants: 0,
  };
  if (!input.progress) await database.startBillingRun({ windowStart, workflowId });

  const { orgIds } = await database.listBillingTenants({
    afterOrgId: progress.afterOrgId || null,
    limit: pageSize,
  });
  const queue = [...orgIds];
  const lane = async () => {
    for (let orgId = queue.shift(); orgId !== undefined; orgId = queue.shift()) {
      try {
        const report = await billTenant(orgId, windowStart, workflowId);
        if (report.created) {
          progress.meterEvents += report.meterEvents;
          progress.lateTokens += report.lateTokens;
        }
      } catch (err) {
        // Retried for up to an hour and still failing (a customer Stripe refuses): the other
        // tenants go on; this one's usage stays above the cursor and the next run reports it.
        if (!(err instanceof ActivityFailure)) throw err;
        progress.failedTenants += 1;
        log.error('tenant not billed in this run', { error: err.message });
      }
      progress.tenants += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, orgIds.length) }, lane));

  const last = orgIds.at(-1);
  if (orgIds.length === pageSize && last !== undefined)
    return continueAsNew<typeof billingRun>({ ...input, progress: { ...progress, afterOrgId: last } });

  await database.finishBillingRun({
    windowStart,
    tenants: progress.tenants,
    failedTenants: progress.failedTenants,
  });
  if (patched(reconciliationMetricsPatch)) {
    try {
      await database.reconcileBilling();
    } catch (err) {
      // The window is billed: the gauges keep their last values and age (BillingReconciliationStale).
      if (!(err instanceof ActivityFailure)) throw err;
      log.warn('billing reconciliation not computed', { error: err.message });
    }
  }
  if (progress.failedTenants > 0)
    throw ApplicationFailure.create({
      type: 'BILLING_INCOMPLETE',
      nonRetryable: true,
      message: `${progress.failedTenants} of ${progress.tenants} tenants were not billed; the next run reports their usage`,
    });
  return {
    windowStart,
    tenants: progress.tenants,
    meterEvents: progress.meterEvents,
    lateTokens: progress.lateTokens,
  };
}

/** Set by Temporal on every workflow a Schedule starts: the time the action was due. */
const scheduledStartTime = defineSearchAttributeKey(
  'TemporalScheduledStartTime',
  SearchAttributeType.DATETIME,
);

/** What the hourly Schedule starts: the window due at the scheduled time, run as `billing/<window>`. */
export async function scheduledBillingRun(input: ScheduledBillingInput): Promise<BillingRunResult> {
  const info = workflowInfo();
  // A catch-up run after an outage bills the window of its own slot, not of the time it started.
  const due = info.typedSearchAttributes.get(scheduledStartTime) ?? info.startTime;
  const window = windowBilledAt(due, input.watermarkMinutes);
  return executeChild(billingRun, {
    workflowId: workflowIds.billingRun(window.start),
    taskQueue: taskQueues.billing,
    args: [{ windowStart: window.start.toISOString(), concurrency: input.concurrency }],
  });
}
