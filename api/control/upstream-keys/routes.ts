// A deployment's upstream key under /api/admin/models/:modelId/deployments/:deploymentId/upstream-key,
// for platform operators: set it, rotate it (the previous key kept for a grace period), remove it,
// and see its last four characters and times. The key itself is never answered.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { masterKeyFromConfig } from '../../../runtime/envelope.js';
import { errors } from '../../common-schemas.js';
import { actorOf, requireSignedIn } from '../../identity/auth-plugin.js';
import { RotateUpstreamKeyBody, SetUpstreamKeyBody, UpstreamKey, UpstreamKeyParams } from './schemas.js';
import { getUpstreamKey, removeUpstreamKey, rotateUpstreamKey, setUpstreamKey } from './upstream-keys.js';

const tags = ['admin'];
const security = [{ bearer: [] }];
const path = '/admin/models/:modelId/deployments/:deploymentId/upstream-key';

const upstreamKeyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  requireSignedIn(app);
  const master = masterKeyFromConfig(app.config);

  app.get(
    path,
    {
      config: { access: 'model-registry.read' },
      schema: {
        tags,
        security,
        summary: "Show a deployment's upstream key: its last four characters and times, never the key",
        params: UpstreamKeyParams,
        response: { 200: UpstreamKey, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => getUpstreamKey(app.db, request.params),
  );

  app.put(
    path,
    {
      config: { access: 'model-registry.manage' },
      schema: {
        tags,
        security,
        summary:
          "Set the key the gateway sends to a deployment's upstream, replacing any at once (rotate keeps the old one a while)",
        params: UpstreamKeyParams,
        body: SetUpstreamKeyBody,
        response: { 200: UpstreamKey, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => setUpstreamKey(app.db, master, actorOf(request), request.params, request.body.key),
  );

  app.post(
    `${path}/rotate`,
    {
      config: { access: 'model-registry.manage' },
      schema: {
        tags,
        security,
        summary:
          'Rotate the upstream key: the new key is sent at once, the previous one is tried on a 401 during the grace period',
        params: UpstreamKeyParams,
        body: RotateUpstreamKeyBody,
        response: { 200: UpstreamKey, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => rotateUpstreamKey(app.db, master, actorOf(request), request.params, request.body),
  );

  app.delete(
    path,
    {
      config: { access: 'model-registry.manage' },
      schema: {
        tags,
        security,
        summary: "Remove a deployment's upstream keys (its requests go upstream without one)",
        params: UpstreamKeyParams,
        response: { 204: Type.Null(), ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await removeUpstreamKey(app.db, actorOf(request), request.params);
      return reply.code(204).send(null);
    },
  );
};

export default upstreamKeyRoutes;
