// POST /webhooks/stripe against the real Postgres and Temporal, with NO worker running: a valid
// event is recorded and lands as a signal in subscription/<orgId> (started by signalWithStart), a
// bad or stale signature changes nothing, a redelivery does nothing, events are forwarded with
// Stripe's `created` whatever their order, and other event types or customers are ignored.
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/common';
import Stripe from 'stripe';
import { beforeAll, describe, expect, it } from 'vitest';
import { taskQueues, workflowIds } from '../../../temporal.config.js';
import type { StripeEventSignal, SubscriptionInput } from '../../../workflows/definitions.js';
import { buildTestApp, useTestApp } from '../../support/app.js';
import { stripeWebhookSecret } from '../../support/config.js';
import { workerNamespaces } from '../../support/global-setup.js';
import { seedActiveOrg, signUp, useAdminPool, type TestUser } from '../api/helpers.js';
import { deliver, seedBillingAccount, stripeEvent, workflowMessages, type AccountSeed } from './helpers.js';

// A namespace no worker polls: the workflows started here stay as the route left them.
const t = useTestApp({ TEMPORAL_NAMESPACE: workerNamespaces.billingApi });
const admin = useAdminPool();
let owner: TestUser;

beforeAll(async () => {
  owner = await signUp(t.app, 'webhooks');
});

interface Tenant {
  orgId: string;
  customerId: string;
}

async function tenant(seed: AccountSeed = {}): Promise<Tenant> {
  const orgId = await seedActiveOrg(admin, owner, 'Webhook org');
  const customerId = await seedBillingAccount(admin, orgId, {
    plan: 'team',
    seats: 7,
    status: 'trialing',
    ...seed,
  });
  return { orgId, customerId };
}

const now = () => Math.floor(Date.now() / 1000);

function subscriptionObject(tn: Tenant, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'sub_123',
    object: 'subscription',
    customer: tn.customerId,
    status: 'active',
    cancel_at_period_end: false,
    trial_end: null,
    metadata: { orgId: tn.orgId },
    // Since API 2025-03 the period lives on the items.
    items: { object: 'list', data: [{ id: 'si_1', current_period_end: 1_900_000_000 }] },
    // What the lifecycle must never see.
    default_payment_method: { id: 'pm_1', card: { last4: '4242' }, billing_details: { address: 'Street 1' } },
    ...fields,
  };
}

async function recorded(id: string): Promise<boolean> {
  const { rowCount } = await admin.query('SELECT 1 FROM stripe_webhook_events WHERE id = $1', [id]);
  return rowCount === 1;
}

async function workflowExists(orgId: string): Promise<boolean> {
  try {
    await t.app.temporal.workflow.getHandle(workflowIds.subscription(orgId)).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

async function stripeSignals(orgId: string): Promise<StripeEventSignal[]> {
  const { signals } = await workflowMessages(t.app.temporal, workflowIds.subscription(orgId));
  return signals.filter((s) => s.name === 'stripeEvent').map((s) => s.args[0] as StripeEventSignal);
}

describe('a valid event', () => {
  it('resumes a lifecycle that is not running from the account, without opening a second trial', async () => {
    const periodStart = new Date('2026-11-01T00:00:00Z');
    const tn = await tenant({
      stripeSubscriptionId: 'sub_existing',
      status: 'past_due',
      currentPeriodStart: periodStart,
    });
    const event = stripeEvent(
      'invoice.paid',
      { id: 'in_1', object: 'invoice', customer: tn.customerId },
      now(),
    );
    expect((await deliver(t.app, event)).statusCode).toBe(200);
    const { input } = await workflowMessages(t.app.temporal, workflowIds.subscription(tn.orgId));
    expect(input).toEqual([
      expect.objectContaining({
        orgId: tn.orgId,
        state: expect.objectContaining({
          status: 'past_due',
          stripeSubscriptionId: 'sub_existing',
          currentPeriodStart: periodStart.toISOString(),
          pastDueSince: expect.any(String),
        }) as unknown,
      }),
    ]);
  });

  it('is recorded and reaches subscription/<orgId> as a signal although no worker runs', async () => {
    // Onboarding opened the account; the trial subscription is not created yet.
    const tn = await tenant({ stripeSubscriptionId: null });
    const event = stripeEvent('customer.subscription.updated', subscriptionObject(tn), now());
    const res = await deliver(t.app, event);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ received: true });
    expect(await recorded(event.id)).toBe(true);

    const handle = t.app.temporal.workflow.getHandle(workflowIds.subscription(tn.orgId));
    const description = await handle.describe();
    expect(description).toMatchObject({
      type: 'subscription',
      taskQueue: taskQueues.tenants,
      status: { name: 'RUNNING' },
    });
    const { input, signals } = await workflowMessages(t.app.temporal, handle.workflowId);
    // Started from the billing account, as onboarding would have.
    expect(input).toEqual([
      {
        orgId: tn.orgId,
        plan: 'team',
        seats: 7,
        stripeCustomerId: tn.customerId,
      } satisfies SubscriptionInput,
    ]);
    expect(signals).toEqual([
      {
        name: 'stripeEvent',
        args: [
          {
            orgId: tn.orgId,
            eventId: event.id,
            type: 'customer.subscription.updated',
            created: event.created,
            subscription: {
              id: 'sub_123',
              status: 'active',
              currentPeriodStart: null,
              currentPeriodEnd: 1_900_000_000,
              trialEnd: null,
              cancelAtPeriodEnd: false,
              plan: null,
              seats: null,
            },
          } satisfies StripeEventSignal,
        ],
      },
    ]);
    // No card or address data in the history (the signal above is the whole payload).
    expect(JSON.stringify(signals)).not.toContain('4242');
  });

  it('finds the tenant by the customer id when the object carries no orgId (an invoice)', async () => {
    const tn = await tenant();
    const invoice = {
      id: 'in_1',
      object: 'invoice',
      customer: tn.customerId,
      status: 'open',
      amount_due: 4_900,
      hosted_invoice_url: 'https://invoice.stripe.com/i/1',
      metadata: {},
    };
    const event = stripeEvent('invoice.payment_failed', invoice, now());
    expect((await deliver(t.app, event)).json()).toEqual({ received: true });
    expect(await stripeSignals(tn.orgId)).toEqual([
      {
        orgId: tn.orgId,
        eventId: event.id,
        type: 'invoice.payment_failed',
        created: event.created,
        invoice: {
          id: 'in_1',
          status: 'open',
          amountDue: 4_900,
          hostedInvoiceUrl: 'https://invoice.stripe.com/i/1',
        },
      },
    ]);
  });

  it("finds it by the subscription's metadata on an invoice, in either API version's place", async () => {
    const tn = await tenant();
    const invoice = (place: Record<string, unknown>) => ({
      id: `in_${randomUUID().slice(0, 6)}`,
      object: 'invoice',
      // An expanded customer, to make sure the id is read from it.
      customer: { id: tn.customerId, object: 'customer' },
      status: 'paid',
      amount_due: 0,
      hosted_invoice_url: null,
      ...place,
    });
    const newer = stripeEvent(
      'invoice.paid',
      invoice({
        parent: { type: 'subscription_details', subscription_details: { metadata: { orgId: tn.orgId } } },
      }),
      now(),
    );
    const older = stripeEvent(
      'invoice.payment_succeeded',
      invoice({ subscription_details: { metadata: { orgId: tn.orgId } } }),
      now(),
    );
    expect((await deliver(t.app, newer)).json()).toEqual({ received: true });
    expect((await deliver(t.app, older)).json()).toEqual({ received: true });
    expect((await stripeSignals(tn.orgId)).map((s) => s.eventId)).toEqual([newer.id, older.id]);
  });
});

describe('a refused delivery changes nothing', () => {
  it.each([
    ['a signature made with another secret', { secret: 'whsec_someoneElse' }, 'bad_signature'],
    [
      'a forged signature',
      { signature: `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}` },
      'bad_signature',
    ],
    ['no signature', { signature: null }, 'missing_signature'],
    [
      'a timestamp older than the tolerance (a replay)',
      { timestamp: Math.floor(Date.now() / 1000) - 301 },
      'stale_timestamp',
    ],
  ])('%s: 400', async (_name, delivery, reason) => {
    const tn = await tenant();
    const event = stripeEvent('customer.subscription.updated', subscriptionObject(tn), now());
    const res = await deliver(t.app, event, delivery);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'VALIDATION', details: { reason } } });
    expect(await recorded(event.id)).toBe(false);
    expect(await workflowExists(tn.orgId)).toBe(false);
  });

  it('a body changed after signing: 400', async () => {
    const tn = await tenant();
    const event = stripeEvent('customer.subscription.updated', subscriptionObject(tn), now());
    const header = Stripe.webhooks.generateTestHeaderString({
      payload: JSON.stringify(event),
      secret: stripeWebhookSecret,
    });
    const tampered = { ...event, data: { object: subscriptionObject(tn, { status: 'canceled' }) } };
    const res = await deliver(t.app, tampered, { signature: header });
    expect(res.statusCode).toBe(400);
    expect(await recorded(event.id)).toBe(false);
  });
});

describe('redeliveries and order', () => {
  it('a duplicate answers 200 and signals nothing again', async () => {
    const tn = await tenant();
    const event = stripeEvent(
      'invoice.payment_failed',
      { id: 'in_d', object: 'invoice', customer: tn.customerId },
      now(),
    );
    expect((await deliver(t.app, event)).json()).toEqual({ received: true });
    const again = await deliver(t.app, event);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ received: true, duplicate: true });
    expect((await stripeSignals(tn.orgId)).map((s) => s.eventId)).toEqual([event.id]);
  });

  it('forwards events with their Stripe `created`, newest first or not (the workflow applies by it)', async () => {
    const tn = await tenant();
    const created = now() - 60;
    const older = stripeEvent(
      'customer.subscription.updated',
      subscriptionObject(tn, { status: 'past_due' }),
      created,
    );
    const newer = stripeEvent(
      'customer.subscription.updated',
      subscriptionObject(tn, { status: 'active' }),
      created + 30,
    );
    expect((await deliver(t.app, newer)).statusCode).toBe(200);
    expect((await deliver(t.app, older)).statusCode).toBe(200);
    expect(
      (await stripeSignals(tn.orgId)).map((s) => ({
        id: s.eventId,
        created: s.created,
        status: s.subscription?.status,
      })),
    ).toEqual([
      { id: newer.id, created: created + 30, status: 'active' },
      { id: older.id, created, status: 'past_due' },
    ]);
  });
});

describe('events the lifecycle does not take', () => {
  it('an unknown event type: 200 ignored, recorded, no workflow', async () => {
    const tn = await tenant();
    const event = stripeEvent(
      'charge.refunded',
      { id: 'ch_1', object: 'charge', customer: tn.customerId },
      now(),
    );
    const res = await deliver(t.app, event);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ received: true, ignored: true });
    expect(await recorded(event.id)).toBe(true);
    expect(await workflowExists(tn.orgId)).toBe(false);
  });

  it("another platform's customer: 200 ignored, no workflow", async () => {
    const stranger = { orgId: randomUUID(), customerId: 'cus_notOurs' };
    const event = stripeEvent('customer.subscription.updated', subscriptionObject(stranger), now());
    const res = await deliver(t.app, event);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ received: true, ignored: true });
    expect(await workflowExists(stranger.orgId)).toBe(false);
  });

  it('an orgId in the metadata whose account has another customer: ignored', async () => {
    const tn = await tenant();
    const other = await tenant();
    const event = stripeEvent(
      'customer.subscription.updated',
      subscriptionObject({ orgId: tn.orgId, customerId: other.customerId }),
      now(),
    );
    expect((await deliver(t.app, event)).json()).toEqual({ received: true, ignored: true });
    expect(await workflowExists(tn.orgId)).toBe(false);
    expect(await workflowExists(other.orgId)).toBe(false);
  });
});

describe('when the platform cannot take the event', () => {
  it('answers 503 without a webhook secret configured', async () => {
    const bare = await buildTestApp({
      TEMPORAL_NAMESPACE: workerNamespaces.billingApi,
      STRIPE_WEBHOOK_SECRET: '',
    });
    try {
      const tn = await tenant();
      const event = stripeEvent('customer.subscription.updated', subscriptionObject(tn), now());
      const res = await deliver(bare.app, event);
      expect(res.statusCode).toBe(503);
      expect(await recorded(event.id)).toBe(false);
    } finally {
      await bare.close();
    }
  });

  it('answers 503 and records nothing when Temporal refuses the signal, so the retry is taken', async () => {
    const broken = await buildTestApp({ TEMPORAL_NAMESPACE: `missing-${randomUUID().slice(0, 8)}` });
    try {
      const tn = await tenant();
      const event = stripeEvent('customer.subscription.updated', subscriptionObject(tn), now());
      const res = await deliver(broken.app, event);
      expect(res.statusCode).toBe(503);
      expect(await recorded(event.id)).toBe(false);
      // Stripe retries: the event is taken then, not answered as a duplicate.
      expect((await deliver(t.app, event)).json()).toEqual({ received: true });
      expect((await stripeSignals(tn.orgId)).map((s) => s.eventId)).toEqual([event.id]);
    } finally {
      await broken.close();
    }
  });
});
