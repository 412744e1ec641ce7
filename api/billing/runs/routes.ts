// The billing runs under /api/admin/billing/runs, for platform operators: each window's run, its
// status, the tenants it billed and could not bill, newest first.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errors } from '../../common-schemas.js';
import { requireSignedIn } from '../../identity/auth-plugin.js';
import { listBillingRuns } from './runs.js';
import { BillingRunPage, BillingRunQuery } from './schemas.js';

const billingRunRoutes: FastifyPluginAsyncTypebox = async (app) => {
  requireSignedIn(app);

  app.get(
    '/api/admin/billing/runs',
    {
      config: { access: 'billing-runs.read' },
      schema: {
        tags: ['admin'],
        security: [{ bearer: [] }],
        summary: 'The billing runs, newest window first: status, tenants billed and not billed',
        querystring: BillingRunQuery,
        response: { 200: BillingRunPage, ...errors(400, 401, 403) },
      },
    },
    async (request) => listBillingRuns({ db: app.db, temporal: app.temporal }, request.query),
  );
};

export default billingRunRoutes;
