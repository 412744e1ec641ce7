// The operators' tenant directory under /api/admin/orgs: every organization with its onboarding
// status, plan, subscription, seats, members and tokens this month, paged and filtered; one by id;
// and an operator's suspension and resumption of one (through its subscription workflow).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errors, OrgParams } from '../../common-schemas.js';
import { actorOf, requireSignedIn } from '../../identity/auth-plugin.js';
import { ResumeBody, SuspendBody, Tenant, TenantPage, TenantQuery } from './schemas.js';
import { resumeTenant, suspendTenant } from './suspension.js';
import { getTenant, listTenants } from './tenants.js';

const tags = ['admin'];
const security = [{ bearer: [] }];

const tenantRoutes: FastifyPluginAsyncTypebox = async (app) => {
  requireSignedIn(app);
  const deps = () => ({ db: app.db, temporal: app.temporal });

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

  app.post(
    '/admin/orgs/:orgId/suspend',
    {
      config: { access: 'tenants.suspend' },
      schema: {
        tags,
        security,
        summary:
          'Suspend a tenant through its subscription workflow: /v1 refuses it until resumed, whatever its billing does (operators)',
        params: OrgParams,
        body: SuspendBody,
        response: { 200: Tenant, ...errors(400, 401, 403, 404, 409, 503) },
      },
    },
    async (request) => suspendTenant(deps(), actorOf(request), request.params.orgId, request.body.reason),
  );

  app.post(
    '/admin/orgs/:orgId/resume',
    {
      config: { access: 'tenants.suspend' },
      schema: {
        tags,
        security,
        summary: "Lift an operator's suspension: the tenant is back to its billing status (operators)",
        params: OrgParams,
        body: ResumeBody,
        response: { 200: Tenant, ...errors(400, 401, 403, 404, 409, 503) },
      },
    },
    async (request) => resumeTenant(deps(), actorOf(request), request.params.orgId, request.body.reason),
  );
};

export default tenantRoutes;
