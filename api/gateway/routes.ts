// The inference API, OpenAI-compatible: any OpenAI SDK pointed at PUBLIC_URL/v1 works unchanged.
// Per request: API key (or a client-credentials token) → the org's subscription (a suspended or
// canceled tenant is refused before anything is reserved) → model from the registry → the policy
// (key scopes, model allow-lists, IP allow-list) → max_tokens within the plan → one atomic limit
// admission in Redis → routing → forwarding (api/gateway/forwarder.ts) → one usage event, recorded
// before the client sees the end of the answer → the limit reservation settled with the real count.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Agent } from 'undici';
import { servesInference } from '../../core/billing.js';
import { authorizeKey } from '../../core/policy.js';
import { planLimits, type PlanLimits } from '../../core/plans.js';
import { InferenceError } from '../errors.js';
import { currentApiKey } from '../identity/auth-plugin.js';
import { Forwarder, type Attempt, type ForwardOutcome } from './forwarder.js';
import { estimateTokens, readInferenceBody, type InferenceEndpoint } from './inference-body.js';
import type { Admission } from './limits/limiter.js';
import type { ModelRoute } from './registry.js';
import { affinityKey } from './routing/affinity.js';
import { InflightLoad, Router, UpstreamHealth } from './routing/router.js';
import type { VerifiedKey } from '../identity/api-keys/verifier.js';

const limitTypes: Record<string, string> = {
  rate_limit_exceeded: 'requests',
  concurrency_limit_exceeded: 'requests',
  tokens_limit_exceeded: 'tokens',
  quota_exceeded: 'insufficient_quota',
};

function refusal(admission: Extract<Admission, { admitted: false }>): InferenceError {
  const headers = { ...admission.headers, 'retry-after': String(admission.retryAfterSeconds) };
  if (admission.code === 'limits_unavailable')
    return new InferenceError('UNAVAILABLE', admission.code, admission.message, { headers });
  return new InferenceError('RATE_LIMITED', admission.code, admission.message, {
    headers,
    type: limitTypes[admission.code] ?? 'requests',
  });
}

/** The refusal of a tenant whose subscription does not serve inference: it pays through the billing routes. */
function subscriptionRefusal(key: VerifiedKey): InferenceError | undefined {
  const status = key.subscriptionStatus;
  if (servesInference(status)) return undefined;
  const billing = `/api/orgs/${key.orgId}/billing`;
  return new InferenceError(
    'SUBSCRIPTION_INACTIVE',
    `subscription_${status}`,
    status === 'suspended'
      ? `This organization's subscription is suspended for an unpaid invoice. Pay it through ${billing}/portal (or see ${billing}/invoices); inference resumes within seconds of the payment.`
      : `This organization's subscription is canceled. Subscribe again through ${billing}/checkout to resume inference.`,
  );
}

const modelNotFound = (model: string) =>
  new InferenceError(
    'NOT_FOUND',
    'model_not_found',
    `The model '${model}' does not exist or this key may not use it.`,
    { param: 'model', type: 'invalid_request_error' },
  );

/** Whether the key (its scopes, allow-lists, IP) and its org's plan let it use the model. */
function mayUse(
  key: VerifiedKey,
  plan: PlanLimits,
  model: ModelRoute,
  action: 'invoke' | 'models.read',
  ip: string,
) {
  if (model.status !== 'active') return false;
  if (plan.models && !plan.models.includes(model.name)) return false;
  return authorizeKey(key, action, { ip, model: model.name });
}

function modelObject(model: ModelRoute) {
  return {
    id: model.name,
    object: 'model',
    created: 0,
    owned_by: 'vlinders',
    context_length: model.contextLength,
  };
}

export default async function v1Routes(app: FastifyInstance) {
  const { config } = app;
  const agent = new Agent({
    connect: { timeout: config.GATEWAY_CONNECT_TIMEOUT_MS },
    connections: config.GATEWAY_UPSTREAM_CONNECTIONS,
    keepAliveTimeout: 60_000,
  });
  const health = new UpstreamHealth();
  const load = new InflightLoad();
  const router = new Router(health, Math.random, load);
  const forwarder = new Forwarder(
    agent,
    health,
    { firstTokenMs: config.GATEWAY_FIRST_TOKEN_TIMEOUT_MS, readMs: config.GATEWAY_READ_TIMEOUT_MS },
    load,
  );
  // Shutdown drained the API's own requests first; whatever the pool still holds is abandoned.
  app.addHook('onClose', async () => agent.destroy());

  // Every /v1 route takes an API key or a machine client's token (a user's token is not one) of
  // an org whose subscription serves inference.
  app.addHook('onRequest', app.authenticate);
  app.addHook('preHandler', async (request) => {
    if (!request.apiKey)
      throw new InferenceError('UNAUTHENTICATED', 'invalid_api_key', 'The inference API takes an API key.', {
        type: 'authentication_error',
      });
    const inactive = subscriptionRefusal(request.apiKey);
    if (inactive) throw inactive;
  });

  /** The tries for a model: its candidates, then its fallback model's (when the key may use it). */
  function attemptsFor(
    model: ModelRoute,
    key: VerifiedKey,
    plan: PlanLimits,
    ip: string,
    affinityKey: string,
  ) {
    const attempts: Attempt[] = router
      .candidates(model, affinityKey)
      .slice(0, config.GATEWAY_MAX_ATTEMPTS)
      .map((target) => ({ target, model: model.name }));
    const fallback = model.fallbackModel ? app.modelRegistry.model(model.fallbackModel) : undefined;
    if (fallback && mayUse(key, plan, fallback, 'invoke', ip))
      for (const target of router.candidates(fallback, affinityKey).slice(0, config.GATEWAY_MAX_ATTEMPTS))
        attempts.push({ target, model: fallback.name });
    return attempts;
  }

  async function infer(endpoint: InferenceEndpoint, request: FastifyRequest, reply: FastifyReply) {
    const started = Date.now();
    const key = currentApiKey(request);
    const body = readInferenceBody(endpoint, request.body);
    const plan = planLimits(key.plan);
    const model = app.modelRegistry.model(body.model);
    if (!model || !mayUse(key, plan, model, 'invoke', request.ip)) throw modelNotFound(body.model);

    const generates = endpoint !== 'embeddings';
    if (generates && body.maxTokens !== null && body.maxTokens > plan.maxTokensPerRequest)
      throw new InferenceError(
        'VALIDATION',
        'max_tokens_exceeded',
        `max_tokens may be at most ${plan.maxTokensPerRequest} on this plan.`,
        { param: body.fields.max_completion_tokens === undefined ? 'max_tokens' : 'max_completion_tokens' },
      );
    // Without a budget from the client, the plan's cap is the budget (and what the limits reserve).
    if (generates && body.maxTokens === null) body.fields.max_tokens = plan.maxTokensPerRequest;
    const promptEstimate = estimateTokens(body.promptText);
    const reserveTokens = promptEstimate + (generates ? (body.maxTokens ?? plan.maxTokensPerRequest) : 0);

    const admission = await app.limiter.admit({
      orgId: key.orgId,
      keyId: key.keyId,
      plan,
      key: { requestsPerMinute: key.requestsPerMinute, tokensPerMinute: key.tokensPerMinute },
      reserveTokens,
    });
    if (!admission.admitted) throw refusal(admission);

    let settled = false;
    const settle = (usedTokens: number) => {
      if (settled) return;
      settled = true;
      void app.limiter.settle(admission.reservation, usedTokens);
    };
    try {
      const attempts = attemptsFor(model, key, plan, request.ip, affinityKey(body.fields));
      if (attempts.length === 0)
        throw new InferenceError(
          'UNAVAILABLE',
          'model_unavailable',
          `The model '${model.name}' has no live deployment.`,
        );
      await forwarder.forward({
        request,
        reply,
        endpoint,
        body,
        attempts,
        headers: admission.headers,
        finish: async (outcome: ForwardOutcome) => {
          const usage = outcome.usage;
          const promptTokens =
            usage?.promptTokens ?? (outcome.attempt && !outcome.cancelled ? promptEstimate : 0);
          const completionTokens = usage?.completionTokens ?? outcome.completionEstimate;
          try {
            await app.usageRecorder.record({
              id: randomUUID(),
              occurredAt: new Date(started).toISOString(),
              orgId: key.orgId,
              teamId: key.teamId,
              keyId: key.keyId,
              model: outcome.attempt?.model ?? model.name,
              deploymentId: outcome.attempt?.target.deploymentId ?? null,
              promptTokens,
              completionTokens,
              cachedTokens: usage?.cachedTokens ?? 0,
              estimated: usage === null && promptTokens + completionTokens > 0,
              timeToFirstTokenMs: outcome.timeToFirstTokenMs,
              durationMs: Date.now() - started,
              status: outcome.status,
              streamed: body.stream,
              cancelled: outcome.cancelled,
              requestId: request.id,
            });
          } catch (err) {
            request.log.error({ err }, 'usage event not recorded');
          }
          settle(promptTokens + completionTokens);
        },
      });
    } finally {
      settle(0);
    }
    return reply;
  }

  const inferenceRoute = {
    bodyLimit: config.GATEWAY_BODY_LIMIT_BYTES,
    logLevel: 'warn' as const,
    schema: { hide: true },
  };
  app.post('/chat/completions', inferenceRoute, (request, reply) =>
    infer('chat/completions', request, reply),
  );
  app.post('/completions', inferenceRoute, (request, reply) => infer('completions', request, reply));
  app.post('/embeddings', inferenceRoute, (request, reply) => infer('embeddings', request, reply));

  app.get('/models', { logLevel: 'warn', schema: { hide: true } }, async (request) => {
    const key = currentApiKey(request);
    const plan = planLimits(key.plan);
    const data = app.modelRegistry
      .list()
      .filter((model) => mayUse(key, plan, model, 'models.read', request.ip))
      .map(modelObject);
    return { object: 'list', data };
  });

  // A wildcard: model names such as meta-llama/Llama-3.1-8B-Instruct contain slashes.
  app.get<{ Params: { '*': string } }>(
    '/models/*',
    { logLevel: 'warn', schema: { hide: true } },
    async (request) => {
      const key = currentApiKey(request);
      const name = request.params['*'];
      const model = app.modelRegistry.model(name);
      if (!model || !mayUse(key, planLimits(key.plan), model, 'models.read', request.ip))
        throw modelNotFound(name);
      return modelObject(model);
    },
  );
}
