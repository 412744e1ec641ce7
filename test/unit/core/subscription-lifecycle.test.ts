import { describe, expect, it } from 'vitest';
import {
  applyCancel,
  applyDueTimers,
  applyStripeEvent,
  initialState,
  lifecycleTimers,
  nextTimerAt,
  planChangeRejection,
  statusFromStripe,
  type Effect,
} from '../../../core/subscription-lifecycle.js';
import type { StripeEventSignal, SubscriptionState } from '../../../workflows/definitions.js';

const day = 24 * 60 * 60 * 1000;
const start = Date.parse('2026-11-01T00:00:00Z');
const orgId = '11111111-1111-4111-8111-111111111111';

function trialing(): SubscriptionState {
  return {
    ...initialState({ orgId, plan: 'developer', seats: 5, stripeCustomerId: 'cus_1' }, start),
    stripeSubscriptionId: 'sub_1',
  };
}

function active(): SubscriptionState {
  return { ...trialing(), status: 'active', trialEndsAt: null, currentPeriodEnd: null };
}

let ids = 0;
function event(type: string, atMs: number, extra: Partial<StripeEventSignal> = {}): StripeEventSignal {
  return { orgId, eventId: `evt_${++ids}`, type, created: Math.floor(atMs / 1000), ...extra };
}

const mails = (effects: Effect[]) => effects.flatMap((e) => (e.kind === 'mail' ? [e.mail] : []));

describe('subscription lifecycle rules', () => {
  it('starts on the plan’s trial, or active on a plan without one', () => {
    const trial = initialState({ orgId, plan: 'developer', seats: 5, stripeCustomerId: 'cus_1' }, start);
    expect(trial).toMatchObject({
      status: 'trialing',
      trialEndsAt: new Date(start + 14 * day).toISOString(),
    });
    const free = initialState({ orgId, plan: 'free', seats: 3, stripeCustomerId: 'cus_1' }, start);
    expect(free).toMatchObject({ status: 'active', trialEndsAt: null });
    expect(nextTimerAt(free)).toBeNull();
  });

  it('reminds three days before the trial ends, once, then converts at its end', () => {
    const state = trialing();
    expect(nextTimerAt(state)).toBe(start + 14 * day - lifecycleTimers.trialReminderBeforeEndMs);
    const reminded = applyDueTimers(state, start + 11 * day);
    expect(mails(reminded.effects)).toEqual(['trial_ending']);
    expect(applyDueTimers(reminded.state, start + 12 * day).effects).toEqual([]);
    // Stripe's own trial_will_end finds the reminder sent already.
    expect(
      applyStripeEvent(reminded.state, event('customer.subscription.trial_will_end', start + 11 * day))
        .effects,
    ).toEqual([]);
    const converted = applyDueTimers(reminded.state, start + 14 * day);
    expect(converted.state.status).toBe('active');
    expect(converted.effects).toEqual([{ kind: 'entitlements' }]);
  });

  it('opens a grace period on a failed payment: dunning on days 1, 3 and 5, suspended on day 7', () => {
    const failedAt = start + 20 * day;
    const failed = applyStripeEvent(active(), event('invoice.payment_failed', failedAt));
    expect(failed.state).toMatchObject({
      status: 'past_due',
      pastDueSince: new Date(failedAt).toISOString(),
    });
    expect(mails(failed.effects)).toEqual(['payment_failed']);

    let state = failed.state;
    const sent: string[] = [];
    for (const d of [1, 3, 5]) {
      expect(nextTimerAt(state)).toBe(failedAt + d * day);
      const step = applyDueTimers(state, failedAt + d * day);
      sent.push(...mails(step.effects));
      state = step.state;
    }
    expect(sent).toEqual(['dunning', 'dunning', 'dunning']);
    expect(nextTimerAt(state)).toBe(failedAt + lifecycleTimers.graceMs);
    const suspended = applyDueTimers(state, failedAt + 7 * day);
    expect(suspended.state.status).toBe('suspended');
    expect(mails(suspended.effects)).toEqual(['suspended']);

    // A second failure while suspended changes nothing; payment reactivates and closes the grace.
    expect(
      applyStripeEvent(suspended.state, event('invoice.payment_failed', failedAt + 8 * day)).state.status,
    ).toBe('suspended');
    const paid = applyStripeEvent(
      suspended.state,
      event('invoice.paid', failedAt + 9 * day, {
        invoice: { id: 'in_1', status: 'paid', amountDue: 2000, hostedInvoiceUrl: null },
      }),
    );
    expect(paid.state).toMatchObject({ status: 'active', pastDueSince: null, remindersSent: [] });
    expect(mails(paid.effects)).toEqual(['reactivated']);
  });

  it('mails only the latest dunning reminder when several fell due at once', () => {
    const failed = applyStripeEvent(active(), event('invoice.payment_failed', start)).state;
    const late = applyDueTimers(failed, start + 4 * day);
    expect(mails(late.effects)).toEqual(['dunning']);
    expect(late.state.remindersSent).toEqual(['dunning-1', 'dunning-3']);
  });

  it('ignores an event older than the newest applied, a repeated one, and everything once canceled', () => {
    const newer = event('customer.subscription.updated', start + 10_000, {
      subscription: {
        id: 'sub_1',
        status: 'active',
        currentPeriodStart: null,
        currentPeriodEnd: null,
        trialEnd: null,
        cancelAtPeriodEnd: false,
        plan: null,
        seats: null,
      },
    });
    const applied = applyStripeEvent(trialing(), newer).state;
    expect(applied.status).toBe('active');
    expect(applyStripeEvent(applied, event('invoice.payment_failed', start + 5_000)).state).toEqual(applied);
    expect(applyStripeEvent(applied, newer).state).toEqual(applied);
    const sameSecond = applyStripeEvent(applied, event('invoice.payment_failed', start + 10_000));
    expect(sameSecond.state.status).toBe('past_due');

    const canceled = applyStripeEvent(applied, event('customer.subscription.deleted', start + 20_000));
    expect(canceled.state.status).toBe('canceled');
    expect(mails(canceled.effects)).toEqual(['canceled']);
    expect(applyStripeEvent(canceled.state, event('invoice.paid', start + 30_000)).state).toEqual(
      canceled.state,
    );
  });

  it('starts again on a new subscription after a cancellation, with the plan, seats and period it was bought with', () => {
    const canceled = applyStripeEvent(active(), event('customer.subscription.deleted', start + 1_000)).state;
    const resubscribed = (id: string, status: string, at: number) =>
      event('customer.subscription.created', at, {
        subscription: {
          id,
          status,
          currentPeriodStart: Math.floor(at / 1000),
          currentPeriodEnd: Math.floor((at + 30 * day) / 1000),
          trialEnd: null,
          cancelAtPeriodEnd: false,
          plan: 'team',
          seats: 12,
        },
      });
    // The canceled subscription itself, or an unpaid new one, changes nothing.
    expect(applyStripeEvent(canceled, resubscribed('sub_1', 'active', start + 2_000)).state).toEqual(
      canceled,
    );
    expect(applyStripeEvent(canceled, resubscribed('sub_2', 'incomplete', start + 3_000)).state).toEqual(
      canceled,
    );
    const again = applyStripeEvent(canceled, resubscribed('sub_2', 'active', start + 4_000));
    expect(again.state).toMatchObject({
      status: 'active',
      stripeSubscriptionId: 'sub_2',
      plan: 'team',
      seats: 12,
      currentPeriodStart: new Date(start + 4_000).toISOString(),
      currentPeriodEnd: new Date(start + 4_000 + 30 * day).toISOString(),
    });
    expect(mails(again.effects)).toEqual(['reactivated']);
    expect(again.effects).toContainEqual({ kind: 'entitlements' });
  });

  it('does not let the trial’s $0 invoice or another subscription’s events change anything', () => {
    const state = trialing();
    const zero = applyStripeEvent(
      state,
      event('invoice.paid', start + 1_000, {
        invoice: { id: 'in_0', status: 'paid', amountDue: 0, hostedInvoiceUrl: null },
      }),
    );
    expect(zero.state.status).toBe('trialing');
    const other = event('customer.subscription.updated', start + 2_000, {
      subscription: {
        id: 'sub_other',
        status: 'canceled',
        currentPeriodStart: null,
        currentPeriodEnd: null,
        trialEnd: null,
        cancelAtPeriodEnd: false,
        plan: null,
        seats: null,
      },
    });
    expect(applyStripeEvent(state, other).state).toEqual(state);
    expect(applyStripeEvent(state, event('charge.refunded', start + 3_000)).state).toEqual(state);
  });

  it('maps Stripe statuses, unpaid meaning suspended', () => {
    expect(
      ['trialing', 'active', 'past_due', 'unpaid', 'canceled', 'incomplete'].map(statusFromStripe),
    ).toEqual(['trialing', 'active', 'past_due', 'suspended', 'canceled', null]);
  });

  it('cancels at the period end by timer, or now', () => {
    const state = { ...active(), currentPeriodEnd: new Date(start + 30 * day).toISOString() };
    const scheduled = applyCancel(state, true, start);
    expect(scheduled.state).toMatchObject({ status: 'active', cancelAtPeriodEnd: true });
    expect(nextTimerAt(scheduled.state)).toBe(start + 30 * day);
    expect(applyDueTimers(scheduled.state, start + 30 * day).state.status).toBe('canceled');
    expect(applyCancel(state, false, start).state.status).toBe('canceled');
  });

  it('refuses plan changes with a reason the tenant can act on', () => {
    const state = active();
    const change = (plan: string, seats: number, members: number) =>
      planChangeRejection(state, { orgId, plan, seats, members });
    expect(change('platinum', 5, 1)).toBe('unknown plan "platinum"');
    expect(change('team', 2, 3)).toBe("2 seats are fewer than the organization's 3 members");
    expect(change('free', 4, 1)).toBe('the free plan allows at most 3 seats');
    expect(change('team', 0, 0)).toBe('seats must be a whole number of at least 1');
    expect(change('team', 10, 3)).toBeNull();
    expect(
      planChangeRejection({ ...state, status: 'canceled' }, { orgId, plan: 'team', seats: 10, members: 1 }),
    ).toMatch(/canceled/);
  });
});
