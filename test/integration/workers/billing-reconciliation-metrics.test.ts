// What an operator's Prometheus scrapes of the billing reconciliation, on the real dev server,
// PostgreSQL and stripe-mock: the billing worker's metrics endpoint (WORKER_METRICS_PORT) has no
// reconciliation gauges before its first run, reads zero after clean runs, counts a window the
// schedule missed, a report Stripe never accepted and a tenant whose reports do not add up after
// the next run, and reads zero again once they are repaired the way the runbook says.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installWorkerRuntime } from '../../../runtime/worker-runtime.js';
import { addUsage, seedBillingTenants, type BillingTenant } from '../../support/billing-fixture.js';
import { freePort } from '../../support/services.js';
import {
  hourAgo,
  runWindow,
  startBillingSuite,
  startBillingWorker,
  type BillingSuite,
} from './billing-support.js';

let suite: BillingSuite;
let worker: { stop(): Promise<void> } | undefined;
let tenants: [BillingTenant, BillingTenant, BillingTenant];
let metricsUrl: string;

const [h6, h5, h4, h2] = [6, 5, 4, 2].map(hourAgo) as [Date, Date, Date, Date];

beforeAll(async () => {
  const port = await freePort();
  suite = await startBillingSuite('reconciliation_metrics', { WORKER_METRICS_PORT: String(port) });
  // As workers/billing.ts does, before the worker's first connection.
  installWorkerRuntime(suite.config);
  metricsUrl = `http://127.0.0.1:${port}/metrics`;
  worker = await startBillingWorker(suite);
  tenants = (await seedBillingTenants(suite.admin, 3)) as typeof tenants;
  await addUsage(
    suite.admin,
    tenants.flatMap((tenant) =>
      [h6, h5].map((hour) => ({ orgId: tenant.orgId, hour, promptTokens: 1_000, completionTokens: 100 })),
    ),
  );
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await suite?.close();
});

/** The reconciliation gauges scraped from the worker, by name without the prefix (and flag). */
async function reconciliationGauges(): Promise<Record<string, number>> {
  const text = await (await fetch(metricsUrl)).text();
  const gauges: Record<string, number> = {};
  for (const [, name, labels = '', value] of text.matchAll(
    /^vlinders_billing_reconciliation_(\w+)(\{[^}]*\})? (\S+)$/gm,
  )) {
    const flag = /flag="(\w+)"/.exec(labels)?.[1];
    gauges[flag ? `${name}{${flag}}` : name!] = Number(value);
  }
  return gauges;
}

const seconds = () => Math.floor(Date.now() / 1000);

interface Found {
  unreported: number;
  unsent: number;
  unreportedTokens: number;
  unbalanced: number;
}
const clean: Found = { unreported: 0, unsent: 0, unreportedTokens: 0, unbalanced: 0 };

/** The gauges a reconciliation that ran since `since` (unix seconds) sets for what it found. */
const reconciled = (since: number, found: Found) => ({
  'flagged_windows{unreported}': found.unreported,
  'flagged_windows{unsent}': found.unsent,
  unreported_tokens: found.unreportedTokens,
  unbalanced_tenants: found.unbalanced,
  timestamp_seconds: expect.toSatisfy((t: number) => t >= since && t <= seconds()),
});

/** Changes a recorded report's quantity behind the cursor's back. */
const shiftReport = (tenant: BillingTenant, windowStart: Date, tokens: number) =>
  suite.admin.query(
    `UPDATE billing_reports SET quantity = quantity + $3
     WHERE org_id = $1 AND window_start = $2 AND meter = 'outputTokens'`,
    [tenant.orgId, windowStart, tokens],
  );

describe('billing reconciliation gauges', () => {
  it('are absent before the first run and read zero after clean runs', { timeout: 120_000 }, async () => {
    expect(await reconciliationGauges()).toEqual({});
    const before = seconds();
    await runWindow(suite.client, h6);
    await runWindow(suite.client, h5);
    expect(await reconciliationGauges()).toEqual(reconciled(before, clean));
  });

  it(
    'count the differences after the next run, and read zero once they are repaired',
    { timeout: 180_000 },
    async () => {
      const [late, unsent, doubled] = tenants;
      // Usage in a closed window after the next run's (h4 reports up to its own end only).
      await addUsage(suite.admin, [{ orgId: late.orgId, hour: h2, promptTokens: 200, completionTokens: 50 }]);
      // A report recorded but never accepted by Stripe.
      await suite.admin.query(
        `UPDATE billing_reports SET reported_at = NULL WHERE org_id = $1 AND window_start = $2 AND meter = 'inputTokens'`,
        [unsent.orgId, h6],
      );
      // A report that says more than its cursor moved: five tokens reported twice.
      await shiftReport(doubled, h5, 5);

      // Nothing changes until a run reconciles again: h4 has no usage and reports nothing.
      expect(await reconciliationGauges()).toMatchObject({ 'flagged_windows{unreported}': 0 });
      const before = seconds();
      await expect(runWindow(suite.client, h4)).resolves.toMatchObject({ meterEvents: 0 });
      expect(await reconciliationGauges()).toEqual(
        reconciled(before, { unreported: 1, unsent: 1, unreportedTokens: 250, unbalanced: 1 }),
      );

      // The runbook's repairs: the wrong report corrected, the windows run (again); the last run's
      // reconciliation finds nothing.
      await shiftReport(doubled, h5, -5);
      await runWindow(suite.client, h2);
      const repaired = seconds();
      await runWindow(suite.client, h6);
      expect(await reconciliationGauges()).toEqual(reconciled(repaired, clean));
    },
  );
});
