// The billing run on the real dev server, PostgreSQL and stripe-mock (behind the recorder): tenants
// with random usage over several hours, windows run in order, usage arriving late for an hour that
// was billed already, the same window run twice. For every tenant, what reached Stripe (one event
// per identifier, as Stripe counts) equals what the rollups metered, and the reconciliation agrees.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { billingReconciliation } from '../../../db/billing-reconciliation.js';
import {
  addUsage,
  meteredTotals,
  seedBillingTenants,
  type BillingTenant,
} from '../../support/billing-fixture.js';
import {
  hourAgo,
  runWindow,
  startBillingSuite,
  stripeTotals,
  type BillingSuite,
  startBillingWorker,
} from './billing-support.js';

let suite: BillingSuite;
let worker: { stop(): Promise<void> } | undefined;
let tenants: BillingTenant[];

// Five hours, the newest 20 hours ago; random but reproducible usage.
const hours = [24, 23, 22, 21, 20].map(hourAgo);
let seed = 42;
const random = (max: number) => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed % max;
};

beforeAll(async () => {
  suite = await startBillingSuite('invariant', { BILLING_RUN_CONCURRENCY: '3' });
  worker = await startBillingWorker(suite);
  tenants = await seedBillingTenants(suite.admin, 7);
  // Every tenant has usage in some hours, on two models; one tenant has none at all.
  await addUsage(
    suite.admin,
    tenants.slice(1).flatMap((tenant) =>
      hours.flatMap((hour) =>
        ['model-a', 'model-b'].flatMap((model) =>
          random(3) === 0
            ? []
            : [
                {
                  orgId: tenant.orgId,
                  hour,
                  model,
                  promptTokens: 1 + random(5_000),
                  completionTokens: random(2_000),
                },
              ],
        ),
      ),
    ),
  );
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await suite?.close();
});

describe('billing runs', () => {
  it(
    'reports every metered token exactly once, late usage in a later window, flagged',
    { timeout: 120_000 },
    async () => {
      const [h0, h1, h2, h3, h4] = hours as [Date, Date, Date, Date, Date];
      for (const hour of [h0, h1, h2]) {
        const result = await runWindow(suite.client, hour, { pageSize: 3 });
        expect(result).toMatchObject({ windowStart: hour.toISOString(), tenants: 7, lateTokens: 0 });
      }

      // Usage for h1 arrives after h1 was billed (a consumer that was down), and h3's own usage.
      const late = [
        { orgId: tenants[1]!.orgId, hour: h1, promptTokens: 700, completionTokens: 300 },
        { orgId: tenants[2]!.orgId, hour: h0, model: 'model-c', promptTokens: 50, completionTokens: 0 },
      ];
      await addUsage(suite.admin, [
        ...late,
        { orgId: tenants[3]!.orgId, hour: h3, promptTokens: 10, completionTokens: 20 },
      ]);
      const third = await runWindow(suite.client, h3, { pageSize: 3 });
      expect(third.lateTokens).toBe(700 + 300 + 50);
      const lateRows = await suite.admin.query<{ org_id: string; meter: string; late_quantity: string }>(
        `SELECT org_id, meter, late_quantity FROM billing_reports WHERE window_start = $1 AND late_quantity > 0
       ORDER BY org_id, meter`,
        [h3],
      );
      expect(lateRows.rows).toEqual(
        [
          { org_id: tenants[1]!.orgId, meter: 'inputTokens', late_quantity: '700' },
          { org_id: tenants[1]!.orgId, meter: 'outputTokens', late_quantity: '300' },
          { org_id: tenants[2]!.orgId, meter: 'inputTokens', late_quantity: '50' },
        ].sort((a, b) => a.org_id.localeCompare(b.org_id)),
      );

      // The same window again, and an earlier one: nothing new reaches Stripe.
      const sent = suite.recorder.calls('POST', '/v1/billing/meter_events').length;
      await expect(runWindow(suite.client, h3)).resolves.toEqual({
        windowStart: h3.toISOString(),
        tenants: 7,
        meterEvents: 0,
        lateTokens: 0,
      });
      await expect(runWindow(suite.client, h1)).resolves.toMatchObject({ meterEvents: 0, lateTokens: 0 });
      expect(suite.recorder.calls('POST', '/v1/billing/meter_events')).toHaveLength(sent);

      await runWindow(suite.client, h4);

      const stripe = stripeTotals(suite.recorder);
      expect(stripe.conflicting).toEqual([]);
      const metered = await meteredTotals(
        suite.admin,
        tenants.map((t) => t.orgId),
      );
      for (const tenant of tenants)
        expect(stripe.byOrg.get(tenant.orgId) ?? { inputTokens: 0, outputTokens: 0 }).toEqual(
          metered.get(tenant.orgId) ?? { inputTokens: 0, outputTokens: 0 },
        );
      // Every meter event named its customer, and the request was idempotent by workflow and step.
      for (const call of suite.recorder.calls('POST', '/v1/billing/meter_events')) {
        const orgId = call.params.identifier?.split(':')[0];
        expect(call.params['payload[stripe_customer_id]']).toBe(
          tenants.find((t) => t.orgId === orgId)?.customerId,
        );
        expect(call.idempotencyKey).toMatch(
          /^billing\/\d{4}-\d{2}-\d{2}T\d{2}:00Z\/[0-9a-f-]{36}\/(input|output)Tokens$/,
        );
      }

      const reconciliation = await billingReconciliation(suite.db, {
        from: h0,
        to: new Date(h4.getTime() + 3_600_000),
        now: new Date(),
        watermarkMinutes: suite.config.BILLING_WATERMARK_MINUTES,
      });
      expect(reconciliation.flagged).toBe(0);
      expect(reconciliation.balances).toHaveLength(6);
      const window1 = reconciliation.windows.find(
        (w) => w.orgId === tenants[1]!.orgId && w.windowStart === h3.toISOString(),
      );
      expect(window1?.late).toEqual({ inputTokens: 700, outputTokens: 300 });

      const runs = await suite.admin.query<{ window_start: Date; finished_at: Date | null; tenants: number }>(
        'SELECT window_start, finished_at, tenants FROM billing_runs ORDER BY window_start',
      );
      expect(runs.rows.map((r) => [r.window_start.toISOString(), r.tenants, r.finished_at !== null])).toEqual(
        hours.map((h) => [h.toISOString(), 7, true]),
      );
    },
  );

  it('flags usage no run has reported yet in a closed window', { timeout: 60_000 }, async () => {
    const hour = hourAgo(30);
    await addUsage(suite.admin, [{ orgId: tenants[0]!.orgId, hour, promptTokens: 5, completionTokens: 1 }]);
    const reconciliation = await billingReconciliation(suite.db, {
      from: hour,
      to: new Date(hour.getTime() + 3_600_000),
      flaggedOnly: true,
      now: new Date(),
      watermarkMinutes: suite.config.BILLING_WATERMARK_MINUTES,
    });
    expect(reconciliation.windows).toEqual([
      expect.objectContaining({
        orgId: tenants[0]!.orgId,
        unreported: { inputTokens: 5, outputTokens: 1 },
        flags: ['unreported'],
      }),
    ]);
    expect(reconciliation.flagged).toBe(1);
  });
});
