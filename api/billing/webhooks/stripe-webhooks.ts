// POST /webhooks/stripe after the signature was verified: records the event id and hands the event
// to the tenant's subscription workflow in one database transaction. The insert comes first, so a
// redelivery of a taken event finds its id and does nothing; the transaction commits only once the
// signal is in Temporal, so an event the workflow never got is not taken for a duplicate when
// Stripe retries it. signalWithStart starts the workflow when it is not running: no event is lost
// while no worker runs, and the route never waits for the workflow itself.
import type { Client } from '@temporalio/client';
import { eq, sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../../../db/client.js';
import { billingAccounts, stripeWebhookEvents } from '../../../db/schema/index.js';
import { withTenant } from '../../../db/tenant.js';
import type { Stripe } from '../../../runtime/stripe.js';
import { taskQueues, workflowIds } from '../../../temporal.config.js';
import {
  subscriptionSignals,
  workflowTypes,
  type StripeEventSignal,
  type SubscriptionInput,
  type SubscriptionState,
} from '../../../workflows/definitions.js';
import { AppError } from '../../errors.js';
import { tenantSearchAttributes } from '../../control/orgs/onboarding.js';
import { eventTenant, lifecycleEventTypes, toSignal, type EventTenant } from './stripe-events.js';

const signalDeadlineMs = 10_000;

/** The answer to Stripe: any 2xx stops its retries. */
export interface WebhookReceipt {
  received: true;
  /** The event id was taken before: nothing was done again. */
  duplicate?: true;
  /** Not an event the lifecycle acts on, or not one of our tenants'. */
  ignored?: true;
}

const accountColumns = {
  orgId: billingAccounts.orgId,
  stripeCustomerId: billingAccounts.stripeCustomerId,
  stripeSubscriptionId: billingAccounts.stripeSubscriptionId,
  plan: billingAccounts.plan,
  seats: billingAccounts.seats,
  status: billingAccounts.status,
  trialEndsAt: billingAccounts.trialEndsAt,
  currentPeriodStart: billingAccounts.currentPeriodStart,
  currentPeriodEnd: billingAccounts.currentPeriodEnd,
  cancelAtPeriodEnd: billingAccounts.cancelAtPeriodEnd,
  statusEventCreated: billingAccounts.statusEventCreated,
  operatorSuspendedAt: billingAccounts.operatorSuspendedAt,
  operatorSuspendedBy: billingAccounts.operatorSuspendedBy,
  operatorSuspensionReason: billingAccounts.operatorSuspensionReason,
  updatedAt: billingAccounts.updatedAt,
};

type BillingAccount = Pick<typeof billingAccounts.$inferSelect, keyof typeof accountColumns>;

/**
 * The tenant's billing account: by the orgId of our metadata (its customer must then be the
 * event's), else by the event's customer id through the read-only lookup policy.
 */
async function findAccount(db: Db, tenant: EventTenant): Promise<BillingAccount | undefined> {
  if (tenant.orgId) {
    const orgId = tenant.orgId;
    const [account] = await withTenant(db, orgId, (tx) =>
      tx.select(accountColumns).from(billingAccounts).where(eq(billingAccounts.orgId, orgId)),
    );
    if (account && (tenant.customerId === null || account.stripeCustomerId === tenant.customerId))
      return account;
    return undefined;
  }
  if (!tenant.customerId) return undefined;
  const customerId = tenant.customerId;
  const [account] = await db.transaction(async (tx) => {
    await tx.execute(sql`SELECT set_config('app.stripe_customer_id', ${customerId}, true)`);
    return tx
      .select(accountColumns)
      .from(billingAccounts)
      .where(eq(billingAccounts.stripeCustomerId, customerId));
  });
  return account;
}

const iso = (date: Date | null) => date?.toISOString() ?? null;

/**
 * What signalWithStart starts the workflow with when it is not running. Before the first Stripe
 * subscription exists that is a new lifecycle; after it (the workflow was terminated) the lifecycle
 * resumes from the account, so no second trial subscription is opened, and an operator's
 * suspension holds.
 */
function subscriptionInput(account: BillingAccount): SubscriptionInput {
  const input = {
    orgId: account.orgId,
    plan: account.plan,
    seats: account.seats,
    stripeCustomerId: account.stripeCustomerId,
  };
  if (account.stripeSubscriptionId === null) return input;
  return {
    ...input,
    state: {
      ...input,
      status: account.status,
      stripeSubscriptionId: account.stripeSubscriptionId,
      trialEndsAt: iso(account.trialEndsAt),
      currentPeriodStart: iso(account.currentPeriodStart),
      currentPeriodEnd: iso(account.currentPeriodEnd),
      cancelAtPeriodEnd: account.cancelAtPeriodEnd,
      // The grace period counts from the account's last change, its move to past_due.
      pastDueSince: account.status === 'past_due' ? iso(account.updatedAt) : null,
      lastEventCreated: account.statusEventCreated
        ? Math.floor(account.statusEventCreated.getTime() / 1000)
        : 0,
      lastEventIds: [],
      remindersSent: [],
      operatorSuspension: operatorSuspension(account),
    },
  };
}

function operatorSuspension(account: BillingAccount): SubscriptionState['operatorSuspension'] {
  const { operatorSuspendedAt: since, operatorSuspendedBy: by, operatorSuspensionReason: reason } = account;
  return since && by && reason !== null ? { since: since.toISOString(), by, reason } : null;
}

export async function takeStripeEvent(
  deps: { db: Db; temporal: Client; log: FastifyBaseLogger },
  event: Stripe.Event,
): Promise<WebhookReceipt> {
  const { db, temporal, log } = deps;
  const handled = lifecycleEventTypes.has(event.type);
  let account: BillingAccount | undefined;
  if (handled) {
    const tenant = eventTenant(event);
    account = await findAccount(db, tenant);
    // Not recorded: should the account appear later (an event racing onboarding), a redelivery is taken.
    if (!account) {
      log.warn(
        { eventId: event.id, type: event.type, customerId: tenant.customerId, orgId: tenant.orgId },
        'stripe webhook for no known billing account: ignored',
      );
      return { received: true, ignored: true };
    }
  }
  return db.transaction(async (tx) => {
    const inserted = await tx
      .insert(stripeWebhookEvents)
      .values({ id: event.id, type: event.type, stripeCreated: new Date(event.created * 1000) })
      .onConflictDoNothing()
      .returning({ id: stripeWebhookEvents.id });
    if (inserted.length === 0) return { received: true, duplicate: true } as const;
    if (!account) return { received: true, ignored: true } as const;
    const signal: StripeEventSignal = toSignal(event, account.orgId);
    try {
      // Bounded: Stripe waits for the answer, and a transaction holds a connection meanwhile.
      await temporal.withDeadline(Date.now() + signalDeadlineMs, () =>
        temporal.workflow.signalWithStart(workflowTypes.subscription, {
          workflowId: workflowIds.subscription(account.orgId),
          taskQueue: taskQueues.tenants,
          args: [subscriptionInput(account)],
          signal: subscriptionSignals.stripeEvent,
          signalArgs: [signal],
          typedSearchAttributes: tenantSearchAttributes(account.orgId),
        }),
      );
    } catch (err) {
      // Rolled back: Stripe retries the event later and it is taken then.
      log.error({ err, eventId: event.id }, 'stripe webhook: could not signal the subscription workflow');
      throw new AppError('UNAVAILABLE', 'The event could not be handed to the subscription workflow.');
    }
    return { received: true } as const;
  });
}
