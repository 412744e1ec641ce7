// The one Stripe client factory (API routes and activities). STRIPE_API_URL points it at
// stripe-mock in tests and `up`; unset, the SDK talks to Stripe itself.
import Stripe from 'stripe';
import type { Config } from './config.js';

export type { Stripe };

export class StripeNotConfiguredError extends Error {
  constructor() {
    super('billing is not configured: STRIPE_SECRET_KEY is not set');
  }
}

/** A Stripe client from config; throws StripeNotConfiguredError without a secret key. */
export function createStripe(config: Pick<Config, 'STRIPE_SECRET_KEY' | 'STRIPE_API_URL'>): Stripe {
  if (!config.STRIPE_SECRET_KEY) throw new StripeNotConfiguredError();
  const base = config.STRIPE_API_URL ? new URL(config.STRIPE_API_URL) : undefined;
  return new Stripe(config.STRIPE_SECRET_KEY, {
    // Mutating calls carry idempotency keys, so the SDK's own retries never apply a call twice;
    // activities retry further through Temporal.
    maxNetworkRetries: 2,
    timeout: 20_000,
    ...(base && {
      host: base.hostname,
      port: Number(base.port || (base.protocol === 'https:' ? 443 : 80)),
      protocol: base.protocol === 'https:' ? 'https' : 'http',
    }),
  });
}
