// The inference API, OpenAI-compatible: any OpenAI SDK pointed at PUBLIC_URL/v1 works unchanged.
// Routes only wire the pipeline (pipeline.ts), which runs each request's steps in order.
import type { FastifyInstance } from 'fastify';
import { Agent } from 'undici';
import { Forwarder } from './forwarder.js';
import type { InferenceEndpoint } from './inference-body.js';
import { InferenceMetrics } from './metering/inference-metrics.js';
import { InferencePipeline } from './pipeline.js';
import { InflightLoad, Router, UpstreamHealth } from './routing/router.js';
import type { ModelRoute } from './registry.js';
import {
  ChatCompletionRequest,
  CompletionRequest,
  EmbeddingRequest,
  InferenceAnswer,
  ModelList,
  ModelObject,
  inferenceErrors,
} from './schemas.js';

function modelObject(model: ModelRoute) {
  return {
    id: model.name,
    object: 'model' as const,
    created: 0,
    owned_by: 'vlinders',
    context_length: model.contextLength,
  };
}

const inferenceEndpoints = [
  ['chat/completions', ChatCompletionRequest, 'Create a chat completion'],
  ['completions', CompletionRequest, 'Create a completion'],
  ['embeddings', EmbeddingRequest, 'Create embeddings'],
] as const satisfies readonly (readonly [InferenceEndpoint, unknown, string])[];

export default async function inferenceRoutes(app: FastifyInstance) {
  const { config } = app;
  const agent = new Agent({
    connect: { timeout: config.GATEWAY_CONNECT_TIMEOUT_MS },
    connections: config.GATEWAY_UPSTREAM_CONNECTIONS,
    keepAliveTimeout: 60_000,
  });
  const health = new UpstreamHealth();
  // Requests in flight per upstream: the forwarder counts them, the router bounds each replica's share.
  const load = new InflightLoad();
  const pipeline = new InferencePipeline({
    authenticate: app.authenticate,
    registry: app.modelRegistry,
    limiter: app.limiter,
    router: new Router(health, Math.random, load),
    forwarder: new Forwarder(
      agent,
      health,
      { firstTokenMs: config.GATEWAY_FIRST_TOKEN_TIMEOUT_MS, readMs: config.GATEWAY_READ_TIMEOUT_MS },
      load,
      (deploymentId) => app.modelRegistry.upstreamKeys(deploymentId),
    ),
    usageRecorder: app.usageRecorder,
    metrics: new InferenceMetrics(app.meter),
    log: app.log,
    maxAttempts: config.GATEWAY_MAX_ATTEMPTS,
  });
  // Shutdown drained the API's own requests first; whatever the pool still holds is abandoned.
  app.addHook('onClose', async () => agent.destroy());
  app.addHook('onRequest', pipeline.authenticate);

  // The schemas describe /v1 in the OpenAPI document only (schemas.ts says why): no validation
  // pass and no schema-driven serializer on the data plane.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  for (const [endpoint, body, summary] of inferenceEndpoints)
    app.post(
      `/${endpoint}`,
      {
        bodyLimit: config.GATEWAY_BODY_LIMIT_BYTES,
        logLevel: 'warn',
        schema: {
          tags: ['inference'],
          summary,
          security: [{ bearer: [] }],
          body,
          response: {
            200: InferenceAnswer,
            ...inferenceErrors(400, 401, 403, 404, 413, 415, 429, 502, 503, 504),
          },
        },
      },
      (request, reply) => pipeline.infer(endpoint, request, reply),
    );

  app.get(
    '/models',
    {
      logLevel: 'warn',
      schema: {
        tags: ['inference'],
        summary: 'List the models this key may use',
        security: [{ bearer: [] }],
        response: { 200: ModelList, ...inferenceErrors(401, 403) },
      },
    },
    async (request) => ({ object: 'list' as const, data: pipeline.listModels(request).map(modelObject) }),
  );

  // A wildcard: model names such as meta-llama/Llama-3.1-8B-Instruct contain slashes.
  app.get<{ Params: { '*': string } }>(
    '/models/*',
    {
      logLevel: 'warn',
      schema: {
        tags: ['inference'],
        summary: 'Show one model',
        security: [{ bearer: [] }],
        response: { 200: ModelObject, ...inferenceErrors(401, 403, 404) },
      },
    },
    async (request) => modelObject(pipeline.showModel(request, request.params['*'])),
  );
}
