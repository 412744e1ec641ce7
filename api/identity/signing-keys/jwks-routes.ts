// The public keys that verify access tokens: every signing key not yet retired, including a
// rotated-in key that does not sign yet, so rotation is seamless. A replica serves a new key at most
// keyRefreshSeconds after the rotation, and caches keep the JWKS for max-age; the max-age is capped
// so that both together fit in SIGNING_KEY_PUBLISH_SECONDS: every cache has the new key before it
// signs its first token.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Jwks } from '../accounts/schemas.js';
import { keyRefreshSeconds } from './signing-keys.js';

const maxAgeSeconds = 300;

const jwks: FastifyPluginAsyncTypebox = async (app) => {
  const maxAge = Math.max(
    0,
    Math.min(maxAgeSeconds, app.config.SIGNING_KEY_PUBLISH_SECONDS - keyRefreshSeconds),
  );
  app.get(
    '/.well-known/jwks.json',
    { schema: { tags: ['auth'], response: { 200: Jwks } } },
    async (_request, reply) => {
      reply.header('cache-control', `public, max-age=${maxAge}`);
      return app.accessTokens.jwks();
    },
  );
};

export default jwks;
