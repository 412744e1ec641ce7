// Activities on Stripe: the tenant's customer and its subscription. Every mutating call carries the
// idempotency key the workflow derived from its id and step, so a retried activity (or the SDK's own
// network retry) is one change at Stripe. Prices are found by the plan's lookup keys, so the
// catalog holds no account-specific ids.
import { ApplicationFailure } from '@temporalio/common';
import { plan, type PlanName } from '../../core/plans.js';
import type { Stripe } from '../../runtime/stripe.js';

export interface CreateCustomerInput {
  orgId: string;
  idempotencyKey: string;
  orgName: string;
  ownerEmail: string;
}

export interface SubscriptionPlanInput {
  orgId: string;
  idempotencyKey: string;
  plan: PlanName;
  seats: number;
}

export interface CreateSubscriptionInput extends SubscriptionPlanInput {
  customerId: string;
}

export interface ChangeSubscriptionInput extends SubscriptionPlanInput {
  subscriptionId: string;
}

export interface CancelSubscriptionInput {
  orgId: string;
  idempotencyKey: string;
  subscriptionId: string;
  atPeriodEnd: boolean;
}

/** The subscription items of a plan: the flat fee per seat and the two metered token prices. */
async function planItems(stripe: Stripe, planName: PlanName, seats: number) {
  const { prices } = plan(planName);
  const keys = [prices.flat, prices.inputTokens, prices.outputTokens];
  const found = await stripe.prices.list({ lookup_keys: keys, active: true, limit: keys.length });
  const byKey = new Map(found.data.map((p) => [p.lookup_key, p.id]));
  const id = (key: string) => {
    const price = byKey.get(key);
    if (!price)
      throw ApplicationFailure.create({
        type: 'NOT_FOUND',
        nonRetryable: true,
        message: `Stripe has no active price with lookup key ${key}`,
      });
    return price;
  };
  return [
    { price: id(prices.flat), quantity: seats },
    { price: id(prices.inputTokens) },
    { price: id(prices.outputTokens) },
  ];
}

/**
 * Without a Stripe client (STRIPE_SECRET_KEY unset, e.g. a local `up` without stripe-mock) billing
 * is off: onboarding creates no customer and starts no subscription; the other calls refuse.
 */
export function createStripeActivities({ stripe }: { stripe: Stripe | undefined }) {
  const client = (): Stripe => {
    if (stripe) return stripe;
    throw ApplicationFailure.create({
      type: 'BILLING_NOT_CONFIGURED',
      nonRetryable: true,
      message: 'billing is not configured: STRIPE_SECRET_KEY is not set',
    });
  };
  return {
    /** The org's Stripe customer; null when billing is off. */
    async createStripeCustomer(
      input: CreateCustomerInput,
    ): Promise<{ orgId: string; customerId: string | null }> {
      if (!stripe) return { orgId: input.orgId, customerId: null };
      const customer = await stripe.customers.create(
        { name: input.orgName, email: input.ownerEmail, metadata: { orgId: input.orgId } },
        { idempotencyKey: input.idempotencyKey },
      );
      return { orgId: input.orgId, customerId: customer.id };
    },

    /** Compensation: deletes the customer; one that is gone already counts as deleted. */
    async deleteStripeCustomer({
      orgId,
      customerId,
    }: {
      orgId: string;
      customerId: string;
    }): Promise<{ orgId: string }> {
      try {
        await client().customers.del(customerId);
      } catch (err) {
        if (!(err instanceof Error && 'code' in err && err.code === 'resource_missing')) throw err;
      }
      return { orgId };
    },

    async createTrialSubscription(
      input: CreateSubscriptionInput,
    ): Promise<{ orgId: string; subscriptionId: string }> {
      const stripe = client();
      const trialDays = plan(input.plan).trialDays;
      const subscription = await stripe.subscriptions.create(
        {
          customer: input.customerId,
          items: await planItems(stripe, input.plan, input.seats),
          ...(trialDays > 0 && { trial_period_days: trialDays }),
          metadata: { orgId: input.orgId, plan: input.plan },
        },
        { idempotencyKey: input.idempotencyKey },
      );
      return { orgId: input.orgId, subscriptionId: subscription.id };
    },

    /** Replaces the subscription's items with the new plan's (prorated by Stripe). */
    async changeSubscriptionPlan(input: ChangeSubscriptionInput): Promise<{ orgId: string }> {
      const stripe = client();
      const current = await stripe.subscriptions.retrieve(input.subscriptionId);
      const removed = current.items.data.map((item) => ({ id: item.id, deleted: true }));
      await stripe.subscriptions.update(
        input.subscriptionId,
        {
          items: [...removed, ...(await planItems(stripe, input.plan, input.seats))],
          proration_behavior: 'create_prorations',
          metadata: { orgId: input.orgId, plan: input.plan },
        },
        { idempotencyKey: input.idempotencyKey },
      );
      return { orgId: input.orgId };
    },

    /** At period end: Stripe keeps serving the paid period, then deletes it; now: deleted at once, with its final invoice. */
    async cancelSubscription(input: CancelSubscriptionInput): Promise<{ orgId: string }> {
      const stripe = client();
      if (input.atPeriodEnd) {
        await stripe.subscriptions.update(
          input.subscriptionId,
          { cancel_at_period_end: true },
          { idempotencyKey: input.idempotencyKey },
        );
      } else {
        // The usage metered since the last invoice is invoiced now, not dropped.
        await stripe.subscriptions.cancel(
          input.subscriptionId,
          { invoice_now: true, prorate: true },
          { idempotencyKey: input.idempotencyKey },
        );
      }
      return { orgId: input.orgId };
    },
  };
}
