// Builds the real app against the suite's services: app-role Postgres, Redis, Temporal.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import { Redis } from 'ioredis';
import { buildApp, type BuildOptions } from '../../api/app.js';
import { createDb, createPool } from '../../db/client.js';
import type { Config } from '../../runtime/config.js';
import { EgressGuard, egressSettingsFromConfig, type EgressLookup } from '../../runtime/egress.js';
import { createTemporalClient } from '../../runtime/temporal-client.js';
import { testConfig } from './config.js';

export interface TestApp {
  app: FastifyInstance;
  config: Config;
  close(): Promise<void>;
}

export async function buildTestApp(
  overrides: Record<string, string> = {},
  options: BuildOptions & { egressLookup?: EgressLookup } = {},
): Promise<TestApp> {
  const config = testConfig(overrides);
  const pool = createPool({
    url: config.DATABASE_URL,
    size: 5,
    applicationName: 'vlinders-test',
    queryTimeoutMs: config.DATABASE_QUERY_TIMEOUT_MS,
    connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
  });
  const db = createDb(pool);
  // The API's own client: payloads are encrypted with the tenant's data key, as in production.
  const temporal = await createTemporalClient(config, db);
  const redis = config.REDIS_URL ? new Redis(config.REDIS_URL) : undefined;
  // A test may replace the egress guard's resolver (test/attack/egress.test.ts plays DNS with it).
  const { egressLookup, ...buildOptions } = options;
  const egress = egressLookup
    ? new EgressGuard({ ...egressSettingsFromConfig(config), lookup: egressLookup })
    : undefined;
  const app = await buildApp({ config, pool, db, temporal, redis, egress }, buildOptions);
  await app.ready();
  return {
    app,
    config,
    close: async () => {
      await app.close();
      await Promise.all([pool.end(), temporal.connection.close(), redis?.quit()]);
    },
  };
}

/**
 * The app for one test file: built before its tests, closed after them. The returned object is
 * filled in by the beforeAll hook, so read its fields inside tests and hooks.
 */
export function useTestApp(overrides: Record<string, string> = {}): TestApp {
  const t = {} as TestApp;
  beforeAll(async () => {
    Object.assign(t, await buildTestApp(overrides));
  });
  afterAll(async () => {
    await t.close?.();
  });
  return t;
}
