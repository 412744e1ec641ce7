// The Stripe client of the billing routes as `app.stripe` (runtime/stripe.ts), or undefined when no
// STRIPE_SECRET_KEY is configured: those routes then answer 503 and everything else works.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { createStripe, type Stripe } from '../../runtime/stripe.js';

declare module 'fastify' {
  interface FastifyInstance {
    stripe: Stripe | undefined;
  }
}

export default fp(
  async function stripe(app: FastifyInstance) {
    app.decorate('stripe', app.config.STRIPE_SECRET_KEY ? createStripe(app.config) : undefined);
  },
  { name: 'stripe', dependencies: ['services'] },
);
