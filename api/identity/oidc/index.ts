// Mounts the built-in OAuth 2.0 / OpenID Connect server (oidc-provider, a Koa application) under
// /oidc: our interaction pages are Fastify routes, every other /oidc/* request goes to the
// provider's callback untouched — Fastify parses no body there (the provider reads the stream
// itself) and hands the raw request and response over (hijack). The API verifies the provider's
// access tokens through `oidcTokens` (api/plugins/auth.ts).
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { masterKeyFromConfig } from '../../../runtime/envelope.js';
import type { AuthThrottle } from '../auth-throttle.js';
import { preparePasswordVerification } from '../accounts/passwords.js';
import { OidcAccessTokens } from './access-tokens.js';
import { deleteExpiredPayloads } from './adapter.js';
import { auditProviderEvents } from './audit-events.js';
import { OidcHost } from './host.js';
import interactions from './interactions.js';
import { apiResource, mountPath, oidcIssuer } from './provider.js';

declare module 'fastify' {
  interface FastifyInstance {
    oidcTokens: OidcAccessTokens;
  }
}

/** Expired provider rows are never answered; this sweep only keeps the table small. */
const sweepIntervalMs = 10 * 60_000;

/** The endpoints that take a client secret, a code or a refresh token: brute-force targets. */
const tokenEndpoints = /^\/token(\/introspection|\/revocation)?\/?(\?|$)/;

const mount: FastifyPluginAsync<{ host: OidcHost; throttle: AuthThrottle }> = async (
  app,
  { host, throttle },
) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  /** Hands the raw request to the provider as if it had asked for `providerUrl` under the mount path. */
  const forward = async (request: FastifyRequest, reply: FastifyReply, providerUrl: string) => {
    const { callback } = await host.current();
    const raw = request.raw as IncomingMessage & { originalUrl?: string };
    // oidc-provider derives its mount path from originalUrl minus url.
    raw.originalUrl = `${mountPath}${providerUrl}`;
    raw.url = providerUrl;
    reply.raw.setHeader('x-request-id', request.id);
    reply.hijack();
    await callback(raw, reply.raw);
  };

  app.all(`${mountPath}/*`, { schema: { hide: true } }, async (request, reply) => {
    const providerUrl = (request.raw.url ?? '').slice(mountPath.length) || '/';
    // Token requests spend the same per-address budget as /api/auth/login (429 before the provider).
    if (request.method === 'POST' && tokenEndpoints.test(providerUrl))
      await throttle.admitAddress(request.ip);
    await forward(request, reply, providerUrl);
  });
  // RFC 8414: the metadata of issuer https://host/oidc lives at /.well-known/oauth-authorization-server/oidc.
  app.get(
    `/.well-known/oauth-authorization-server${mountPath}`,
    { schema: { hide: true } },
    (request, reply) => forward(request, reply, '/.well-known/openid-configuration'),
  );
};

export default fp(
  async function oidc(app: FastifyInstance) {
    const { config, db } = app;
    const host = new OidcHost({
      config,
      db,
      master: masterKeyFromConfig(config),
      onBuild: (provider) => auditProviderEvents(provider, db, app.log),
    });
    await host.refresh();
    await preparePasswordVerification();
    app.decorate('oidcTokens', new OidcAccessTokens(host, db, oidcIssuer(config), apiResource(config)));

    // The login page and the token endpoints spend the same brute-force counters as /api/auth/login.
    await app.register(interactions, { host, throttle: app.authThrottle });
    await app.register(mount, { host, throttle: app.authThrottle });

    const sweep = setInterval(() => {
      deleteExpiredPayloads(db).catch((err: unknown) => app.log.warn({ err }, 'oidc payload sweep failed'));
    }, sweepIntervalMs);
    sweep.unref();
    app.addHook('onClose', async () => clearInterval(sweep));
  },
  { name: 'oidc', dependencies: ['services', 'auth'] },
);
