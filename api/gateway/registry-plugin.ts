// The model registry in memory (api/gateway/registry.ts), loaded when the app is ready and polled
// until it closes. The gateway resolves `model` names through `app.modelRegistry`; the cost gauges
// (gpu-cost-metrics.ts) read the GPUs it holds.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { masterKeyFromConfig } from '../../runtime/envelope.js';
import { observeGpuCosts } from './gpu-cost-metrics.js';
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
    const stopGauges = observeGpuCosts(
      app.meter,
      registry,
      app.config.GPU_COST_PER_HOUR ?? {},
      app.config.GPU_COST_CURRENCY,
    );
    app.addHook('onReady', () => registry.start());
    app.addHook('onClose', async () => {
      stopGauges();
      await registry.close();
    });
  },
  { name: 'model-registry', dependencies: ['services', 'metrics'] },
);
