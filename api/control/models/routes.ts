// The model registry under /api/admin/models, for platform operators: models (public name, context
// length, prices, status, fallback) and their deployments (upstream URLs, version, weight, state).
// Upstream URLs are set here only; every API replica sees a change within 2 s (api/gateway/registry.ts).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { actorOf, requireSignedIn } from '../../identity/auth-plugin.js';
import { errors } from '../../common-schemas.js';
import {
  CreateDeploymentBody,
  CreateModelBody,
  Deployment,
  DeploymentParams,
  Model,
  ModelList,
  ModelParams,
  RegisterVersionBody,
  UpdateDeploymentBody,
  UpdateModelBody,
} from './schemas.js';
import {
  createDeployment,
  createModel,
  deleteDeployment,
  deleteModel,
  getModel,
  listModels,
  registerVersion,
  updateDeployment,
  updateModel,
} from './models.js';

const tags = ['admin'];
const security = [{ bearer: [] }];

const modelRoutes: FastifyPluginAsyncTypebox = async (app) => {
  requireSignedIn(app);

  app.get(
    '/admin/models',
    {
      config: { access: 'model-registry.read' },
      schema: {
        tags,
        security,
        summary: 'List the models and their deployments',
        response: { 200: ModelList, ...errors(401, 403) },
      },
    },
    async () => ({ items: await listModels(app.db) }),
  );

  app.post(
    '/admin/models',
    {
      config: { access: 'model-registry.manage' },
      schema: {
        tags,
        security,
        summary: 'Add a model',
        body: CreateModelBody,
        response: { 201: Model, ...errors(400, 401, 403, 409) },
      },
    },
    async (request, reply) => reply.code(201).send(await createModel(app.db, actorOf(request), request.body)),
  );

  app.get(
    '/admin/models/:modelId',
    {
      config: { access: 'model-registry.read' },
      schema: {
        tags,
        security,
        summary: 'Show a model and its deployments',
        params: ModelParams,
        response: { 200: Model, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => getModel(app.db, request.params.modelId),
  );

  app.patch(
    '/admin/models/:modelId',
    {
      config: { access: 'model-registry.manage' },
      schema: {
        tags,
        security,
        summary: 'Change a model (its name is fixed: clients use it)',
        params: ModelParams,
        body: UpdateModelBody,
        response: { 200: Model, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => updateModel(app.db, actorOf(request), request.params.modelId, request.body),
  );

  app.delete(
    '/admin/models/:modelId',
    {
      config: { access: 'model-registry.manage' },
      schema: {
        tags,
        security,
        summary: 'Remove a model and its deployments (409 while another model falls back to it)',
        params: ModelParams,
        response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await deleteModel(app.db, actorOf(request), request.params.modelId);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/admin/models/:modelId/deployments',
    {
      config: { access: 'model-registry.manage' },
      schema: {
        tags,
        security,
        summary: 'Add a deployment of a model',
        params: ModelParams,
        body: CreateDeploymentBody,
        response: { 201: Deployment, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await createDeployment(app.db, actorOf(request), request.params.modelId, request.body)),
  );

  app.post(
    '/admin/models/:modelId/versions',
    {
      config: { access: 'model-registry.manage' },
      schema: {
        tags,
        security,
        summary: 'Register a version that runs as its own Serve application on a cluster (rolled out later)',
        params: ModelParams,
        body: RegisterVersionBody,
        response: { 201: Deployment, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await registerVersion(app.db, actorOf(request), request.params.modelId, request.body)),
  );

  app.patch(
    '/admin/models/:modelId/deployments/:deploymentId',
    {
      config: { access: 'model-registry.manage' },
      schema: {
        tags,
        security,
        summary:
          'Change a deployment: URLs, weight, state or upstream model (its version is fixed; 409 while rolled out)',
        params: DeploymentParams,
        body: UpdateDeploymentBody,
        response: { 200: Deployment, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => updateDeployment(app.db, actorOf(request), request.params, request.body),
  );

  app.delete(
    '/admin/models/:modelId/deployments/:deploymentId',
    {
      config: { access: 'model-registry.manage' },
      schema: {
        tags,
        security,
        summary: 'Remove a deployment (409 while rolled out)',
        params: DeploymentParams,
        response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await deleteDeployment(app.db, actorOf(request), request.params);
      return reply.code(204).send(null);
    },
  );
};

export default modelRoutes;
