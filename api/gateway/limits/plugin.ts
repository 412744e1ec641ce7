// The inference limiter (api/gateway/limits/limiter.ts) as `app.limiter`: in Redis when REDIS_URL is
// set (shared by every replica), in memory otherwise; closed with the app.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { createLimiter, type Limiter } from './limiter.js';
import { monthUsageFromRollups } from './month-usage.js';

declare module 'fastify' {
  interface FastifyInstance {
    limiter: Limiter;
  }
}

export default fp(
  async function limits(app: FastifyInstance) {
    const limiter = createLimiter({
      redis: app.redis,
      policy: app.config.LIMITS_REDIS_DOWN_POLICY,
      timeoutMs: app.config.LIMITS_REDIS_TIMEOUT_MS,
      logger: app.log,
      metrics: app.meter,
      // A monthly counter Redis lost is rebuilt from the ledger's rollups.
      monthUsage: monthUsageFromRollups(app.db),
    });
    app.decorate('limiter', limiter);
    app.addHook('onClose', () => limiter.close());
  },
  { name: 'limits', dependencies: ['services', 'metrics'] },
);
