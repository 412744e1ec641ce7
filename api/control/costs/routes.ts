// The cost analysis under /api/admin/costs, for platform operators: GPU-seconds and cost per pool
// and model over a period, and each model's cost split over tenants by their share of its tokens.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { costAnalysis } from '../../../db/cost-analysis.js';
import { errors } from '../../common-schemas.js';
import { requireSignedIn } from '../../identity/auth-plugin.js';
import { usageRange } from '../usage/usage.js';
import { CostQuery, CostReport } from './schemas.js';

const costRoutes: FastifyPluginAsyncTypebox = async (app) => {
  requireSignedIn(app);

  app.get(
    '/admin/costs',
    {
      config: { access: 'costs.read' },
      schema: {
        tags: ['admin'],
        security: [{ bearer: [] }],
        summary: 'GPU cost per pool, model and tenant over a period (operators)',
        querystring: CostQuery,
        response: { 200: CostReport, ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const { from, to } = usageRange(request.query, 'hour');
      return costAnalysis(app.db, {
        from,
        to,
        now: new Date(),
        prices: app.config.GPU_COST_PER_HOUR ?? {},
        currency: app.config.GPU_COST_CURRENCY,
      });
    },
  );
};

export default costRoutes;
