// The one place for Temporal settings: connection, namespace, TLS, task queues, workflow ids,
// activity timeouts and retry policies. Workflows import the presets, so this file stays free of
// I/O and Node built-ins; connection options are derived from the parsed config passed in.
import type { ActivityOptions, RetryPolicy } from '@temporalio/common';
import type { Config } from './runtime/config.js';

export const taskQueues = {
  /** Tenant lifecycle: onboarding, the subscription; GDPR later. */
  tenants: 'vlinders-tenants',
  /** Scheduled billing runs (their own worker process, so a long run never delays a tenant's workflow). */
  billing: 'vlinders-billing',
} as const;

export const workflowIds = {
  onboarding: (orgId: string) => `onboarding/${orgId}`,
  subscription: (orgId: string) => `subscription/${orgId}`,
  /** One per billing window, named by the window's start hour in UTC: billing/2026-11-26T13:00Z. */
  billingRun: (windowStart: Date) => `billing/${windowStart.toISOString().slice(0, 13)}:00Z`,
} as const;

/** Temporal Schedules, created idempotently by `npm run schedules:ensure`. */
export const scheduleIds = {
  billing: 'billing-hourly',
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
  /** An entity workflow's own writes (entitlements): retried without a deadline, so an outage delays
   * the lifecycle instead of ending it. */
  durable: {
    startToCloseTimeout: '30 seconds',
    retry: { ...standardRetry, maximumInterval: '5 minutes' },
  },
  /** Compensation must finish: retried without a deadline. */
  compensation: {
    startToCloseTimeout: '30 seconds',
    retry: { ...standardRetry, maximumInterval: '5 minutes' },
  },
} satisfies Record<string, ActivityOptions>;

export interface TemporalConnectionSettings {
  address: string;
  namespace: string;
  tls?: { clientCertPair?: { crt: Buffer; key: Buffer } } | undefined;
  apiKey?: string | undefined;
}

/** Connection settings from config; reads certificate files when mTLS is configured. */
export async function temporalConnection(config: Config): Promise<TemporalConnectionSettings> {
  let tls: TemporalConnectionSettings['tls'];
  if (config.TEMPORAL_TLS) {
    tls = {};
    if (config.TEMPORAL_TLS_CERT_PATH && config.TEMPORAL_TLS_KEY_PATH) {
      // webpackIgnore: workflows import this file for the presets; the bundle must not pull in fs.
      const { readFile } = await import(/* webpackIgnore: true */ 'node:fs/promises');
      tls.clientCertPair = {
        crt: await readFile(config.TEMPORAL_TLS_CERT_PATH),
        key: await readFile(config.TEMPORAL_TLS_KEY_PATH),
      };
    }
  }
  return {
    address: config.TEMPORAL_ADDRESS,
    namespace: config.TEMPORAL_NAMESPACE,
    tls,
    apiKey: config.TEMPORAL_API_KEY,
  };
}
