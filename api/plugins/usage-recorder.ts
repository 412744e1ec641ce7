// The gateway's usage recorder (api/gateway/metering/usage-recorder.ts); on shutdown the app waits
// for the events still being recorded, so a drained request's usage is never dropped.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { createUsageRecorder, type UsageRecorder } from '../gateway/metering/usage-recorder.js';

declare module 'fastify' {
  interface FastifyInstance {
    usageRecorder: UsageRecorder;
  }
}

export default fp(
  async function usageRecorder(app: FastifyInstance) {
    const recorder = createUsageRecorder({
      redis: app.redis,
      db: app.db,
      logger: app.log,
      stream: app.config.USAGE_STREAM,
    });
    app.decorate('usageRecorder', recorder);
    app.addHook('onClose', () => recorder.close());
  },
  { name: 'usage-recorder', dependencies: ['services'] },
);
