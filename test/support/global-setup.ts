// Vitest global setup: real services up once for the whole run, migrated, torn down at the end.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrateDatabase } from '../../db/migrate.js';
import {
  createNamespace,
  repoRoot,
  startPostgres,
  startRedis,
  startStripeMock,
  startTemporal,
} from './services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    adminDatabaseUrl: string;
    redisUrl: string;
    temporalAddress: string;
    stripeUrl: string;
  }
}

/**
 * Namespaces of their own for the files that run a worker, so that worker never picks up the
 * workflows other files start in 'default' (and no other file's worker takes theirs).
 */
export const workerNamespaces = { e2e: 'e2e', crash: 'worker-crash', billingApi: 'billing-api' } as const;

export const appLogin = { user: 'vlinders_api', password: 'vlinders-test' };

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // One folder per run, so parallel runs (several checkouts, a developer and CI) never collide.
  const dataRoot = join(repoRoot, '.data/test', String(process.pid));
  mkdirSync(dataRoot, { recursive: true });
  const [postgres, redis, temporal, stripe] = await Promise.all([
    startPostgres(),
    startRedis(dataRoot),
    startTemporal(),
    startStripeMock(),
  ]);
  await migrateDatabase(postgres.adminUrl);
  // The login the app uses: a member of vlinders_app, so it owns nothing and cannot bypass RLS.
  const admin = new pg.Client(postgres.adminUrl);
  await admin.connect();
  await admin.query(
    `CREATE ROLE ${appLogin.user} LOGIN PASSWORD '${appLogin.password}' IN ROLE vlinders_app`,
  );
  await admin.end();
  const appUrl = postgres.adminUrl.replace('postgres@', `${appLogin.user}:${appLogin.password}@`);
  for (const namespace of Object.values(workerNamespaces)) await createNamespace(temporal.address, namespace);
  project.provide('databaseUrl', appUrl);
  project.provide('adminDatabaseUrl', postgres.adminUrl);
  project.provide('redisUrl', redis.url);
  project.provide('temporalAddress', temporal.address);
  project.provide('stripeUrl', stripe.url);
  return async () => {
    await Promise.all([postgres.stop(), redis.stop(), temporal.stop(), stripe.stop()]);
    rmSync(dataRoot, { recursive: true, force: true });
  };
}
