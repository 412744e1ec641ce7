// The API-key verifier (hot path) and issuer (management) shared by the auth hook and the routes.
// With Redis, the verifier subscribes to key invalidations from every replica; closed on shutdown.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { masterKeyFromConfig } from '../../../runtime/envelope.js';
import { loadApiKeyPepper } from '../../../runtime/api-key-secrets.js';
import { ApiKeyVerifier } from './verifier.js';
import type { KeyIssuer } from './keys.js';

declare module 'fastify' {
  interface FastifyInstance {
    apiKeyVerifier: ApiKeyVerifier;
    apiKeyIssuer: KeyIssuer;
  }
}

export default fp(
  async function apiKeys(app: FastifyInstance) {
    const pepper = await loadApiKeyPepper(app.db, masterKeyFromConfig(app.config));
    const verifier = new ApiKeyVerifier({
      db: app.db,
      pepper,
      env: app.config.API_KEY_ENV,
      staleServeMs: app.config.API_KEY_STALE_SERVE_SECONDS * 1000,
      redis: app.redis,
      logger: app.log,
    });
    await verifier.start();
    app.decorate('apiKeyVerifier', verifier);
    app.decorate('apiKeyIssuer', {
      pepper,
      env: app.config.API_KEY_ENV,
      invalidate: (prefix: string) => verifier.invalidate(prefix),
    });
    app.addHook('onClose', () => verifier.close());
  },
  { name: 'api-keys', dependencies: ['services'] },
);
