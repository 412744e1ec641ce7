// What a tenant does in Stripe's own pages: Checkout to subscribe (a tenant without a live
// subscription: canceled, or never subscribed), the customer portal to pay invoices and manage
// payment methods, and its invoices. Stripe answers for itself: any Stripe failure is a 502
// (PAYMENT_PROVIDER) whose details go to the log, not to the tenant. Creating a session carries an
// idempotency key per org, choice and short time window, so a double click gets the same page.
import { plan as planOf, type PlanName } from '../../core/plans.js';
import Stripe from 'stripe';
import { AppError } from '../errors.js';
import type { BillingAccountRow } from './accounts.js';

const minuteMs = 60_000;
const checkoutWindowMs = 10 * minuteMs;
const portalWindowMs = minuteMs;

/** The client of the billing routes; 503 without STRIPE_SECRET_KEY. */
export function requireStripe(stripe: Stripe | undefined): Stripe {
  if (!stripe) throw new AppError('UNAVAILABLE', 'Billing is not configured on this platform.');
  return stripe;
}

/** Runs a Stripe call; Stripe's failures become a 502 (the error handler logs the reason). */
async function stripeCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof Stripe.errors.StripeError)
      throw new AppError('PAYMENT_PROVIDER', `Stripe ${what}: ${err.type}: ${err.message}`);
    throw err;
  }
}

/** The plan's Stripe prices by their lookup keys (core/plans.ts); a missing one is an account set-up error. */
async function planPrices(stripe: Stripe, name: PlanName): Promise<{ flat: string; metered: string[] }> {
  const keys = planOf(name).prices;
  const wanted = [keys.flat, keys.inputTokens, keys.outputTokens];
  const prices = await stripeCall('prices.list', () =>
    stripe.prices.list({ lookup_keys: wanted, active: true, limit: wanted.length }),
  );
  const byKey = new Map(prices.data.map((price) => [price.lookup_key, price.id]));
  const missing = wanted.filter((key) => !byKey.has(key));
  if (missing.length > 0)
    throw new AppError('PAYMENT_PROVIDER', `no active Stripe price has the lookup key ${missing.join(', ')}`);
  return {
    flat: byKey.get(keys.flat)!,
    metered: [byKey.get(keys.inputTokens)!, byKey.get(keys.outputTokens)!],
  };
}

export interface CheckoutChoice {
  plan: PlanName;
  seats: number;
  /** The org's members now: the seats may not be fewer. */
  members: number;
}

export async function createCheckout(
  stripe: Stripe,
  account: BillingAccountRow,
  choice: CheckoutChoice,
  publicUrl: string,
  now = Date.now(),
): Promise<{ sessionId: string; url: string }> {
  if (account.stripeSubscriptionId && account.status !== 'canceled')
    throw new AppError(
      'CONFLICT',
      'This organization already has a subscription: change its plan through POST billing/plan and pay through POST billing/portal.',
    );
  const allowed = planOf(choice.plan).seats;
  if (choice.seats < choice.members)
    throw new AppError(
      'VALIDATION',
      `The organization has ${choice.members} members: buy at least as many seats.`,
    );
  if (choice.seats > allowed)
    throw new AppError('VALIDATION', `The ${choice.plan} plan allows at most ${allowed} seats.`);
  const prices = await planPrices(stripe, choice.plan);
  const orgId = account.orgId;
  const billingPage = `${publicUrl}/billing`;
  const session = await stripeCall('checkout.sessions.create', () =>
    stripe.checkout.sessions.create(
      {
        mode: 'subscription',
        customer: account.stripeCustomerId,
        client_reference_id: orgId,
        line_items: [
          { price: prices.flat, quantity: choice.seats },
          ...prices.metered.map((price) => ({ price })),
        ],
        // The subscription carries the org, so its webhooks find the tenant without a lookup.
        subscription_data: { metadata: { orgId, plan: choice.plan } },
        metadata: { orgId },
        success_url: `${billingPage}?checkout=success&session_id={CHECKOUT_SESSION_ID}`,
        cancel_url: `${billingPage}?checkout=canceled`,
      },
      {
        idempotencyKey: `checkout/${orgId}/${choice.plan}/${choice.seats}/${Math.floor(now / checkoutWindowMs)}`,
      },
    ),
  );
  if (!session.url)
    throw new AppError('PAYMENT_PROVIDER', 'Stripe returned a checkout session without a url');
  return { sessionId: session.id, url: session.url };
}

export async function createPortal(
  stripe: Stripe,
  account: BillingAccountRow,
  publicUrl: string,
  now = Date.now(),
): Promise<{ url: string }> {
  const session = await stripeCall('billingPortal.sessions.create', () =>
    stripe.billingPortal.sessions.create(
      { customer: account.stripeCustomerId, return_url: `${publicUrl}/billing` },
      { idempotencyKey: `portal/${account.orgId}/${Math.floor(now / portalWindowMs)}` },
    ),
  );
  return { url: session.url };
}

export interface InvoiceView {
  id: string;
  number: string | null;
  status: string | null;
  amountDue: number;
  amountPaid: number;
  currency: string;
  periodStart: string;
  periodEnd: string;
  createdAt: string;
  hostedInvoiceUrl: string | null;
}

const fromSeconds = (seconds: number) => new Date(seconds * 1000).toISOString();

export async function listInvoices(
  stripe: Stripe,
  account: BillingAccountRow,
  page: { limit: number; startingAfter?: string | undefined },
): Promise<{ invoices: InvoiceView[]; nextCursor: string | null }> {
  const list = await stripeCall('invoices.list', () =>
    stripe.invoices.list({
      customer: account.stripeCustomerId,
      limit: page.limit,
      ...(page.startingAfter && { starting_after: page.startingAfter }),
    }),
  );
  const invoices = list.data.flatMap((invoice): InvoiceView[] =>
    invoice.id
      ? [
          {
            id: invoice.id,
            number: invoice.number,
            status: invoice.status,
            amountDue: invoice.amount_due,
            amountPaid: invoice.amount_paid,
            currency: invoice.currency,
            periodStart: fromSeconds(invoice.period_start),
            periodEnd: fromSeconds(invoice.period_end),
            createdAt: fromSeconds(invoice.created),
            hostedInvoiceUrl: invoice.hosted_invoice_url ?? null,
          },
        ]
      : [],
  );
  return { invoices, nextCursor: list.has_more ? (invoices.at(-1)?.id ?? null) : null };
}
