// Mounts the built-in OAuth 2.0 / OpenID Connect server (oidc-provider, a Koa application) under
// /oidc: our interaction pages are Fastify routes, every other /oidc/* request goes to the
// provider's callback untouched — Fastify parses no body there (the provider reads the stream
// itself) and hands the raw request and response over (hijack). The API verifies the provider's
// access tokens through `oidcTokens` (plugin.ts, app-wide: the auth hooks of every system use it).
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthThrottle } from '../auth-throttle.js';
import type { OidcHost } from './host.js';
import interactions from './interaction-routes.js';
import { mountPath } from './provider.js';

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

/** The provider's routes under /oidc, in the identity system's scope (the provider: plugin.ts). */
export default async function oidcRoutes(app: FastifyInstance) {
  // The login page and the token endpoints spend the same brute-force counters as /api/auth/login.
  await app.register(interactions, { host: app.oidcHost, throttle: app.authThrottle });
  await app.register(mount, { host: app.oidcHost, throttle: app.authThrottle });
}
