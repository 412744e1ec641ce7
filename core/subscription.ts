// The subscription's domain types: the lifecycle's state, its input, and the messages it takes.
// They live in core/ because the pure lifecycle rules (subscription-lifecycle.ts) work on them;
// workflows/definitions.ts re-exports them for the API and the workflow.
import type { SubscriptionStatus } from './billing.js';
import type { PlanName } from './plans.js';

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
  /**
   * A platform operator's suspension, held until an operator resumes the tenant whatever the
   * billing status does meanwhile; null when none. (States carried over before it existed lack it.)
   */
  operatorSuspension: OperatorSuspension | null;
}

export interface OperatorSuspension {
  reason: string;
  /** When it began (ISO). */
  since: string;
  /** The operator's user id. */
  by: string;
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

/** An operator suspends the tenant: the gateway refuses it until an operator resumes it. */
export interface OperatorSuspendRequest {
  orgId: string;
  operatorId: string;
  reason: string;
}

export interface OperatorResumeRequest {
  orgId: string;
  operatorId: string;
  reason?: string;
}

export interface CancelRequest {
  orgId: string;
  /** true: at the end of the paid period (the default Stripe behaviour); false: now. */
  atPeriodEnd: boolean;
}
