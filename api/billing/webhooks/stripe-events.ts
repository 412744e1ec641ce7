// What the webhook route reads from a Stripe event: whether the lifecycle takes its type, which
// tenant it concerns (the orgId our platform put in the object's metadata, else its customer id),
// and the few fields the subscription workflow needs (StripeEventSignal: never card or address
// data, which must not enter a workflow history). Pure. The object is read field by field, not
// through the SDK's types, because its shape depends on the API version of the webhook endpoint:
// since 2025-03 a subscription's period lives on its items and an invoice's subscription metadata
// under `parent.subscription_details`.
import type { Stripe } from '../../../runtime/stripe.js';
import type { StripeEventSignal } from '../../../workflows/definitions.js';

/** The event types the subscription workflow acts on; any other type is recorded and ignored. */
export const lifecycleEventTypes: ReadonlySet<string> = new Set([
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'customer.subscription.trial_will_end',
  'invoice.paid',
  'invoice.payment_succeeded',
  'invoice.payment_failed',
]);

type Fields = Record<string, unknown>;

function record(value: unknown): Fields | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Fields) : undefined;
}

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function numeric(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** An id field that may also come expanded into its object. */
function idOf(value: unknown): string | null {
  return text(value) ?? text(record(value)?.id);
}

const eventIdPattern = /^[A-Za-z0-9_]{1,255}$/;
const eventTypePattern = /^[a-z0-9_.]{1,128}$/;

/** Whether a verified event has what the route relies on: an id and type fit to store, a time, an object. */
export function isWellFormedEvent(event: Stripe.Event): boolean {
  const fields = event as unknown as Fields;
  return (
    typeof fields.id === 'string' &&
    eventIdPattern.test(fields.id) &&
    typeof fields.type === 'string' &&
    eventTypePattern.test(fields.type) &&
    Number.isSafeInteger(fields.created) &&
    record(record(fields.data)?.object) !== undefined
  );
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Who an event concerns: the org named in our metadata (when it is a UUID) and the Stripe customer. */
export interface EventTenant {
  orgId: string | null;
  customerId: string | null;
}

export function eventTenant(event: Stripe.Event): EventTenant {
  const object = record(event.data.object) ?? {};
  // Metadata our platform set: on the customer or subscription itself, or (invoices) copied from
  // the subscription, where its place depends on the API version.
  const metadata = [
    object.metadata,
    record(record(object.parent)?.subscription_details)?.metadata,
    record(object.subscription_details)?.metadata,
  ];
  const orgId = metadata.map((m) => text(record(m)?.orgId)).find((id) => id !== null && uuidPattern.test(id));
  const customerId = object.object === 'customer' ? text(object.id) : idOf(object.customer);
  return { orgId: orgId?.toLowerCase() ?? null, customerId };
}

function items(subscription: Fields): Fields[] {
  const data = record(subscription.items)?.data;
  return (Array.isArray(data) ? data : []).map((item) => record(item) ?? {});
}

/**
 * A bound of the subscription's current period ('start' or 'end'): on the subscription before API
 * 2025-03, on its items since (the earliest start, the latest end).
 */
function period(subscription: Fields, bound: 'start' | 'end'): number | null {
  const own = numeric(subscription[`current_period_${bound}`]);
  if (own !== null) return own;
  const values = items(subscription)
    .map((item) => numeric(item[`current_period_${bound}`]))
    .filter((value): value is number => value !== null);
  if (values.length === 0) return null;
  return bound === 'start' ? Math.min(...values) : Math.max(...values);
}

/** The seats paid for: the largest item quantity (metered items carry none). */
function seats(subscription: Fields): number | null {
  const quantities = items(subscription)
    .map((item) => numeric(item.quantity))
    .filter((q): q is number => q !== null && q > 0);
  return quantities.length > 0 ? Math.max(...quantities) : null;
}

/** The event as the subscription workflow takes it (only for the lifecycle's event types). */
export function toSignal(event: Stripe.Event, orgId: string): StripeEventSignal {
  const object = record(event.data.object) ?? {};
  const signal: StripeEventSignal = { orgId, eventId: event.id, type: event.type, created: event.created };
  if (event.type.startsWith('customer.subscription.'))
    signal.subscription = {
      id: text(object.id) ?? '',
      status: text(object.status) ?? '',
      currentPeriodStart: period(object, 'start'),
      currentPeriodEnd: period(object, 'end'),
      trialEnd: numeric(object.trial_end),
      cancelAtPeriodEnd: object.cancel_at_period_end === true,
      plan: text(record(object.metadata)?.plan),
      seats: seats(object),
    };
  if (event.type.startsWith('invoice.'))
    signal.invoice = {
      id: text(object.id) ?? '',
      status: text(object.status),
      amountDue: numeric(object.amount_due) ?? 0,
      hostedInvoiceUrl: text(object.hosted_invoice_url),
    };
  return signal;
}
