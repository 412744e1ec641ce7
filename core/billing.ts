// Billing vocabulary shared by the API, the activities and the workflows: the subscription states,
// what each lets the tenant do, and the Stripe Billing Meters usage is reported to. Pure, no I/O.

/** A tenant's subscription, as the subscription workflow keeps it (see docs in README "Billing"). */
export const subscriptionStatuses = ['trialing', 'active', 'past_due', 'suspended', 'canceled'] as const;
export type SubscriptionStatus = (typeof subscriptionStatuses)[number];

export function isSubscriptionStatus(value: unknown): value is SubscriptionStatus {
  return typeof value === 'string' && (subscriptionStatuses as readonly string[]).includes(value);
}

/**
 * The status the platform enforces (the gateway, what the tenant is shown): an operator's suspension
 * suspends a tenant whatever its billing status does underneath, except a canceled one (no service).
 */
export function enforcedStatus(status: SubscriptionStatus, suspendedByOperator: boolean): SubscriptionStatus {
  return suspendedByOperator && status !== 'canceled' ? 'suspended' : status;
}

/** Whether the gateway serves /v1 to a tenant in this state (past_due still serves, in its grace period). */
export function servesInference(status: SubscriptionStatus): boolean {
  return status !== 'suspended' && status !== 'canceled';
}

/**
 * The Stripe Billing Meters (event names) the billing run reports to, one per token direction.
 * A meter event's payload carries the customer id and the value; its identifier makes Stripe
 * drop a second event for the same org, meter and window.
 */
export const billingMeters = {
  inputTokens: 'vlinders_input_tokens',
  outputTokens: 'vlinders_output_tokens',
} as const;
export type BillingMeter = keyof typeof billingMeters;
