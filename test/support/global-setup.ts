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
  startS3Server,
  startStripeMock,
  startTemporal,
} from './services.js';
import { servingInstalled, startRayCluster, type RayCluster } from './ray-serve.js';
import { ServeApi } from '../../activities/ray/serve-api.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    adminDatabaseUrl: string;
    redisUrl: string;
    temporalAddress: string;
    stripeUrl: string;
    /** rclone's S3 server: its endpoint and the credentials it accepts. */
    s3: { endpoint: string; accessKeyId: string; secretAccessKey: string };
    /** The Ray cluster of the serving tests (test/serving/), or null when this run has none. */
    ray: { dashboardUrl: string; serveUrl: string; metricsUrl: string; modelsDir: string } | null;
  }
}

/**
 * Whether this run starts Ray Serve with vLLM (seconds to start, minutes of CPU to load the
 * models): for the whole suite, or when a file filter names the serving tests. VLINDERS_RAY=0 or 1
 * decides instead. The serving tests fail with a clear message when it is not running.
 */
function wantsRay(): boolean {
  if (process.env.VLINDERS_RAY) return process.env.VLINDERS_RAY === '1';
  const filters = process.argv.slice(process.argv.indexOf('run') + 1).filter((a) => !a.startsWith('-'));
  return servingInstalled() && (filters.length === 0 || filters.some((f) => f.includes('serving')));
}

/**
 * Namespaces of their own for the files that run a worker, so that worker never picks up the
 * workflows other files start in 'default' (and no other file's worker takes theirs).
 */
export const workerNamespaces = {
  e2e: 'e2e',
  crash: 'worker-crash',
  billingApi: 'billing-api',
  gdprExport: 'gdpr-export',
  dataRequests: 'data-requests',
  vectorStores: 'vector-stores',
} as const;

export const appLogin = { user: 'vlinders_api', password: 'vlinders-test' };

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // One folder per run, so parallel runs (several checkouts, a developer and CI) never collide.
  const dataRoot = join(repoRoot, '.data/test', String(process.pid));
  mkdirSync(dataRoot, { recursive: true });
  const [postgres, redis, temporal, stripe, s3, ray] = await Promise.all([
    startPostgres(),
    startRedis(dataRoot),
    startTemporal(),
    startStripeMock(),
    startS3Server(dataRoot),
    wantsRay() ? startRay(dataRoot) : null,
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
  project.provide('s3', {
    endpoint: s3.url,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  });
  project.provide(
    'ray',
    ray && {
      dashboardUrl: ray.dashboardUrl,
      serveUrl: ray.serveUrl,
      metricsUrl: ray.metricsUrl,
      modelsDir: ray.modelsDir,
    },
  );
  return async () => {
    await Promise.all([
      postgres.stop(),
      redis.stop(),
      temporal.stop(),
      stripe.stop(),
      s3.stop(),
      ray?.stop(),
    ]);
    rmSync(dataRoot, { recursive: true, force: true });
  };
}

/**
 * The Ray head node, with the CPU profile deployed but not awaited: the models load (a minute or
 * more) while the rest of the suite runs; the serving tests wait for RUNNING (test/serving/).
 */
async function startRay(dataRoot: string): Promise<RayCluster> {
  const ray = await startRayCluster({ logFile: join(dataRoot, 'ray.log'), exclusive: true });
  await new ServeApi(ray.dashboardUrl).apply(ray.config);
  return ray;
}
