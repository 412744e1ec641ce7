// What the billing run's tests share: a database and a Temporal namespace of their own (a run bills
// every tenant of its database, so test files must not see each other's tenants or windows), a
// Stripe recorder in front of stripe-mock, and the sums of what reached Stripe.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type pg from 'pg';
import { inject } from 'vitest';
import { FileMailer } from '../../../activities/mail/mailer.js';
import { createDb, createPool, type Db } from '../../../db/client.js';
import type { Config } from '../../../runtime/config.js';
import { createLogger } from '../../../runtime/logger.js';
import { createStripe } from '../../../runtime/stripe.js';
import { createTemporalClient } from '../../../runtime/temporal-client.js';
import { taskQueues, workflowIds } from '../../../temporal.config.js';
import { bundleWorkflows, createBillingWorker } from '../../../workers/bootstrap.js';
import {
  workflowTypes,
  type BillingRunInput,
  type BillingRunResult,
} from '../../../workflows/definitions.js';
import { testConfig } from '../../support/config.js';
import { adminPool, createIsolatedDatabase } from '../../support/isolated-database.js';
import { createNamespace } from '../../support/services.js';
import { StripeRecorder } from '../../../simulator/stripe-recorder.js';

export interface BillingSuite {
  config: Config;
  db: Db;
  admin: pg.Pool;
  client: Client;
  recorder: StripeRecorder;
  mailDir: string;
  close(): Promise<void>;
}

export async function startBillingSuite(label: string, overrides: Record<string, string> = {}) {
  const database = await createIsolatedDatabase(`billing_${label}`);
  const namespace = `billing-${label}-${randomBytes(3).toString('hex')}`;
  await createNamespace(inject('temporalAddress'), namespace);
  const recorder = await new StripeRecorder(inject('stripeUrl')).start();
  const mailDir = mkdtempSync(join(tmpdir(), 'vlinders-billing-mail-'));
  const config = testConfig({
    DATABASE_URL: database.appUrl,
    DATABASE_MIGRATION_URL: database.adminUrl,
    TEMPORAL_NAMESPACE: namespace,
    STRIPE_API_URL: recorder.url,
    MAIL_DIR: mailDir,
    ...overrides,
  });
  const pool = createPool({ url: config.DATABASE_URL, size: 10, applicationName: 'vlinders-test-billing' });
  const db = createDb(pool);
  const client = await createTemporalClient(config, db);
  const admin = adminPool(database.adminUrl);
  const suite: BillingSuite = {
    config,
    db,
    admin,
    client,
    recorder,
    mailDir,
    close: async () => {
      await Promise.allSettled([client.connection.close(), recorder.stop()]);
      await pool.end();
      await admin.end();
      await database.drop();
      rmSync(mailDir, { recursive: true, force: true });
    },
  };
  return suite;
}

/** A billing worker in this process on the suite's namespace; stop() shuts it down and closes it. */
export async function startBillingWorker(suite: BillingSuite): Promise<{ stop(): Promise<void> }> {
  const connection = await NativeConnection.connect({ address: suite.config.TEMPORAL_ADDRESS });
  const worker = await createBillingWorker({
    config: suite.config,
    connection,
    db: suite.db,
    mailer: new FileMailer(suite.mailDir),
    stripe: createStripe(suite.config),
    log: createLogger('silent', 'test-billing-worker'),
    workflowBundle: await bundleWorkflows(),
  });
  const running = worker.run();
  return {
    stop: async () => {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

type BillingRunWorkflow = (input: BillingRunInput) => Promise<BillingRunResult>;

/** Runs `billing/<window>` (or reruns it) and waits for its result. */
export function runWindow(client: Client, windowStart: Date, input: Partial<BillingRunInput> = {}) {
  return client.workflow.execute<BillingRunWorkflow>(workflowTypes.billingRun, {
    workflowId: workflowIds.billingRun(windowStart),
    taskQueue: taskQueues.billing,
    args: [{ windowStart: windowStart.toISOString(), ...input }],
  });
}

export interface StripeTotals {
  /** Per org: the quantities of the distinct identifiers that reached Stripe. */
  byOrg: Map<string, { inputTokens: number; outputTokens: number }>;
  /** Identifiers sent more than once. */
  resent: string[];
  /** Identifiers sent again with another value (Stripe would keep the first: a lost or extra token). */
  conflicting: string[];
}

/** What reached Stripe's meter events, as Stripe would count it (one event per identifier). */
export function stripeTotals(recorder: StripeRecorder): StripeTotals {
  const values = new Map<string, string>();
  const resent = new Set<string>();
  const conflicting = new Set<string>();
  for (const call of recorder.calls('POST', '/v1/billing/meter_events')) {
    const identifier = call.params.identifier ?? '';
    const value = call.params['payload[value]'] ?? '';
    const earlier = values.get(identifier);
    if (earlier !== undefined) {
      resent.add(identifier);
      if (earlier !== value) conflicting.add(identifier);
    } else values.set(identifier, value);
  }
  const byOrg = new Map<string, { inputTokens: number; outputTokens: number }>();
  for (const [identifier, value] of values) {
    const [orgId = '', meter] = identifier.split(':');
    const totals = byOrg.get(orgId) ?? { inputTokens: 0, outputTokens: 0 };
    if (meter === 'inputTokens') totals.inputTokens += Number(value);
    else if (meter === 'outputTokens') totals.outputTokens += Number(value);
    else throw new Error(`unexpected meter event identifier ${identifier}`);
    byOrg.set(orgId, totals);
  }
  return { byOrg, resent: [...resent], conflicting: [...conflicting] };
}

export const hourMs = 3_600_000;

/** The UTC hour `hoursAgo` hours before the current one. */
export function hourAgo(hoursAgo: number): Date {
  return new Date(Math.floor(Date.now() / hourMs) * hourMs - hoursAgo * hourMs);
}
