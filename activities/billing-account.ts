// Activities on the tenant's billing rows: the billing account onboarding opens, and the
// entitlements the subscription workflow writes (the account, the org's plan and subscription
// status, which the gateway enforces). Each is idempotent and runs under the tenant's RLS scope.
import { ApplicationFailure } from '@temporalio/common';
import { eq } from 'drizzle-orm';
import { enforcedStatus, type SubscriptionStatus } from '../core/billing.js';
import { plan, type PlanName } from '../core/plans.js';
import type { Db } from '../db/client.js';
import { billingAccounts, organizations } from '../db/schema/index.js';
import { withTenant } from '../db/tenant.js';
import type { SubscriptionState } from '../core/subscription.js';

export interface OpenBillingAccountInput {
  orgId: string;
  stripeCustomerId: string;
}

export interface BillingAccountRef {
  orgId: string;
  stripeCustomerId: string;
  plan: PlanName;
  seats: number;
  status: SubscriptionStatus;
}

const date = (value: string | null) => (value === null ? null : new Date(value));

export function createBillingAccountActivities({ db }: { db: Db }) {
  return {
    /**
     * Opens the billing account on the org's plan with the plan's seats, on trial when the plan has
     * one; a second call returns the account the first one opened.
     */
    async openBillingAccount({
      orgId,
      stripeCustomerId,
    }: OpenBillingAccountInput): Promise<BillingAccountRef> {
      return withTenant(db, orgId, async (tx) => {
        const [org] = await tx
          .select({ plan: organizations.plan })
          .from(organizations)
          .where(eq(organizations.id, orgId));
        if (!org)
          throw ApplicationFailure.create({
            type: 'NOT_FOUND',
            nonRetryable: true,
            message: `organization ${orgId} does not exist`,
          });
        const { seats, trialDays } = plan(org.plan);
        const status: SubscriptionStatus = trialDays > 0 ? 'trialing' : 'active';
        await tx
          .insert(billingAccounts)
          .values({ orgId, stripeCustomerId, plan: org.plan, seats, status })
          .onConflictDoNothing({ target: billingAccounts.orgId });
        const [account] = await tx.select().from(billingAccounts).where(eq(billingAccounts.orgId, orgId));
        if (!account) throw new Error(`billing account of ${orgId} vanished`);
        await tx
          .update(organizations)
          .set({ subscriptionStatus: account.status })
          .where(eq(organizations.id, orgId));
        return {
          orgId,
          stripeCustomerId: account.stripeCustomerId,
          plan: account.plan,
          seats: account.seats,
          status: account.status,
        };
      });
    },

    /** Compensation: removes the account onboarding opened. */
    async closeBillingAccount({ orgId }: { orgId: string }): Promise<{ orgId: string }> {
      await withTenant(db, orgId, (tx) => tx.delete(billingAccounts).where(eq(billingAccounts.orgId, orgId)));
      return { orgId };
    },

    /**
     * Writes the subscription's state where the API and the gateway read it, in one transaction: the
     * account keeps the billing status and any operator's suspension, the org the status enforced.
     */
    async applyEntitlements(state: SubscriptionState): Promise<{ orgId: string }> {
      const { orgId } = state;
      // Absent from states of workflows started before operators' suspensions existed.
      const suspension = state.operatorSuspension ?? null;
      const account = {
        stripeCustomerId: state.stripeCustomerId,
        stripeSubscriptionId: state.stripeSubscriptionId,
        plan: state.plan,
        seats: state.seats,
        status: state.status,
        trialEndsAt: date(state.trialEndsAt),
        currentPeriodStart: date(state.currentPeriodStart),
        currentPeriodEnd: date(state.currentPeriodEnd),
        cancelAtPeriodEnd: state.cancelAtPeriodEnd,
        statusEventCreated: state.lastEventCreated > 0 ? new Date(state.lastEventCreated * 1000) : null,
        operatorSuspendedAt: date(suspension?.since ?? null),
        operatorSuspendedBy: suspension?.by ?? null,
        operatorSuspensionReason: suspension?.reason ?? null,
        updatedAt: new Date(),
      };
      await withTenant(db, orgId, async (tx) => {
        await tx
          .insert(billingAccounts)
          .values({ orgId, ...account })
          .onConflictDoUpdate({ target: billingAccounts.orgId, set: account });
        await tx
          .update(organizations)
          .set({ plan: state.plan, subscriptionStatus: enforcedStatus(state.status, suspension !== null) })
          .where(eq(organizations.id, orgId));
      });
      return { orgId };
    },
  };
}
