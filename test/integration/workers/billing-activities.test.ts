// The billing activities one by one: what reaches Stripe (through the recorder in front of
// stripe-mock) with which idempotency key, and what they write under RLS, however often they run.
import { ApplicationFailure } from '@temporalio/common';
import { eq } from 'drizzle-orm';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createBillingAccountActivities } from '../../../activities/billing-account.js';
import { createStripeActivities } from '../../../activities/stripe/index.js';
import { createDb, createPool, type Db } from '../../../db/client.js';
import { billingAccounts, organizations } from '../../../db/schema/index.js';
import { withTenant } from '../../../db/tenant.js';
import { createStripe } from '../../../runtime/stripe.js';
import { testConfig } from '../../support/config.js';
import { actAsStripeAccount } from '../../../simulator/stripe-account.js';
import { StripeRecorder } from '../../../simulator/stripe-recorder.js';
import { createPendingTenant } from '../../workflows/tenant-fixture.js';

let pool: pg.Pool;
let db: Db;
let recorder: StripeRecorder;
let stripe: ReturnType<typeof createStripeActivities>;

beforeAll(async () => {
  pool = createPool({ url: inject('databaseUrl'), size: 2, applicationName: 'test-billing-activities' });
  db = createDb(pool);
  recorder = actAsStripeAccount(await new StripeRecorder(inject('stripeUrl')).start());
  stripe = createStripeActivities({ stripe: createStripe(testConfig({ STRIPE_API_URL: recorder.url })) });
});

afterAll(async () => {
  await recorder?.stop();
  await pool?.end();
});

describe('Stripe activities', () => {
  it('create the customer and the trial subscription with the org, the plan’s prices and the step’s key', async () => {
    const orgId = '22222222-2222-4222-8222-222222222222';
    const { customerId } = await stripe.createStripeCustomer({
      orgId,
      idempotencyKey: `onboarding/${orgId}/stripe-customer`,
      orgName: 'Keyed Inc',
      ownerEmail: 'owner@keyed.test',
    });
    expect(customerId).toMatch(/^cus_/);
    const [customer] = recorder
      .calls('POST', '/v1/customers')
      .filter((c) => c.params['metadata[orgId]'] === orgId);
    expect(customer).toMatchObject({
      idempotencyKey: `onboarding/${orgId}/stripe-customer`,
      params: { name: 'Keyed Inc', email: 'owner@keyed.test' },
    });

    await stripe.createTrialSubscription({
      orgId,
      idempotencyKey: `subscription/${orgId}/create-subscription`,
      customerId: customerId!,
      plan: 'team',
      seats: 7,
    });
    const [created] = recorder
      .calls('POST', '/v1/subscriptions')
      .filter((c) => c.params['metadata[orgId]'] === orgId);
    expect(created?.idempotencyKey).toBe(`subscription/${orgId}/create-subscription`);
    expect(created?.params).toMatchObject({
      customer: customerId,
      trial_period_days: '14',
      'items[0][price]': 'price_vlinders_team_flat',
      'items[0][quantity]': '7',
      'items[1][price]': 'price_vlinders_team_input_tokens',
      'items[2][price]': 'price_vlinders_team_output_tokens',
    });
  });

  it('cancel at the period end, or now', async () => {
    const input = { orgId: '33333333-3333-4333-8333-333333333333', subscriptionId: 'sub_cancel1' };
    await stripe.cancelSubscription({ ...input, idempotencyKey: 'k/at-end', atPeriodEnd: true });
    expect(recorder.calls('POST', '/v1/subscriptions/sub_cancel1')).toEqual([
      expect.objectContaining({ idempotencyKey: 'k/at-end', params: { cancel_at_period_end: 'true' } }),
    ]);
    await stripe.cancelSubscription({ ...input, idempotencyKey: 'k/now', atPeriodEnd: false });
    expect(recorder.calls('DELETE', '/v1/subscriptions/sub_cancel1').map((c) => c.idempotencyKey)).toEqual([
      'k/now',
    ]);
  });

  it('refuse for good when a plan price is missing from the Stripe account', async () => {
    // stripe-mock itself: its price list has no lookup keys, like an account without the catalog.
    const bare = createStripeActivities({ stripe: createStripe(testConfig()) });
    const err = await bare
      .createTrialSubscription({
        orgId: 'o',
        idempotencyKey: 'k',
        customerId: 'cus_1',
        plan: 'developer',
        seats: 1,
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({
      nonRetryable: true,
      message: 'Stripe has no active price with lookup key vlinders_developer_flat',
    });
  });

  it('treat a customer that is gone already as deleted, and open no customer when billing is off', async () => {
    recorder.intercept = (request) =>
      request.method === 'DELETE' && request.path === '/v1/customers/cus_gone'
        ? {
            status: 404,
            body: {
              error: { type: 'invalid_request_error', code: 'resource_missing', message: 'No such customer' },
            },
          }
        : undefined;
    try {
      await expect(stripe.deleteStripeCustomer({ orgId: 'o', customerId: 'cus_gone' })).resolves.toEqual({
        orgId: 'o',
      });
    } finally {
      actAsStripeAccount(recorder);
    }
    const off = createStripeActivities({ stripe: undefined });
    const input = { orgId: 'o', idempotencyKey: 'k', orgName: 'n', ownerEmail: 'e@x.test' };
    await expect(off.createStripeCustomer(input)).resolves.toEqual({ orgId: 'o', customerId: null });
  });
});

describe('billing account activities', () => {
  it('open the account once on the org’s plan and write the entitlements the gateway reads', async () => {
    const billing = createBillingAccountActivities({ db });
    const { orgId } = await createPendingTenant(db, 'Entitled BV');
    await withTenant(db, orgId, (tx) =>
      tx.update(organizations).set({ plan: 'team' }).where(eq(organizations.id, orgId)),
    );
    const first = await billing.openBillingAccount({ orgId, stripeCustomerId: `cus_${orgId.slice(0, 8)}` });
    const again = await billing.openBillingAccount({ orgId, stripeCustomerId: 'cus_other' });
    expect(first).toEqual({
      orgId,
      stripeCustomerId: `cus_${orgId.slice(0, 8)}`,
      plan: 'team',
      seats: 50,
      status: 'trialing',
    });
    expect(again).toEqual(first);

    await billing.applyEntitlements({
      orgId,
      status: 'suspended',
      plan: 'developer',
      seats: 4,
      stripeCustomerId: first.stripeCustomerId,
      stripeSubscriptionId: `sub_${orgId.slice(0, 8)}`,
      trialEndsAt: null,
      currentPeriodStart: '2026-12-01T00:00:00.000Z',
      currentPeriodEnd: '2026-12-31T00:00:00.000Z',
      cancelAtPeriodEnd: false,
      pastDueSince: '2026-12-01T00:00:00.000Z',
      lastEventCreated: 1_796_000_000,
      lastEventIds: ['evt_1'],
      remindersSent: [],
      operatorSuspension: null,
    });
    const [account] = await withTenant(db, orgId, (tx) =>
      tx.select().from(billingAccounts).where(eq(billingAccounts.orgId, orgId)),
    );
    const [org] = await withTenant(db, orgId, (tx) =>
      tx.select().from(organizations).where(eq(organizations.id, orgId)),
    );
    expect(account).toMatchObject({ status: 'suspended', plan: 'developer', seats: 4 });
    expect(account?.statusEventCreated).toEqual(new Date(1_796_000_000_000));
    expect(org).toMatchObject({ plan: 'developer', subscriptionStatus: 'suspended' });

    await billing.closeBillingAccount({ orgId });
    expect(await withTenant(db, orgId, (tx) => tx.select().from(billingAccounts))).toEqual([]);
  });
});
