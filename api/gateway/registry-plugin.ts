// The model registry in memory (api/gateway/registry.ts), loaded when the app is ready and polled
// until it closes. The gateway resolves `model` names through `app.modelRegistry`.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { masterKeyFromConfig } from '../../runtime/envelope.js';
import { ModelRegistry } from './registry.js';

declare module 'fastify' {
  interface FastifyInstance {
    modelRegistry: ModelRegistry;
  }
}

export default fp(
  async function modelRegistry(app: FastifyInstance) {
    const registry = new ModelRegistry({
      db: app.db,
      logger: app.log,
      master: masterKeyFromConfig(app.config),
    });
    app.decorate('modelRegistry', registry);
    app.addHook('onReady', () => registry.start());
    app.addHook('onClose', () => registry.close());
  },
  { name: 'model-registry', dependencies: ['services'] },
);
