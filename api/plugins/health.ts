// Liveness says the process runs; readiness says its dependencies answer, each one named.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Liveness, Readiness } from './health-schemas.js';

const timeoutMs = 2000;

async function check(probe: () => Promise<unknown>): Promise<{ ok: boolean; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

const health: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/healthz',
    { schema: { tags: ['health'], response: { 200: Liveness } }, logLevel: 'warn' },
    async () => ({
      status: 'ok' as const,
    }),
  );

  app.get(
    '/readyz',
    { schema: { tags: ['health'], response: { 200: Readiness, 503: Readiness } }, logLevel: 'warn' },
    async (_request, reply) => {
      const probes: Record<string, () => Promise<unknown>> = {
        postgres: () => app.pool.query('SELECT 1'),
        temporal: () => app.temporal.connection.workflowService.getSystemInfo({}),
      };
      const redis = app.redis;
      if (redis) probes.redis = () => redis.ping();
      const entries = await Promise.all(
        Object.entries(probes).map(async ([name, probe]) => [name, await check(probe)] as const),
      );
      const checks = Object.fromEntries(entries);
      const ready = entries.every(([, c]) => c.ok);
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unready', checks });
    },
  );
};

export default health;
