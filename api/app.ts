// Builds the Fastify application: the app-wide plugins, then the systems (api/gateway, identity,
// control, billing, codec) and the admin console, each an encapsulated plugin. Listening is
// server.ts's job, so tests build the app and use inject().
import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import billing from './billing/index.js';
import codec from './codec/index.js';
import adminConsole from './console/index.js';
import control from './control/index.js';
import { AppError } from './errors.js';
import { sendInferenceError } from './gateway/errors.js';
import gateway from './gateway/index.js';
import limits from './gateway/limits/plugin.js';
import usageRecorder from './gateway/metering/plugin.js';
import modelRegistry from './gateway/registry-plugin.js';
import apiKeys from './identity/api-keys/plugin.js';
import auth from './identity/auth-plugin.js';
import identity from './identity/index.js';
import oidc from './identity/oidc/plugin.js';
import errors, { sendError } from './plugins/errors.js';
import health from './plugins/health.js';
import metrics from './plugins/metrics.js';
import noNul from './plugins/no-nul.js';
import openapi from './plugins/openapi.js';
import security from './plugins/security.js';
import services, { type AppServices } from './plugins/services.js';

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

export interface BuildOptions {
  logger?: FastifyBaseLogger | undefined;
  /** Certificate and key (PEM) to serve HTTPS directly; without them the API speaks plain HTTP. */
  tls?: { cert: Buffer; key: Buffer } | undefined;
}

export async function buildApp(deps: AppServices, options: BuildOptions = {}): Promise<FastifyInstance> {
  const tls = options.tls;
  const app = Fastify({
    loggerInstance: options.logger,
    // TLS usually ends at the ingress; given a certificate, the API serves HTTPS itself. Fastify's
    // types tie the server kind to the instance type; routes and hooks are the same for both, so
    // the option is passed untyped and the instance keeps its HTTP typing.
    ...(tls ? ({ https: tls } as object) : {}),
    bodyLimit: deps.config.BODY_LIMIT_BYTES,
    requestIdHeader: false,
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && requestIdPattern.test(incoming) ? incoming : randomUUID();
    },
    return503OnClosing: true,
    // Malformed URLs and over-long path parameters get the same JSON 400 as any other bad input.
    // They fail before routing, so no system's scope (nor its error shape) applies yet: a /v1 URL
    // is answered in OpenAI's shape, which the data plane's clients parse.
    frameworkErrors: (error, request, reply) => {
      const send = request.url.startsWith('/v1/') ? sendInferenceError : sendError;
      void send(request, reply, new AppError('VALIDATION', `The URL is invalid: ${error.message}`));
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // While draining, responses close their keep-alive connection so shutdown need not wait for
  // idle sockets to time out.
  let draining = false;
  app.addHook('preClose', async () => {
    draining = true;
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (draining) reply.header('connection', 'close');
  });

  // App-wide: the clients, error handling, metrics, health, the OpenAPI document, and the services
  // several systems use (API-key verification and the auth hooks; the gateway's registry, limiter
  // and usage recorder, which operators' routes and tests also reach).
  await app.register(services, deps);
  await app.register(errors);
  await app.register(metrics);
  await app.register(openapi);
  await app.register(health);
  await app.register(apiKeys);
  // auth creates the first signing key, which the OIDC provider is built with; auth reads
  // `oidcTokens` only when a request comes.
  await app.register(auth);
  await app.register(oidc);
  await app.register(modelRegistry);
  await app.register(limits);
  await app.register(usageRecorder);

  // The systems, each in its own scope. Browsers come to identity, control, billing and the console
  // only: they get the security headers, CORS and the NUL check; the gateway and the codec endpoint
  // do not.
  await app.register(gateway, { prefix: '/v1' });
  await app.register(codec, { prefix: '/codec' });
  await app.register(async function browserFacing(scope: FastifyInstance) {
    await scope.register(security);
    await scope.register(noNul);
    await scope.register(identity);
    await scope.register(control, { prefix: '/api' });
    await scope.register(billing);
    await scope.register(adminConsole);
  });

  return app;
}
