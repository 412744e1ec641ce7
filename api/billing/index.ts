// Billing: a tenant's billing routes (/api/orgs/:orgId/billing: plan, checkout, portal, invoices,
// usage this period), the operators' billing runs and reconciliation (/api/admin/billing) and
// Stripe's webhooks (/webhooks/stripe, which hand events to the tenant's subscription workflow).
import type { FastifyInstance } from 'fastify';
import reconciliationRoutes from './reconciliation/routes.js';
import billingRoutes from './routes.js';
import billingRunRoutes from './runs/routes.js';
import stripeClient from './stripe-plugin.js';
import webhookRoutes from './webhooks/routes.js';

export default async function billing(app: FastifyInstance) {
  await app.register(stripeClient);
  await app.register(billingRoutes);
  await app.register(reconciliationRoutes);
  await app.register(billingRunRoutes);
  await app.register(webhookRoutes);
}
