// GET /api/admin/billing/reconciliation: an operator sees a tenant's metered tokens against what
// its billing runs reported; an unreported closed window is flagged until a run reports it. Bad
// ranges are refused. (Who may call it: the route table's operator row.)
import { noopMetricMeter } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBillingActivities } from '../../../activities/billing/index.js';
import { FileMailer } from '../../../activities/mail/mailer.js';
import type { Reconciliation } from '../../../db/billing-reconciliation.js';
import { createStripe } from '../../../runtime/stripe.js';
import { addUsage, seedBillingTenants, type BillingTenant } from '../../support/billing-fixture.js';
import { useTestApp } from '../../support/app.js';
import { bearer, errorCode, signUp, useAdminPool, type TestUser } from './helpers.js';

const t = useTestApp();
let admin: pg.Pool;
let operator: TestUser;
let tenant: BillingTenant;

const hourMs = 3_600_000;
const hour = new Date(Math.floor(Date.now() / hourMs) * hourMs - 40 * hourMs);
const range = `from=${hour.toISOString()}&to=${new Date(hour.getTime() + hourMs).toISOString()}`;

beforeAll(async () => {
  admin = useAdminPool();
  operator = await signUp(t.app, 'billing-operator');
  await admin.query(`UPDATE users SET platform_role = 'operator' WHERE id = $1`, [operator.id]);
  [tenant] = (await seedBillingTenants(admin, 1)) as [BillingTenant];
  await addUsage(admin, [
    { orgId: tenant.orgId, hour, promptTokens: 1_200, completionTokens: 300 },
    { orgId: tenant.orgId, hour, model: 'model-b', promptTokens: 800, completionTokens: 0 },
  ]);
});

const reconciliation = async (query: string) => {
  const res = await t.app.inject({
    method: 'GET',
    url: `/api/admin/billing/reconciliation?${query}`,
    headers: bearer(operator),
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Reconciliation>();
};

describe('GET /api/admin/billing/reconciliation', () => {
  it('flags a closed window no run has reported, and agrees once a run has', async () => {
    const before = await reconciliation(`${range}&orgId=${tenant.orgId}`);
    expect(before.windows).toEqual([
      {
        orgId: tenant.orgId,
        windowStart: hour.toISOString(),
        metered: { inputTokens: 2_000, outputTokens: 300 },
        reported: { inputTokens: 0, outputTokens: 0 },
        late: { inputTokens: 0, outputTokens: 0 },
        unreported: { inputTokens: 2_000, outputTokens: 300 },
        unsentMeterEvents: 0,
        closed: true,
        flags: ['unreported'],
      },
    ]);
    expect(before.flagged).toBe(1);

    const activities = createBillingActivities({
      db: t.app.db,
      stripe: createStripe(t.config),
      mailer: new FileMailer(t.config.MAIL_DIR),
      mailFrom: t.config.MAIL_FROM,
      metrics: noopMetricMeter,
      watermarkMinutes: t.config.BILLING_WATERMARK_MINUTES,
    });
    const input = { orgId: tenant.orgId, windowStart: hour.toISOString(), workflowId: 'billing/test' };
    await activities.reportTenantUsage(input);
    // Recorded, not yet accepted by Stripe: flagged as unsent.
    const recorded = await reconciliation(`${range}&orgId=${tenant.orgId}`);
    expect(recorded.windows[0]).toMatchObject({ unsentMeterEvents: 2, flags: ['unsent'] });
    await new MockActivityEnvironment().run((i: typeof input) => activities.sendMeterEvents(i), input);

    const after = await reconciliation(`${range}&orgId=${tenant.orgId}`);
    expect(after.windows[0]).toMatchObject({
      reported: { inputTokens: 2_000, outputTokens: 300 },
      unreported: { inputTokens: 0, outputTokens: 0 },
      unsentMeterEvents: 0,
      flags: [],
    });
    expect(after.balances).toEqual([
      {
        orgId: tenant.orgId,
        cursor: { inputTokens: 2_000, outputTokens: 300 },
        reported: { inputTokens: 2_000, outputTokens: 300 },
        difference: { inputTokens: 0, outputTokens: 0 },
        flagged: false,
      },
    ]);
    expect(after.flagged).toBe(0);
    const flaggedOnly = await reconciliation(`${range}&orgId=${tenant.orgId}&flagged=true`);
    expect(flaggedOnly).toMatchObject({ windows: [], balances: [], flagged: 0 });
  });

  it.each([
    ['to before from', `from=${new Date(hour.getTime() + hourMs).toISOString()}&to=${hour.toISOString()}`],
    ['more than 7 days', `from=2026-01-01T00:00:00Z&to=2026-01-09T00:00:00Z`],
    ['no from', `to=${hour.toISOString()}`],
    ['a bad org id', `${range}&orgId=not-a-uuid`],
  ])('refuses %s with 400', async (_, query) => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/admin/billing/reconciliation?${query}`,
      headers: bearer(operator),
    });
    expect(res.statusCode).toBe(400);
    expect(errorCode(res)).toBe('VALIDATION');
  });
});
