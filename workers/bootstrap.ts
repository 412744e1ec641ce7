// What every worker process shares: the workflow bundle, the encrypting data converter, the
// database and mailer clients, and a run loop that shuts down gracefully. Temporal's Runtime
// turns SIGINT/SIGTERM into worker.shutdown(): in-flight activities get SHUTDOWN_GRACE_MS to
// finish, then run() resolves and the clients close.
import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import {
  NativeConnection,
  Runtime,
  Worker,
  bundleWorkflowCode,
  type WorkflowBundle,
} from '@temporalio/worker';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createAuditActivities } from '../activities/audit/index.js';
import { createBillingActivities } from '../activities/billing/index.js';
import { createActivities } from '../activities/index.js';
import { createGdprActivities } from '../activities/gdpr/index.js';
import { createGdprErasureActivities } from '../activities/gdpr/erasure.js';
import { createIngestActivities } from '../activities/ingest/index.js';
import { objectStorageFromConfig } from '../activities/storage/index.js';
import { sharedVectorStore } from '../activities/vectors/index.js';
import type { VectorStore } from '../activities/vectors/port.js';
import { createServeActivities } from '../activities/ray/index.js';
import { createCapacityActivities } from '../activities/capacity/index.js';
import { createRolloutActivities, createServeCluster } from '../activities/rollout/index.js';
import { serveClusterClient } from './serve-cluster-client.js';
import { tenantWorkflowsClient } from './tenant-workflows.js';
import { FileMailer, type Mailer } from '../activities/mail/mailer.js';
import { createDb, createPool, type Db } from '../db/client.js';
import { loadApiKeyPepper } from '../runtime/api-key-secrets.js';
import { createDataConverter, failureConverterPath } from '../runtime/codec.js';
import { DataKeyStore } from '../runtime/data-keys.js';
import { masterKeyFromConfig } from '../runtime/envelope.js';
import { setAuditSink } from '../runtime/audit-log.js';
import type { SecurityLog } from '../runtime/security-events.js';
import type { Config } from '../runtime/config.js';
import { createStripe, type Stripe } from '../runtime/stripe.js';
import { temporalWorkerTracing, workflowInterceptorModules } from '../runtime/temporal-tracing.js';
import { taskQueues } from '../temporal.config.js';
import { temporalConnection } from '../runtime/temporal-connection.js';

// From source (tests, tsx) the workflows are TypeScript; from the build (dist/) they are the
// emitted JavaScript beside this module, which webpack bundles the same way.
const moduleExtension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
export const workflowsPath = fileURLToPath(new URL(`../workflows/index${moduleExtension}`, import.meta.url));

/** The workflow bundle, tracing interceptors included (tests share one per suite). */
export function bundleWorkflows(): Promise<WorkflowBundle> {
  return bundleWorkflowCode({ workflowsPath, workflowInterceptorModules, failureConverterPath });
}

export interface TenantsWorkerOptions {
  config: Config;
  connection: NativeConnection;
  db: Db;
  mailer: Mailer;
  /** A prebuilt bundle; without one the worker bundles workflows/index.ts itself. */
  workflowBundle?: WorkflowBundle | undefined;
  taskQueue?: string;
  /** Where an erasure finds the tenant's counters; none without REDIS_URL. */
  redis?: Redis | undefined;
  /** The process's vector store; without one the worker opens its own on first use (never closed). */
  vectors?: (() => Promise<VectorStore>) | undefined;
}

export async function createTenantsWorker(options: TenantsWorkerOptions): Promise<Worker> {
  const { config, connection, db, mailer, workflowBundle } = options;
  // Without a key billing is off: onboarding opens no Stripe customer or subscription.
  const stripe = config.STRIPE_SECRET_KEY ? createStripe(config) : undefined;
  const storage = objectStorageFromConfig(config, db);
  const vectors = options.vectors ?? sharedVectorStore(config).open;
  const dataConverter = createDataConverter(config, db);
  const masterKey = masterKeyFromConfig(config);
  let pepper: Promise<Buffer> | undefined;
  // An erasure cancels the subscription and ends the tenant's workflows through the client.
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter });
  return Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: options.taskQueue ?? taskQueues.tenants,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath }),
    activities: {
      ...createActivities({ db, mailer, mailFrom: config.MAIL_FROM, stripe }),
      ...createGdprActivities({ db, storage, stripe, vectors, publicUrl: config.PUBLIC_URL }),
      ...createGdprErasureActivities({
        db,
        storage,
        stripe,
        redis: options.redis,
        vectors,
        dataKeys: new DataKeyStore(db, masterKey),
        workflows: tenantWorkflowsClient(temporal),
      }),
      ...createIngestActivities({
        db,
        storage,
        vectors,
        inferenceUrl: config.INFERENCE_URL ?? `${config.PUBLIC_URL.replace(/\/$/, '')}/v1`,
        keys: {
          env: config.API_KEY_ENV,
          pepper: () =>
            (pepper ??= loadApiKeyPepper(db, masterKey).catch((err: unknown) => {
              pepper = undefined;
              throw err;
            })),
        },
        redis: options.redis,
      }),
    },
    dataConverter,
    shutdownGraceTime: config.SHUTDOWN_GRACE_MS,
    // Traces continue from the API's span through workflows and activities.
    ...temporalWorkerTracing(),
  });
}

/**
 * Runs one worker process until SIGINT/SIGTERM, then closes its clients: a database pool and a
 * Temporal connection of its own, the worker built by `create`.
 */
async function runWorker(
  config: Config,
  logger: Logger,
  name: string,
  taskQueue: string,
  create: (clients: { connection: NativeConnection; db: Db; mailer: Mailer }) => Promise<Worker>,
): Promise<void> {
  const pool = createPool({
    url: config.DATABASE_URL,
    size: config.DATABASE_POOL_SIZE,
    appRole: config.DATABASE_APP_ROLE,
    applicationName: name,
    queryTimeoutMs: config.DATABASE_WORKER_TIMEOUT_MS,
    connectTimeoutMs: config.DATABASE_WORKER_TIMEOUT_MS,
    onError: (err) => logger.warn({ err }, 'a database connection failed'),
  });
  const db = createDb(pool);
  // Audit entries the activities write are also logged, one line each, with `audit: true`.
  setAuditSink(logger);
  const settings = await temporalConnection(config);
  const connection = await NativeConnection.connect({
    address: settings.address,
    tls: settings.tls,
    apiKey: settings.apiKey,
  });
  try {
    const worker = await create({ connection, db, mailer: new FileMailer(config.MAIL_DIR) });
    logger.info({ taskQueue, namespace: config.TEMPORAL_NAMESPACE }, 'worker started');
    await worker.run();
    logger.info('worker stopped');
  } finally {
    await Promise.allSettled([connection.close(), pool.end()]);
  }
}

/** Runs the tenants worker until SIGINT/SIGTERM, then closes its clients. */
export async function runTenantsWorker(config: Config, logger: Logger): Promise<void> {
  const redis = config.REDIS_URL
    ? new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 })
    : undefined;
  const vectors = sharedVectorStore(config);
  try {
    await runWorker(config, logger, 'vlinders-worker-tenants', taskQueues.tenants, (clients) =>
      createTenantsWorker({ config, ...clients, redis, vectors: vectors.open }),
    );
  } finally {
    redis?.disconnect();
    await vectors.close();
  }
}

export interface BillingWorkerOptions extends Omit<TenantsWorkerOptions, 'taskQueue'> {
  stripe: Stripe;
  /** Where the audit-chain verification's security events go (the process's logger). */
  log: SecurityLog;
}

/**
 * The billing worker: the scheduled platform runs and their activities — billing (Stripe, reports,
 * quota notices, the reconciliation gauges) and the daily audit-chain verification (its gauges).
 */
export async function createBillingWorker(options: BillingWorkerOptions): Promise<Worker> {
  const { config, connection, db, mailer, stripe, log, workflowBundle } = options;
  // The gauges are served with the SDK's metrics at WORKER_METRICS_PORT.
  const metrics = Runtime.instance().metricMeter;
  return Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: taskQueues.billing,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath }),
    activities: {
      ...createBillingActivities({
        db,
        stripe,
        mailer,
        mailFrom: config.MAIL_FROM,
        metrics,
        watermarkMinutes: config.BILLING_WATERMARK_MINUTES,
      }),
      ...createAuditActivities({ db, metrics, log }),
    },
    dataConverter: createDataConverter(config, db),
    shutdownGraceTime: config.SHUTDOWN_GRACE_MS,
    // Each lane of a run holds one activity at a time; a few runs (a backfill beside the
    // schedule) fit without queueing behind each other.
    maxConcurrentActivityTaskExecutions: Math.max(4 * config.BILLING_RUN_CONCURRENCY, 16),
    ...temporalWorkerTracing(),
  });
}

/** Runs the billing worker until SIGINT/SIGTERM, then closes its clients. */
export function runBillingWorker(config: Config, logger: Logger): Promise<void> {
  return runWorker(config, logger, 'vlinders-worker-billing', taskQueues.billing, (clients) =>
    createBillingWorker({ config, ...clients, stripe: createStripe(config), log: logger }),
  );
}

/** The serving worker: each cluster's Serve config writer, model rollouts, the capacity loops. */
export async function createServingWorker(
  options: Omit<TenantsWorkerOptions, 'mailer' | 'taskQueue'>,
): Promise<Worker> {
  const { config, connection, db, workflowBundle } = options;
  const dataConverter = createDataConverter(config, db);
  // Rollouts and capacity loops change a cluster through its writer: updates sent by a client.
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter });
  return Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: taskQueues.serving,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath }),
    activities: {
      ...createServeActivities(),
      ...createCapacityActivities({ clusters: serveClusterClient(temporal) }),
      ...createRolloutActivities({ db, serve: createServeCluster(temporal) }),
    },
    dataConverter,
    shutdownGraceTime: config.SHUTDOWN_GRACE_MS,
    ...temporalWorkerTracing(),
  });
}

/** Runs the serving worker until SIGINT/SIGTERM, then closes its clients. */
export function runServingWorker(config: Config, logger: Logger): Promise<void> {
  return runWorker(config, logger, 'vlinders-worker-serving', taskQueues.serving, (clients) =>
    createServingWorker({ config, ...clients }),
  );
}
