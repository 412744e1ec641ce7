// What the webhook route reads from a Stripe event, across the API versions' shapes.
import { describe, expect, it } from 'vitest';
import type { Stripe } from '../../../../runtime/stripe.js';
import { eventTenant, isWellFormedEvent, toSignal } from '../../../../api/billing/webhooks/stripe-events.js';

const orgId = '4a7b0f4e-1d2c-4f7a-9b1e-2c3d4e5f6a7b';

function event(type: string, object: Record<string, unknown>): Stripe.Event {
  return {
    id: 'evt_1',
    object: 'event',
    type,
    created: 1_800_000_000,
    data: { object },
  } as unknown as Stripe.Event;
}

describe('eventTenant', () => {
  it('reads the orgId of the metadata, on the object or where an invoice keeps its subscription metadata', () => {
    for (const place of [
      { metadata: { orgId } },
      { parent: { subscription_details: { metadata: { orgId } } } },
      { subscription_details: { metadata: { orgId: orgId.toUpperCase() } } },
    ])
      expect(eventTenant(event('invoice.paid', { customer: 'cus_1', ...place }))).toEqual({
        orgId,
        customerId: 'cus_1',
      });
  });

  it('ignores an orgId that is not a UUID, and reads an expanded customer', () => {
    expect(
      eventTenant(event('invoice.paid', { customer: { id: 'cus_2' }, metadata: { orgId: "x' OR 1=1" } })),
    ).toEqual({ orgId: null, customerId: 'cus_2' });
  });
});

describe('toSignal', () => {
  it("takes a subscription's period, seats and plan from its items (API 2025-03 and later) or itself (before)", () => {
    const items = {
      data: [
        { current_period_start: 1_797_600_000, current_period_end: 1_800_100_000, quantity: 4 },
        { current_period_start: 1_797_500_000, current_period_end: 1_800_200_000 },
      ],
    };
    expect(
      toSignal(
        event('customer.subscription.updated', {
          id: 'sub_1',
          status: 'active',
          items,
          metadata: { orgId, plan: 'team' },
        }),
        orgId,
      ).subscription,
    ).toEqual({
      id: 'sub_1',
      status: 'active',
      currentPeriodStart: 1_797_500_000,
      currentPeriodEnd: 1_800_200_000,
      trialEnd: null,
      cancelAtPeriodEnd: false,
      plan: 'team',
      seats: 4,
    });
    expect(
      toSignal(
        event('customer.subscription.updated', {
          id: 'sub_1',
          status: 'trialing',
          current_period_start: 1_797_000_000,
          current_period_end: 1_800_300_000,
          trial_end: 1_800_300_000,
          cancel_at_period_end: true,
        }),
        orgId,
      ).subscription,
    ).toEqual({
      id: 'sub_1',
      status: 'trialing',
      currentPeriodStart: 1_797_000_000,
      currentPeriodEnd: 1_800_300_000,
      trialEnd: 1_800_300_000,
      cancelAtPeriodEnd: true,
      plan: null,
      seats: null,
    });
  });

  it('keeps only the lifecycle fields of an invoice', () => {
    const signal = toSignal(
      event('invoice.payment_failed', {
        id: 'in_1',
        status: 'open',
        amount_due: 1200,
        hosted_invoice_url: 'https://invoice.stripe.com/i/1',
        customer_address: { line1: 'Street 1' },
        payment_settings: { card: { last4: '4242' } },
      }),
      orgId,
    );
    expect(signal).toEqual({
      orgId,
      eventId: 'evt_1',
      type: 'invoice.payment_failed',
      created: 1_800_000_000,
      invoice: {
        id: 'in_1',
        status: 'open',
        amountDue: 1200,
        hostedInvoiceUrl: 'https://invoice.stripe.com/i/1',
      },
    });
  });
});

describe('isWellFormedEvent', () => {
  it('refuses an event without an object, or with an id or type unfit to store', () => {
    expect(isWellFormedEvent(event('invoice.paid', {}))).toBe(true);
    expect(isWellFormedEvent({ ...event('invoice.paid', {}), data: {} } as Stripe.Event)).toBe(false);
    expect(isWellFormedEvent({ ...event('invoice.paid', {}), id: 'evt\u0000' })).toBe(false);
    expect(isWellFormedEvent({ ...event('Invoice Paid', {}) })).toBe(false);
  });
});
