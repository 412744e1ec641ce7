// Builds the real app against the suite's services: app-role Postgres, Redis, Temporal.
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { buildApp } from '../../api/app.js';
import { createDb, createPool } from '../../db/client.js';
import type { Config } from '../../runtime/config.js';
import { testConfig } from './config.js';

export interface TestApp {
  app: FastifyInstance;
  config: Config;
  close(): Promise<void>;
}

export async function buildTestApp(overrides: Record<string, string> = {}): Promise<TestApp> {
  const config = testConfig(overrides);
  const pool = createPool({ url: config.DATABASE_URL, size: 5, applicationName: 'vlinders-test' });
  const db = createDb(pool);
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const redis = config.REDIS_URL ? new Redis(config.REDIS_URL) : undefined;
  const app = await buildApp({ config, pool, db, temporal, redis });
  await app.ready();
  return {
    app,
    config,
    close: async () => {
      await app.close();
      await Promise.all([pool.end(), connection.close(), redis?.quit()]);
    },
  };
}
