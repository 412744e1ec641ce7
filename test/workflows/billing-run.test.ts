// The billing run in the time-skipping environment with the real activities (own database,
// stripe-mock behind the recorder): quota notices go out once per threshold and billing period,
// whichever runs see the tenant past it, and a tenant whose notice cannot be sent is still billed; a
// run whose closing reconciliation fails still completes.
// Set RECORD_HISTORIES=1 to re-record the replay fixture (test/fixtures/histories/billing-run.json).
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createBillingActivities, type BillingActivities } from '../../activities/billing/index.js';
import { FileMailer, type MailMessage } from '../../activities/mail/mailer.js';
import { createDb, createPool, type Db } from '../../db/client.js';
import { createStripe } from '../../runtime/stripe.js';
import { temporalWorkerTracing } from '../../runtime/temporal-tracing.js';
import { scheduleIds, taskQueues, workflowIds } from '../../temporal.config.js';
import { bundleWorkflows } from '../../workers/bootstrap.js';
import { billingRun, scheduledBillingRun } from '../../workflows/billing-run.js';
import { windowBilledAt } from '../../core/billing-window.js';
import { addUsage, seedBillingTenants, type BillingTenant } from '../support/billing-fixture.js';
import { adminPool, createIsolatedDatabase, type IsolatedDatabase } from '../support/isolated-database.js';
import { stripeTestKey } from '../support/services.js';
import { StripeRecorder } from '../../simulator/stripe-recorder.js';
import { saveHistory } from './histories.js';
import { createTimeSkippingEnv } from './time-skipping-env.js';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundle;
let database: IsolatedDatabase;
let pool: pg.Pool;
let admin: pg.Pool;
let db: Db;
let recorder: StripeRecorder;
let mailDir: string;

const hourMs = 3_600_000;
const hour = (hoursAgo: number) => new Date(Math.floor(Date.now() / hourMs) * hourMs - hoursAgo * hourMs);

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  database = await createIsolatedDatabase('billing_workflow');
  pool = createPool({ url: database.appUrl, size: 4, applicationName: 'test-billing-workflow' });
  db = createDb(pool);
  admin = adminPool(database.adminUrl);
  recorder = await new StripeRecorder(inject('stripeUrl')).start();
  mailDir = mkdtempSync(join(tmpdir(), 'vlinders-billing-workflow-'));
  [env, bundle] = await Promise.all([createTimeSkippingEnv(), bundleWorkflows()]);
}, 120_000);

afterAll(async () => {
  await env?.teardown();
  await recorder?.stop();
  await pool?.end();
  await admin?.end();
  await database?.drop();
  rmSync(mailDir, { recursive: true, force: true });
});

function billingWorker(overrides: Partial<BillingActivities> = {}) {
  return Worker.create({
    connection: env.nativeConnection,
    taskQueue: taskQueues.billing,
    workflowBundle: bundle,
    activities: {
      ...createBillingActivities({
        db,
        stripe: createStripe({ STRIPE_SECRET_KEY: stripeTestKey, STRIPE_API_URL: recorder.url }),
        mailer: new FileMailer(mailDir),
        mailFrom: 'Vlinders <no-reply@vlinders.test>',
        metrics: Runtime.instance().metricMeter,
        watermarkMinutes: 15,
      }),
      ...overrides,
    },
    ...temporalWorkerTracing(),
  });
}

async function runBilling(windowStart: Date, recordAs?: string) {
  const worker = await billingWorker();
  return worker.runUntil(async () => {
    const handle = await env.client.workflow.start(billingRun, {
      taskQueue: taskQueues.billing,
      workflowId: workflowIds.billingRun(windowStart),
      args: [{ windowStart: windowStart.toISOString() }],
    });
    const result = await handle.result();
    if (recordAs && process.env.RECORD_HISTORIES === '1') saveHistory(recordAs, await handle.fetchHistory());
    return result;
  });
}

function mails(): MailMessage[] {
  return readdirSync(mailDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(mailDir, f), 'utf8')) as MailMessage);
}

describe('billing run: quota notices', () => {
  it(
    'mails each threshold once per period, and bills a tenant whose notice cannot go out',
    { timeout: 120_000 },
    async () => {
      const [h0, h1, h2] = [hour(4), hour(3), hour(2)] as [Date, Date, Date];
      // Free plan: 100,000 included tokens; the period started just before the first window.
      const periodStart = new Date(h0.getTime() - hourMs);
      const [tenant, ownerless] = (await seedBillingTenants(admin, 2, {
        plan: 'free',
        currentPeriodStart: periodStart,
      })) as [BillingTenant, BillingTenant];
      await admin.query('DELETE FROM memberships WHERE org_id = $1', [ownerless.orgId]);
      const use = (at: Date, tokens: number) =>
        addUsage(admin, [
          { orgId: tenant.orgId, hour: at, promptTokens: tokens / 2, completionTokens: tokens / 2 },
          { orgId: ownerless.orgId, hour: at, promptTokens: tokens / 2, completionTokens: tokens / 2 },
        ]);

      await use(h0, 84_000);
      await expect(runBilling(h0, 'billing-run')).resolves.toEqual({
        windowStart: h0.toISOString(),
        tenants: 2,
        meterEvents: 4,
        lateTokens: 0,
      });
      expect(mails()).toEqual([
        expect.objectContaining({
          to: tenant.ownerEmail,
          subject: 'Vlinders: you have used 80 % of the tokens included in your plan',
        }),
      ]);
      expect(mails()[0]?.text).toContain('84,000 of the 100,000 tokens');

      await use(h1, 10_000);
      await runBilling(h1);
      expect(mails()).toHaveLength(1);

      await use(h2, 10_000);
      await runBilling(h2);
      await runBilling(h2);
      expect(
        mails()
          .map((m) => m.subject)
          .sort(),
      ).toEqual([
        'Vlinders: you have used 80 % of the tokens included in your plan',
        'Vlinders: you have used all tokens included in your plan',
      ]);
      const notices = await admin.query<{ org_id: string; threshold: number; period_start: Date }>(
        'SELECT org_id, threshold, period_start FROM quota_notices ORDER BY threshold',
      );
      expect(notices.rows).toEqual([
        { org_id: tenant.orgId, threshold: 80, period_start: periodStart },
        { org_id: tenant.orgId, threshold: 100, period_start: periodStart },
      ]);
      // The ownerless tenant got no mail, and every one of its tokens was billed anyway.
      const billed = await admin.query<{ total: string }>(
        'SELECT sum(quantity)::text AS total FROM billing_reports WHERE org_id = $1 AND reported_at IS NOT NULL',
        [ownerless.orgId],
      );
      expect(billed.rows).toEqual([{ total: '104000' }]);
    },
  );
});

describe('scheduled billing run', () => {
  it('runs the window due at its start as billing/<window>', { timeout: 60_000 }, async () => {
    const worker = await billingWorker();
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(scheduledBillingRun, {
        taskQueue: taskQueues.billing,
        workflowId: `${scheduleIds.billing}-manual`,
        args: [{ watermarkMinutes: 15, concurrency: 2 }],
      });
      const result = await handle.result();
      const { startTime } = await handle.describe();
      expect(result.windowStart).toBe(windowBilledAt(startTime, 15).start.toISOString());
      if (process.env.RECORD_HISTORIES === '1') saveHistory('billing-scheduled', await handle.fetchHistory());
    });
  });
});

describe('billing run: reconciliation', () => {
  it('completes the run when its reconciliation fails', { timeout: 60_000 }, async () => {
    const windowStart = hour(8);
    const worker = await billingWorker({
      reconcileBilling: () => Promise.reject(ApplicationFailure.nonRetryable('reconciliation query failed')),
    });
    const result = await worker.runUntil(
      env.client.workflow.execute(billingRun, {
        taskQueue: taskQueues.billing,
        workflowId: workflowIds.billingRun(windowStart),
        args: [{ windowStart: windowStart.toISOString() }],
      }),
    );
    expect(result).toMatchObject({ windowStart: windowStart.toISOString(), meterEvents: 0 });
  });
});

describe('billing run: a tenant it cannot bill', () => {
  it(
    'bills the others, records the failure on the run and ends incomplete',
    { timeout: 60_000 },
    async () => {
      const windowStart = hour(10);
      const [, refused] = (await seedBillingTenants(admin, 2)) as [BillingTenant, BillingTenant];
      const real = createBillingActivities({
        db,
        stripe: createStripe({ STRIPE_SECRET_KEY: stripeTestKey, STRIPE_API_URL: recorder.url }),
        mailer: new FileMailer(mailDir),
        mailFrom: 'Vlinders <no-reply@vlinders.test>',
        metrics: Runtime.instance().metricMeter,
        watermarkMinutes: 15,
      });
      const worker = await billingWorker({
        reportTenantUsage: (input) =>
          input.orgId === refused.orgId
            ? Promise.reject(ApplicationFailure.nonRetryable('the customer was deleted in Stripe'))
            : real.reportTenantUsage(input),
      });
      const run = worker.runUntil(
        env.client.workflow.execute(billingRun, {
          taskQueue: taskQueues.billing,
          workflowId: workflowIds.billingRun(windowStart),
          args: [{ windowStart: windowStart.toISOString() }],
        }),
      );
      await expect(run).rejects.toMatchObject({ cause: { type: 'BILLING_INCOMPLETE' } });
      const { rows } = await admin.query<{ tenants: number; failed_tenants: number; finished: boolean }>(
        'SELECT tenants, failed_tenants, finished_at IS NOT NULL AS finished FROM billing_runs WHERE window_start = $1',
        [windowStart],
      );
      // Every tenant of the isolated database is gone through; only the refused one failed.
      expect(rows).toEqual([{ tenants: expect.any(Number), failed_tenants: 1, finished: true }]);
      expect(rows[0]!.tenants).toBeGreaterThanOrEqual(2);
    },
  );
});
