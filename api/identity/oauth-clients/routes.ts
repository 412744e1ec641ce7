// OAuth clients of the built-in authorization server, managed by the org's managers under
// /api/orgs/:orgId/oauth-clients: created (the secret is shown once), listed and shown without
// secrets, revoked (the client and every token it holds stop working at once).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { masterKeyFromConfig } from '../../../runtime/envelope.js';
import { actorOf, requireSignedIn } from '../auth-plugin.js';
import { errors, OrgParams } from '../../common-schemas.js';
import {
  CreateOAuthClientBody,
  OAuthClient,
  OAuthClientList,
  OAuthClientParams,
  OAuthClientWithSecret,
} from './schemas.js';
import { createOAuthClient, getOAuthClient, listOAuthClients, revokeOAuthClient } from './clients.js';

const tags = ['oauth-clients'];
const security = [{ bearer: [] }];
const manage = { access: 'oauth-clients.manage' as const };
const read = { access: 'oauth-clients.read' as const };

const oauthClientRoutes: FastifyPluginAsyncTypebox = async (app) => {
  requireSignedIn(app);
  const master = masterKeyFromConfig(app.config);

  app.post(
    '/api/orgs/:orgId/oauth-clients',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Register an OAuth client; the answer is the only time its secret is shown',
        security,
        params: OrgParams,
        body: CreateOAuthClientBody,
        response: { 201: OAuthClientWithSecret, ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await createOAuthClient(app.db, master, actorOf(request), request.params.orgId, request.body)),
  );

  app.get(
    '/api/orgs/:orgId/oauth-clients',
    {
      config: read,
      schema: {
        tags,
        security,
        params: OrgParams,
        response: { 200: OAuthClientList, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => ({ items: await listOAuthClients(app.db, request.params.orgId) }),
  );

  app.get(
    '/api/orgs/:orgId/oauth-clients/:clientId',
    {
      config: read,
      schema: {
        tags,
        security,
        params: OAuthClientParams,
        response: { 200: OAuthClient, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => getOAuthClient(app.db, request.params.orgId, request.params.clientId),
  );

  app.delete(
    '/api/orgs/:orgId/oauth-clients/:clientId',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Revoke a client: it can no longer get tokens, and its tokens are refused',
        security,
        params: OAuthClientParams,
        response: { 204: Type.Null(), ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await revokeOAuthClient(app.db, actorOf(request), request.params.orgId, request.params.clientId);
      // Replicas that remember the client for a database outage forget it now.
      await app.apiKeyIssuer.invalidate(request.params.clientId);
      return reply.code(204).send(null);
    },
  );
};

export default oauthClientRoutes;
