// Workflow inputs, outputs and messages: what the API imports to start and talk to workflows.
// (defineSignal and friends are plain descriptors, safe to import outside a workflow.)
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { SubscriptionStatus } from '../core/billing.js';
import type { PlanName } from '../core/plans.js';
//
// Payload convention: every workflow and activity input and output is ONE object carrying the
// tenant's `orgId` (a UUID string). The PayloadCodec (runtime/codec.ts) has no workflow context,
// so it reads `orgId` from the payload and encrypts it with that tenant's data key; destroying
// the key shreds the tenant's histories. A payload without an orgId is encrypted with the platform
// key, so platform payloads must carry no tenant or personal data.
export interface OnboardingInput {
  orgId: string;
  orgName: string;
  ownerUserId: string;
  ownerEmail: string;
}

export interface OnboardingResult {
  orgId: string;
  status: 'active' | 'failed';
  reason?: string;
}

/** The registered workflow type names (the exported function names in workflows/index.ts). */
export const workflowTypes = {
  onboarding: 'onboarding',
  subscription: 'subscription',
  billingRun: 'billingRun',
  scheduledBillingRun: 'scheduledBillingRun',
} as const;

// --- The subscription lifecycle (`subscription/<orgId>`, workflows/subscription.ts) ---

/** What the workflow keeps and carries through continue-as-new. Times are ISO strings. */
export interface SubscriptionState {
  orgId: string;
  status: SubscriptionStatus;
  plan: PlanName;
  seats: number;
  stripeCustomerId: string;
  stripeSubscriptionId: string | null;
  trialEndsAt: string | null;
  /** The paid (or trial) period: usage this period counts from its start. */
  currentPeriodStart: string | null;
  currentPeriodEnd: string | null;
  cancelAtPeriodEnd: boolean;
  /** When the failed payment that opened the grace period happened; null when none is open. */
  pastDueSince: string | null;
  /** Stripe `created` (unix seconds) of the newest subscription or invoice event applied. */
  lastEventCreated: number;
  /** Ids of the events applied with that `created`: a redelivered event changes nothing. */
  lastEventIds: string[];
  /** Reminder mails already sent for the current trial or grace period ('trial-ending', 'dunning-3'). */
  remindersSent: string[];
}

export interface SubscriptionInput {
  orgId: string;
  plan: PlanName;
  seats: number;
  stripeCustomerId: string;
  /** The whole state when continuing as new; absent on the first start. */
  state?: SubscriptionState;
  /** Continue as new after this many history events (tests force it low); default: when Temporal suggests. */
  historyLimit?: number;
}

/**
 * A Stripe webhook event as the webhook route hands it to the workflow: only what the lifecycle
 * needs, so no card or address data enters the history.
 */
export interface StripeEventSignal {
  orgId: string;
  eventId: string;
  type: string;
  /** The event's `created`, unix seconds: events are applied by it, not by arrival. */
  created: number;
  subscription?: {
    id: string;
    /** Stripe's own status: trialing, active, past_due, unpaid, canceled, incomplete… */
    status: string;
    currentPeriodStart: number | null;
    currentPeriodEnd: number | null;
    trialEnd: number | null;
    cancelAtPeriodEnd: boolean;
    /** The plan our checkout put in the subscription's metadata (null when absent or unknown). */
    plan: string | null;
    /** The flat price's quantity: the seats paid for (null when absent). */
    seats: number | null;
  };
  invoice?: { id: string; status: string | null; amountDue: number; hostedInvoiceUrl: string | null };
}

export interface ChangePlanRequest {
  orgId: string;
  plan: string;
  seats: number;
  /** The org's member count now (the API counts it): fewer seats than members is refused. */
  members: number;
}

export interface CancelRequest {
  orgId: string;
  /** true: at the end of the paid period (the default Stripe behaviour); false: now. */
  atPeriodEnd: boolean;
}

export const subscriptionSignals = {
  stripeEvent: defineSignal<[StripeEventSignal]>('stripeEvent'),
} as const;

export const subscriptionUpdates = {
  /** Validated: an unknown plan, or fewer seats than members, is rejected with the reason. */
  changePlan: defineUpdate<SubscriptionState, [ChangePlanRequest]>('changePlan'),
  cancel: defineUpdate<SubscriptionState, [CancelRequest]>('cancel'),
} as const;

export const subscriptionQueries = {
  state: defineQuery<SubscriptionState>('state'),
} as const;

// --- Billing runs (`billing/<window>`, workflows/billing-run.ts) ---

/** A platform payload (no tenant data): the window is [windowStart, windowStart + 1 hour). */
export interface BillingRunInput {
  windowStart: string;
  /** Tenants reported at once (BILLING_RUN_CONCURRENCY); 8 when absent. */
  concurrency?: number;
  /** Tenants per page: the run continues as new after each page, so its history stays bounded. */
  pageSize?: number;
  /** Where a continued run resumes, and what the run did so far. */
  progress?: BillingRunProgress;
}

export interface BillingRunProgress {
  /** The last tenant of the pages done (tenants are taken in org id order). */
  afterOrgId: string;
  tenants: number;
  meterEvents: number;
  lateTokens: number;
  /** Tenants whose report failed for good: the next run sweeps their usage (flagged late). */
  failedTenants: number;
}

/** What the Schedule starts every hour (a platform payload): the run picks its window from its scheduled time. */
export interface ScheduledBillingInput {
  watermarkMinutes: number;
  concurrency: number;
}

export interface BillingRunResult {
  windowStart: string;
  tenants: number;
  meterEvents: number;
  /** Tokens reported in this window that belong to earlier windows' hours (arrived late). */
  lateTokens: number;
}
