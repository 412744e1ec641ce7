// One inference request, start to end, in the order it runs:
//   authenticate → entitlements   (onRequest, before the body is read: a stranger costs no parsing)
//   model and policy → admit → route → forward → meter → settle   (the handler)
// Each step is a method below; the routes (routes.ts) only wire them. The forwarder
// (forwarder.ts) talks to the upstreams, the request meter (metering/request-meter.ts) records the
// one usage event and settles the limit reservation.
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { authorizeKey } from '../../core/policy.js';
import { planLimits, type PlanLimits } from '../../core/plans.js';
import { InferenceError } from '../errors.js';
import type { VerifiedKey } from '../identity/api-keys/verifier.js';
import type { Attempt, Forwarder } from './forwarder.js';
import { inferenceKeyHook, inferenceKeyOf } from './inference-key.js';
import { modelNameRewrite } from './model-name.js';
import {
  estimatePromptTokens,
  readInferenceBody,
  upstreamBody,
  type InferenceBody,
  type InferenceEndpoint,
} from './inference-body.js';
import type { Admission, Limiter } from './limits/limiter.js';
import type { InferenceMetrics } from './metering/inference-metrics.js';
import { RequestMeter, unrouted } from './metering/request-meter.js';
import type { UsageRecorder } from './metering/usage-recorder.js';
import type { ModelRegistry, ModelRoute } from './registry.js';
import type { Router } from './routing/router.js';

export interface PipelineParts {
  authenticate: (request: FastifyRequest) => Promise<void>;
  registry: ModelRegistry;
  limiter: Limiter;
  router: Router;
  forwarder: Forwarder;
  usageRecorder: UsageRecorder;
  /** Requests, TTFT and tokens by model and deployment; absent in tests that do not read them. */
  metrics?: InferenceMetrics;
  log: FastifyBaseLogger;
  /** Upstreams tried per model (GATEWAY_MAX_ATTEMPTS), then as many of the fallback model's. */
  maxAttempts: number;
}

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

const modelNotFound = (model: string) =>
  new InferenceError(
    'NOT_FOUND',
    'model_not_found',
    `The model '${model}' does not exist or this key may not use it.`,
    { param: 'model', type: 'invalid_request_error' },
  );

export class InferencePipeline {
  /** Authentication and entitlements (inference-key.ts). */
  readonly authenticate: (request: FastifyRequest) => Promise<void>;

  constructor(private readonly parts: PipelineParts) {
    this.authenticate = inferenceKeyHook(parts.authenticate);
  }

  /** An inference request after authentication: model and policy, admit, route, forward, meter, settle. */
  async infer(
    endpoint: InferenceEndpoint,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<FastifyReply> {
    const key = inferenceKeyOf(request);
    const body = readInferenceBody(endpoint, request.body);
    const plan = planLimits(key.plan);
    const model = this.usableModel(key, body.model, 'invoke');
    const budget = this.completionBudget(endpoint, body, plan);
    const promptEstimate = estimatePromptTokens(body);

    const admission = await this.parts.limiter.admit({
      orgId: key.orgId,
      keyId: key.keyId,
      plan,
      key: { requestsPerMinute: key.requestsPerMinute, tokensPerMinute: key.tokensPerMinute },
      reserveTokens: promptEstimate + (budget ?? 0),
    });
    if (!admission.admitted) throw refusal(admission);

    const meter = new RequestMeter(
      this.parts.usageRecorder,
      this.parts.limiter,
      this.parts.log,
      admission.reservation,
      {
        requestId: request.id,
        orgId: key.orgId,
        teamId: key.teamId,
        keyId: key.keyId,
        model: model.name,
        streamed: body.stream,
        promptEstimate,
      },
      this.parts.metrics,
    );
    try {
      const attempts = this.route(model, key, body, budget);
      if (attempts.length === 0) {
        await meter.finish(unrouted);
        throw new InferenceError(
          'UNAVAILABLE',
          'model_unavailable',
          `The model '${model.name}' has no live deployment.`,
        );
      }
      await this.parts.forwarder.forward({
        request,
        reply,
        endpoint,
        stream: body.stream,
        clientWantsUsage: body.clientWantsUsage,
        attempts,
        headers: admission.headers,
        finish: (outcome) => meter.finish(outcome),
      });
    } finally {
      meter.abandon();
    }
    return reply;
  }

  /** The models this key may list. */
  listModels(request: FastifyRequest): ModelRoute[] {
    const key = inferenceKeyOf(request);
    return this.parts.registry.list().filter((model) => this.mayUse(key, model, 'models.read'));
  }

  /** One model, if this key may see it. */
  showModel(request: FastifyRequest, name: string): ModelRoute {
    return this.usableModel(inferenceKeyOf(request), name, 'models.read');
  }

  /** The model from the registry, if active and the policy lets the key use it (scopes, allow-lists, plan). */
  private usableModel(key: VerifiedKey, name: string, action: 'invoke' | 'models.read'): ModelRoute {
    const model = this.parts.registry.model(name);
    if (!model || !this.mayUse(key, model, action)) throw modelNotFound(name);
    return model;
  }

  private mayUse(key: VerifiedKey, model: ModelRoute, action: 'invoke' | 'models.read'): boolean {
    return model.status === 'active' && authorizeKey(key, action, { model: model.name });
  }

  /** The completion budget: the client's, at most the plan's cap; the plan's cap when none was asked. */
  private completionBudget(
    endpoint: InferenceEndpoint,
    body: InferenceBody,
    plan: PlanLimits,
  ): number | null {
    if (endpoint === 'embeddings') return null;
    if (body.maxTokens === null) return plan.maxTokensPerRequest;
    if (body.maxTokens > plan.maxTokensPerRequest)
      throw new InferenceError(
        'VALIDATION',
        'max_tokens_exceeded',
        `max_tokens may be at most ${plan.maxTokensPerRequest} on this plan.`,
        { param: body.fields.max_completion_tokens === undefined ? 'max_tokens' : 'max_completion_tokens' },
      );
    return body.maxTokens;
  }

  /** The tries: the model's candidates, then its fallback model's (when the key may use it). */
  private route(model: ModelRoute, key: VerifiedKey, body: InferenceBody, budget: number | null): Attempt[] {
    const { registry, router, maxAttempts } = this.parts;
    const fallback = model.fallbackModel ? registry.model(model.fallbackModel) : undefined;
    const models = fallback && this.mayUse(key, fallback, 'invoke') ? [model, fallback] : [model];
    // One body per upstream model name: the deployments of a model mostly share it.
    const bodies = new Map<string, string>();
    const attempts: Attempt[] = [];
    for (const candidate of models)
      for (const target of router.candidates(candidate, body.affinityKey).slice(0, maxAttempts)) {
        let upstream = bodies.get(target.upstreamModel);
        if (upstream === undefined) {
          upstream = upstreamBody(body, target.upstreamModel, budget);
          bodies.set(target.upstreamModel, upstream);
        }
        attempts.push({
          target,
          model: candidate.name,
          body: upstream,
          rename: modelNameRewrite(target.upstreamModel, candidate.name),
        });
      }
    return attempts;
  }
}
