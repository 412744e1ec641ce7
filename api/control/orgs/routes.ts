// Organizations of the signed-in user: create (starts onboarding), list mine, read one.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf, currentUser, requireSignedIn } from '../../identity/auth-plugin.js';
import { errors, OrgParams } from '../../common-schemas.js';
import { CreateOrgBody, OrgCreated, Organization, OrganizationList } from './schemas.js';
import { createOrganization, getOrganization, listMyOrganizations } from './orgs.js';

const tags = ['organizations'];
const security = [{ bearer: [] }];

const orgs: FastifyPluginAsyncTypebox = async (app) => {
  requireSignedIn(app);

  app.post(
    '/orgs',
    {
      config: { access: 'signed-in' },
      schema: {
        tags,
        security,
        body: CreateOrgBody,
        response: { 202: OrgCreated, ...errors(400, 401, 409, 503) },
      },
    },
    async (request, reply) => {
      const created = await createOrganization(app.db, app.temporal, actorOf(request), request.body);
      return reply.code(202).send(created);
    },
  );

  app.get(
    '/orgs',
    {
      config: { access: 'signed-in' },
      schema: { tags, security, response: { 200: OrganizationList, ...errors(401) } },
    },
    async (request) => ({ items: await listMyOrganizations(app.db, currentUser(request).id) }),
  );

  // Checks visibility itself: the creator follows onboarding before any membership exists.
  app.get(
    '/orgs/:orgId',
    {
      config: { access: 'signed-in' },
      schema: {
        tags,
        security,
        params: OrgParams,
        response: { 200: Organization, ...errors(400, 401, 404) },
      },
    },
    async (request) => getOrganization(app.db, currentUser(request).id, request.params.orgId),
  );
};

export default orgs;
