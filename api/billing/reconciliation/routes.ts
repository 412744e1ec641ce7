// The billing reconciliation under /api/admin/billing, for platform operators: metered against
// reported per tenant and window across all tenants (read through the billing run's read-only
// policies), anything that does not add up flagged.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { billingReconciliation } from '../../../db/billing-reconciliation.js';
import { AppError } from '../../errors.js';
import { requireSignedIn } from '../../identity/auth-plugin.js';
import { Reconciliation, ReconciliationQuery } from './schemas.js';
import { errors } from '../../common-schemas.js';
import { usageRange } from '../../control/usage/usage.js';

const maxRangeMs = 7 * 24 * 3_600_000;

const billingRunRoutes: FastifyPluginAsyncTypebox = async (app) => {
  requireSignedIn(app);

  app.get(
    '/api/admin/billing/reconciliation',
    {
      config: { access: 'billing-runs.read' },
      schema: {
        tags: ['admin'],
        security: [{ bearer: [] }],
        summary: 'Reconcile metered with reported tokens per tenant and billing window',
        querystring: ReconciliationQuery,
        response: { 200: Reconciliation, ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const { from, to } = usageRange(request.query, 'hour');
      if (to.getTime() - from.getTime() > maxRangeMs)
        throw new AppError('VALIDATION', 'The range may span at most 7 days.');
      return billingReconciliation(app.db, {
        from,
        to,
        orgId: request.query.orgId,
        flaggedOnly: request.query.flagged === 'true',
        now: new Date(),
        watermarkMinutes: app.config.BILLING_WATERMARK_MINUTES,
      });
    },
  );
};

export default billingRunRoutes;
