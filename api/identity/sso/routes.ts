// An org's single sign-on connection, managed by its owners and admins. The client secret is
// write-only: no answer carries it.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { masterKeyFromConfig } from '../../../runtime/envelope.js';
import { actorOf, requireSignedIn } from '../auth-plugin.js';
import { errors, OrgParams } from '../../common-schemas.js';
import { PutSsoBody, SsoConnection } from './schemas.js';
import { deleteSsoConnection, getSsoConnection, putSsoConnection, type SsoSettings } from './connections.js';

const tags = ['sso'];
const security = [{ bearer: [] }];

const sso: FastifyPluginAsyncTypebox = async (app) => {
  requireSignedIn(app);
  const settings: SsoSettings = {
    publicUrl: app.config.PUBLIC_URL,
    egress: app.egress,
    master: masterKeyFromConfig(app.config),
  };

  app.put(
    '/api/orgs/:orgId/sso',
    {
      config: { access: 'sso.manage' },
      schema: {
        tags,
        security,
        params: OrgParams,
        body: PutSsoBody,
        response: { 200: SsoConnection, 201: SsoConnection, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { view, created } = await putSsoConnection(
        app.db,
        settings,
        actorOf(request),
        request.params.orgId,
        request.body,
      );
      return reply.code(created ? 201 : 200).send(view);
    },
  );

  app.get(
    '/api/orgs/:orgId/sso',
    {
      config: { access: 'sso.read' },
      schema: {
        tags,
        security,
        params: OrgParams,
        response: { 200: SsoConnection, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => getSsoConnection(app.db, request.params.orgId, settings.publicUrl),
  );

  app.delete(
    '/api/orgs/:orgId/sso',
    {
      config: { access: 'sso.manage' },
      schema: {
        tags,
        security,
        params: OrgParams,
        response: { 204: Type.Null(), ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await deleteSsoConnection(app.db, actorOf(request), request.params.orgId);
      return reply.code(204).send(null);
    },
  );
};

export default sso;
