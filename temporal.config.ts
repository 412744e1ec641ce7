// What a workflow bundle may import about Temporal: task queues, workflow ids, schedules, search
// attributes, activity timeouts and retry policies. No I/O and no Node built-ins here: the
// connection (address, namespace, TLS files) is set up in runtime/temporal-connection.ts.
import type { ActivityOptions, RetryPolicy } from '@temporalio/common';

export const taskQueues = {
  /** Tenant lifecycle: onboarding, the subscription, GDPR exports and erasures, file ingestion. */
  tenants: 'vlinders-tenants',
  /**
   * Scheduled platform runs: billing, and the daily audit-chain verification (their own worker
   * process, so a long run never delays a tenant's workflow).
   */
  billing: 'vlinders-billing',
  /** The serving layer: each cluster's Serve config writer, model rollouts, the capacity loops. */
  serving: 'vlinders-serving',
} as const;

export const workflowIds = {
  onboarding: (orgId: string) => `onboarding/${orgId}`,
  subscription: (orgId: string) => `subscription/${orgId}`,
  /** One per billing window, named by the window's start hour in UTC: billing/2026-11-26T13:00Z. */
  billingRun: (windowStart: Date) => `billing/${windowStart.toISOString().slice(0, 13)}:00Z`,
  /** The one writer of a Ray Serve cluster's applications. */
  serveCluster: (cluster: string) => `serve-cluster/${cluster}`,
  rollout: (model: string, version: string) => `rollout/${model}/${version}`,
  capacity: (pool: string) => `capacity/${pool}`,
  gdprExport: (requestId: string) => `gdpr-export/${requestId}`,
  gdprErasure: (requestId: string) => `gdpr-erasure/${requestId}`,
  /** A file's ingestion into one vector store (a file may be in several). */
  ingest: (fileId: string, vectorStoreId: string) => `ingest/${fileId}/${vectorStoreId}`,
} as const;

/** Temporal Schedules, created idempotently by `npm run schedules:ensure`. */
export const scheduleIds = {
  billing: 'billing-hourly',
  auditChains: 'audit-chains-daily',
} as const;

/** Custom search attributes registered on the namespace (operators filter by tenant in the UI). */
export const searchAttributes = {
  orgId: 'VlindersOrgId',
} as const;

const standardRetry: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  nonRetryableErrorTypes: ['VALIDATION', 'NOT_FOUND', 'CONFLICT'],
};

/** Named activity option presets; workflows pick one instead of inline numbers. */
export const activityPresets = {
  /** A short database write: retried for up to 10 minutes, then the workflow compensates. */
  database: { startToCloseTimeout: '30 seconds', scheduleToCloseTimeout: '10 minutes', retry: standardRetry },
  /** A call to an outside system (mail, Stripe): longer timeout, retried for up to an hour. */
  external: { startToCloseTimeout: '1 minute', scheduleToCloseTimeout: '1 hour', retry: standardRetry },
  /**
   * A billing run's step for one tenant: heartbeats let a killed worker's attempt be retried within
   * seconds; retried for up to an hour (a Stripe outage), then the run goes on without the tenant.
   */
  billing: {
    startToCloseTimeout: '2 minutes',
    heartbeatTimeout: '10 seconds',
    scheduleToCloseTimeout: '1 hour',
    retry: standardRetry,
  },
  /** An entity workflow's own writes (entitlements): retried without a deadline, so an outage delays
   * the lifecycle instead of ending it. */
  durable: {
    startToCloseTimeout: '30 seconds',
    retry: { ...standardRetry, maximumInterval: '5 minutes' },
  },
  /**
   * A capacity loop's sample of a pool's metrics: quick, tried three times, then the loop holds for
   * this tick (it never acts on old data) and samples again at the next.
   */
  sample: {
    startToCloseTimeout: '15 seconds',
    scheduleToCloseTimeout: '45 seconds',
    retry: { ...standardRetry, maximumAttempts: 3 },
  },
  /**
   * A GDPR export's read of one store: heartbeats let a killed worker's attempt be retried within
   * seconds; a store that keeps failing (Stripe down) is retried without a deadline, backing off to
   * six hours, while the workflow's own timer flags the request once its legal deadline passes.
   */
  dataExport: {
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: '30 seconds',
    retry: { ...standardRetry, maximumInterval: '6 hours' },
  },
  /**
   * A file's ingestion into a vector store: heartbeats carry the chunks done, so a killed worker's
   * retry resumes there; an embedding model that stays down fails the file after an hour (its row
   * says why), and an unreadable file fails at once (VALIDATION).
   */
  ingestion: {
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: '1 minute',
    scheduleToCloseTimeout: '1 hour',
    retry: { ...standardRetry, maximumInterval: '5 minutes' },
  },
  /**
   * Reading and hashing one org's whole audit chain: minutes for a long chain; retried for up to an
   * hour (a database outage), then the daily verification fails and the next day's runs again.
   */
  verification: {
    startToCloseTimeout: '10 minutes',
    scheduleToCloseTimeout: '1 hour',
    retry: standardRetry,
  },
  /** Compensation must finish: retried without a deadline. */
  compensation: {
    startToCloseTimeout: '30 seconds',
    retry: { ...standardRetry, maximumInterval: '5 minutes' },
  },
} satisfies Record<string, ActivityOptions>;
