// The operators' tenant directory under /api/admin/orgs: every organization with its onboarding
// status, plan, subscription, seats, members and tokens this month, paged and filtered; one by id.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errors, OrgParams } from '../../common-schemas.js';
import { requireSignedIn } from '../../identity/auth-plugin.js';
import { Tenant, TenantPage, TenantQuery } from './schemas.js';
import { getTenant, listTenants } from './tenants.js';

const tags = ['admin'];
const security = [{ bearer: [] }];

const tenantRoutes: FastifyPluginAsyncTypebox = async (app) => {
  requireSignedIn(app);

  app.get(
    '/admin/orgs',
    {
      config: { access: 'tenants.read' },
      schema: {
        tags,
        security,
        summary: 'Every tenant, newest first, filtered by status or name (operators)',
        querystring: TenantQuery,
        response: { 200: TenantPage, ...errors(400, 401, 403) },
      },
    },
    async (request) => listTenants(app.db, request.query, new Date()),
  );

  app.get(
    '/admin/orgs/:orgId',
    {
      config: { access: 'tenants.read' },
      schema: {
        tags,
        security,
        summary: 'One tenant: status, plan, subscription, seats, members, tokens this month (operators)',
        params: OrgParams,
        response: { 200: Tenant, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => getTenant(app.db, request.params.orgId, new Date()),
  );
};

export default tenantRoutes;
