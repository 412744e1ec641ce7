// Platform administration under /api/admin, for platform operators only (platform actions of the
// policy): a signed-in user who is not an operator gets 403, no or a bad token 401.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf, requireSignedIn } from '../auth-plugin.js';
import { RotatedSigningKey } from './schemas.js';
import { errors } from '../../common-schemas.js';
import { signingKeyTimings } from './signing-keys.js';

const adminRoutes: FastifyPluginAsyncTypebox = async (app) => {
  requireSignedIn(app);

  app.post(
    '/api/admin/signing-keys/rotate',
    {
      config: { access: 'signing-keys.rotate' },
      schema: {
        tags: ['admin'],
        summary:
          'Rotate the token signing key: the new key is published now and signs after the publish delay',
        security: [{ bearer: [] }],
        response: { 202: RotatedSigningKey, ...errors(401, 403) },
      },
    },
    async (request, reply) => {
      const { kid, activatesAt } = await app.accessTokens.rotate(
        signingKeyTimings(app.config),
        actorOf(request),
      );
      return reply.code(202).send({ kid, activatesAt: activatesAt.toISOString() });
    },
  );
};

export default adminRoutes;
