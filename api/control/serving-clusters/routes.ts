// Serving clusters under /api/admin/serving-clusters, for platform operators: the Ray Serve
// clusters (proxy and dashboard addresses) that model versions are registered on.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { errors } from '../../common-schemas.js';
import { actorOf, requireSignedIn } from '../../identity/auth-plugin.js';
import { createCluster, deleteCluster, listClusters, updateCluster } from './clusters.js';
import { Cluster, ClusterList, ClusterParams, CreateClusterBody, UpdateClusterBody } from './schemas.js';

const tags = ['admin'];
const security = [{ bearer: [] }];

const servingClusterRoutes: FastifyPluginAsyncTypebox = async (app) => {
  requireSignedIn(app);

  app.get(
    '/admin/serving-clusters',
    {
      config: { access: 'model-registry.read' },
      schema: {
        tags,
        security,
        summary: 'List the serving clusters',
        response: { 200: ClusterList, ...errors(401, 403) },
      },
    },
    async () => ({ items: await listClusters(app.db) }),
  );

  app.post(
    '/admin/serving-clusters',
    {
      config: { access: 'model-registry.manage' },
      schema: {
        tags,
        security,
        summary: 'Add a serving cluster (a Ray Serve proxy and its dashboard)',
        body: CreateClusterBody,
        response: { 201: Cluster, ...errors(400, 401, 403, 409) },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createCluster(app.db, actorOf(request), request.body)),
  );

  app.patch(
    '/admin/serving-clusters/:clusterId',
    {
      config: { access: 'model-registry.manage' },
      schema: {
        tags,
        security,
        summary: "Change a serving cluster's addresses",
        params: ClusterParams,
        body: UpdateClusterBody,
        response: { 200: Cluster, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => updateCluster(app.db, actorOf(request), request.params.clusterId, request.body),
  );

  app.delete(
    '/admin/serving-clusters/:clusterId',
    {
      config: { access: 'model-registry.manage' },
      schema: {
        tags,
        security,
        summary: 'Remove a serving cluster (409 while versions are registered on it)',
        params: ClusterParams,
        response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await deleteCluster(app.db, actorOf(request), request.params.clusterId);
      return reply.code(204).send(null);
    },
  );
};

export default servingClusterRoutes;
