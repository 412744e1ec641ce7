// Builds the Fastify application from its plugins and routes. Listening is server.ts's job, so
// tests build the app and use inject().
import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import apiKeys from './identity/api-keys/plugin.js';
import auth from './identity/auth.js';
import { AppError } from './errors.js';
import errors, { sendError } from './plugins/errors.js';
import limits from './gateway/limits/plugin.js';
import metrics from './plugins/metrics.js';
import modelRegistry from './gateway/registry-plugin.js';
import noNul from './plugins/no-nul.js';
import security from './plugins/security.js';
import stripe from './billing/stripe-client.js';
import services, { type AppServices } from './plugins/services.js';
import health from './plugins/health.js';
import authRoutes from './identity/accounts/routes.js';
import jwks from './identity/signing-keys/jwks-routes.js';
import orgs from './control/orgs/routes.js';
import invitations from './control/invitations/routes.js';
import members from './control/members/routes.js';
import teams from './control/teams/routes.js';
import auditLog from './control/audit-log/routes.js';
import codecRoutes from './codec/routes.js';
import apiKeyRoutes from './identity/api-keys/routes.js';
import ssoRoutes from './identity/sso/routes.js';
import ssoLoginRoutes from './identity/sso/login-routes.js';
import adminRoutes from './identity/signing-keys/rotate-routes.js';
import adminModelRoutes from './control/models/routes.js';
import adminBillingRoutes from './billing/reconciliation/routes.js';
import oauthClientRoutes from './identity/oauth-clients/routes.js';
import usageRoutes from './control/usage/routes.js';
import v1Routes from './gateway/routes.js';
import webhookRoutes from './billing/webhooks/routes.js';
import billingRoutes from './billing/routes.js';
import usageRecorder from './gateway/metering/plugin.js';
import oidc from './identity/oidc/index.js';

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
    frameworkErrors: (error, request, reply) => {
      void sendError(request, reply, new AppError('VALIDATION', `The URL is invalid: ${error.message}`));
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

  await app.register(services, deps);
  await app.register(stripe);
  await app.register(errors);
  await app.register(metrics);
  await app.register(limits);
  await app.register(security);
  await app.register(noNul);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Vlinders API', version: '0.1.0', description: 'Multi-tenant AI inference platform' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
  });
  // staticCSP: the docs page gets a CSP that allows exactly its own scripts and styles.
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(health);
  await app.register(apiKeys);
  await app.register(modelRegistry);
  await app.register(auth);
  await app.register(jwks);
  await app.register(authRoutes);
  await app.register(orgs);
  await app.register(invitations);
  await app.register(members);
  await app.register(teams);
  await app.register(auditLog);
  await app.register(apiKeyRoutes);
  await app.register(ssoRoutes);
  await app.register(ssoLoginRoutes);
  await app.register(adminRoutes);
  await app.register(adminModelRoutes);
  await app.register(adminBillingRoutes);
  await app.register(oauthClientRoutes);
  await app.register(usageRecorder);
  await app.register(usageRoutes);
  await app.register(billingRoutes);
  await app.register(v1Routes);
  await app.register(webhookRoutes);
  await app.register(oidc);
  await app.register(codecRoutes, { prefix: '/codec' });

  return app;
}
