// The public keys that verify access tokens: every un-retired signing key, so rotation is seamless.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Jwks } from '../../schemas/auth.js';

const jwks: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/.well-known/jwks.json',
    { schema: { tags: ['auth'], response: { 200: Jwks } } },
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return app.accessTokens.jwks();
    },
  );
};

export default jwks;
