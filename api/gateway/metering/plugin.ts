// The gateway's usage recorder (api/gateway/metering/usage-recorder.ts); on shutdown the app waits
// for the events still being recorded and writes the ones buffered for the ledger, so a drained
// request's usage is never dropped.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { createUsageRecorder, type UsageRecorder } from './usage-recorder.js';

declare module 'fastify' {
  interface FastifyInstance {
    usageRecorder: UsageRecorder;
  }
}

export default fp(
  async function usageRecorder(app: FastifyInstance) {
    // A connection of its own whose appends fail fast when Redis hangs or is gone (no retries, a
    // command timeout): the event then goes to the ledger directly, and the answer is not held up.
    const redis = app.redis?.duplicate({
      commandTimeout: app.config.USAGE_STREAM_TIMEOUT_MS,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectionName: 'vlinders-usage',
    });
    redis?.on('error', () => undefined);
    const recorder = createUsageRecorder({
      redis,
      db: app.db,
      logger: app.log,
      stream: app.config.USAGE_STREAM,
    });
    app.decorate('usageRecorder', recorder);
    app.addHook('onClose', async () => {
      await recorder.close();
      redis?.disconnect();
    });
  },
  { name: 'usage-recorder', dependencies: ['services'] },
);
