// The billing reconciliation as gauges on the billing worker's metrics endpoint (WORKER_METRICS_PORT):
// after each billing run, the last day's windows reconciled as GET /api/admin/billing/reconciliation
// does, so an alert sees a difference without an operator asking. Every gauge is set each time (a
// difference gone reads 0), with the time it was computed: a replica's gauges stay as its last
// reconciliation left them, and the alerts read the replica that reconciled last.
import type { MetricMeter } from '@temporalio/common';
import { hourMs } from '../../core/billing-window.js';
import { billingReconciliation, type WindowFlag } from '../../db/billing-reconciliation.js';
import type { Db } from '../../db/client.js';

/**
 * The windows reconciled after each run: the last day's (the open ones are never flagged). Older
 * windows are reconciled by the route; the per-tenant balance spans all hours either way.
 */
export const reconciliationLookbackHours = 24;

export interface ReconciliationActivityDeps {
  db: Db;
  /** The worker runtime's meter: its gauges are served with the Temporal SDK's metrics. */
  metrics: MetricMeter;
  /** BILLING_WATERMARK_MINUTES: a window is flagged once its run was due. */
  watermarkMinutes: number;
}

export interface ReconciliationSummary {
  /** The windows reconciled: [from, to), on UTC hours. */
  from: string;
  to: string;
  /** Tenant windows flagged, by flag (a window can carry both). */
  flaggedWindows: Record<WindowFlag, number>;
  /** Tokens of the flagged windows that no run has reported. */
  unreportedTokens: number;
  /** Tenants whose reports do not add up to what their cursor marks reported (all hours). */
  unbalancedTenants: number;
}

export function createReconciliationActivities({
  db,
  metrics,
  watermarkMinutes,
}: ReconciliationActivityDeps) {
  const flaggedWindows = metrics.createGauge(
    'vlinders_billing_reconciliation_flagged_windows',
    'int',
    undefined,
    'Tenant windows of the last day whose run was due, flagged by the billing reconciliation (unreported, unsent)',
  );
  const unreportedTokens = metrics.createGauge(
    'vlinders_billing_reconciliation_unreported_tokens',
    'int',
    undefined,
    'Tokens metered in the last day that no billing run has reported, in windows whose run was due',
  );
  const unbalancedTenants = metrics.createGauge(
    'vlinders_billing_reconciliation_unbalanced_tenants',
    'int',
    undefined,
    'Tenants whose billing reports differ from the tokens their cursor marks reported (a token reported twice or never)',
  );
  const reconciledAt = metrics.createGauge(
    'vlinders_billing_reconciliation_timestamp_seconds',
    'int',
    undefined,
    'When this process last computed the billing reconciliation gauges (unix seconds)',
  );

  return {
    /** Reconciles the last day's windows and sets the gauges; what it found is its result. */
    async reconcileBilling(): Promise<ReconciliationSummary> {
      const now = new Date();
      const to = new Date(Math.floor(now.getTime() / hourMs) * hourMs);
      const from = new Date(to.getTime() - reconciliationLookbackHours * hourMs);
      const { windows, balances } = await billingReconciliation(db, {
        from,
        to,
        flaggedOnly: true,
        now,
        watermarkMinutes,
      });
      const summary: ReconciliationSummary = {
        from: from.toISOString(),
        to: to.toISOString(),
        flaggedWindows: { unreported: 0, unsent: 0 },
        // Metered minus reported, so never negative unless a cursor ran past its rollup: counted too.
        unreportedTokens: windows.reduce(
          (sum, w) => sum + Math.abs(w.unreported.inputTokens) + Math.abs(w.unreported.outputTokens),
          0,
        ),
        unbalancedTenants: balances.length,
      };
      for (const window of windows) for (const flag of window.flags) summary.flaggedWindows[flag] += 1;

      for (const [flag, count] of Object.entries(summary.flaggedWindows)) flaggedWindows.set(count, { flag });
      unreportedTokens.set(summary.unreportedTokens);
      unbalancedTenants.set(summary.unbalancedTenants);
      reconciledAt.set(Math.floor(now.getTime() / 1000));
      return summary;
    },
  };
}
