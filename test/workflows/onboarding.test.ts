// The onboarding workflow in the time-skipping environment, with the real activities against the
// real PostgreSQL: the happy path, and a step that keeps failing until its deadline passes, which
// must compensate and leave the org 'failed'. Set RECORD_HISTORIES=1 to re-record the replay
// fixtures under test/fixtures/histories from these runs.
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { defaultOrgSettings } from '../../activities/tenant.js';
import { FileMailer, type Mailer } from '../../activities/mail/mailer.js';
import { createDb, createPool, type Db } from '../../db/client.js';
import { billingAccounts } from '../../db/schema/index.js';
import { withTenant } from '../../db/tenant.js';
import { createStripe } from '../../runtime/stripe.js';
import { workflowIds } from '../../temporal.config.js';
import { subscriptionQueries, type OnboardingInput } from '../../workflows/definitions.js';
import { onboarding } from '../../workflows/index.js';
import { temporalWorkerTracing } from '../../runtime/temporal-tracing.js';
import { bundleWorkflows } from '../../workers/bootstrap.js';
import { testConfig } from '../support/config.js';
import { actAsStripeAccount } from '../../simulator/stripe-account.js';
import { StripeRecorder } from '../../simulator/stripe-recorder.js';
import { saveHistory } from './histories.js';
import { createTimeSkippingEnv, terminateWhenIdle } from './time-skipping-env.js';
import { createPendingTenant, tenantState } from './tenant-fixture.js';

const taskQueue = 'onboarding-time-skipping';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundle;
let pool: pg.Pool;
let db: Db;
let scratch: string;
let stripe: StripeRecorder;

beforeAll(async () => {
  // The failing-mail case retries dozens of times; each retry would log a warning.
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  pool = createPool({ url: inject('databaseUrl'), size: 4, applicationName: 'test-onboarding' });
  db = createDb(pool);
  scratch = mkdtempSync(join(tmpdir(), 'vlinders-onboarding-'));
  stripe = actAsStripeAccount(await new StripeRecorder(inject('stripeUrl')).start());
  [env, bundle] = await Promise.all([createTimeSkippingEnv(), bundleWorkflows()]);
});

afterAll(async () => {
  await env?.teardown();
  await pool?.end();
  await stripe?.stop();
});

async function runOnboarding(input: OnboardingInput, mailer: Mailer, recordAs?: string) {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: createActivities({
      db,
      mailer,
      mailFrom: 'Vlinders <no-reply@vlinders.test>',
      stripe: createStripe(testConfig({ STRIPE_API_URL: stripe.url })),
    }),
    ...temporalWorkerTracing(),
  });
  return worker.runUntil(async () => {
    const handle = await env.client.workflow.start(onboarding, {
      taskQueue,
      workflowId: workflowIds.onboarding(input.orgId),
      args: [input],
    });
    const result = await handle.result();
    if (recordAs && process.env.RECORD_HISTORIES === '1') {
      saveHistory(`onboarding-${recordAs}`, await handle.fetchHistory());
    }
    if (result.status !== 'active') return { result, lifecycle: undefined };
    // The subscription lifecycle it started runs on: see it create its Stripe subscription and
    // settle on its trial timers, then end it, so no later test's worker serves it.
    const child = env.client.workflow.getHandle(workflowIds.subscription(input.orgId));
    const state = await until(async () => {
      const s = await child.query(subscriptionQueries.state);
      return s.stripeSubscriptionId ? s : undefined;
    });
    const description = await child.describe();
    await terminateWhenIdle(env, child);
    return { result, lifecycle: { state, description } };
  });
}

async function until<T>(probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('gave up waiting');
}

describe('onboarding workflow (time-skipping)', () => {
  it('activates the org with its settings, one owner, the audit entries and the welcome mail sent', async () => {
    const input = await createPendingTenant(db, 'Acme Robotics');
    const mailDir = join(scratch, 'mail-happy');

    const { result, lifecycle } = await runOnboarding(input, new FileMailer(mailDir), 'active');

    expect(result).toEqual({ orgId: input.orgId, status: 'active' });
    const state = await tenantState(db, input.orgId);
    expect(state.org?.status).toBe('active');
    expect(state.org?.failureReason).toBeNull();
    expect(state.org?.settings).toMatchObject(defaultOrgSettings);
    expect(state.memberships.map((m) => [m.userId, m.role])).toEqual([[input.ownerUserId, 'owner']]);
    expect(state.audit.map((a) => a.action)).toEqual([
      'org.settings_initialized',
      'membership.created',
      'org.activated',
    ]);
    expect(state.outbox).toHaveLength(1);
    expect(state.outbox[0]?.sentAt).toBeInstanceOf(Date);

    const files = readdirSync(mailDir).sort();
    expect(files).toEqual([`${state.outbox[0]?.id}.eml`, `${state.outbox[0]?.id}.json`]);
    const mail = JSON.parse(readFileSync(join(mailDir, files[1]!), 'utf8')) as {
      to: string;
      subject: string;
    };
    expect(mail.to).toBe(input.ownerEmail);
    expect(mail.subject).toContain('Acme Robotics');

    // Billing: one Stripe customer for the org, keyed by the workflow step; its account on trial.
    const customers = stripe
      .calls('POST', '/v1/customers')
      .filter((c) => c.params['metadata[orgId]'] === input.orgId);
    expect(customers.map((c) => c.idempotencyKey)).toEqual([`onboarding/${input.orgId}/stripe-customer`]);
    expect(customers[0]?.params.email).toBe(input.ownerEmail);
    const [account] = await withTenant(db, input.orgId, (tx) => tx.select().from(billingAccounts));
    expect(account).toMatchObject({ plan: 'developer', seats: 5, status: 'trialing' });
    expect(account?.stripeCustomerId).toMatch(/^cus_/);
    // The lifecycle outlives onboarding: it runs on, on trial, searchable by the org's id.
    expect(lifecycle?.description.type).toBe('subscription');
    expect(lifecycle?.description.status.name).toBe('RUNNING');
    expect(lifecycle?.description.searchAttributes).toMatchObject({ VlindersOrgId: [input.orgId] });
    expect(lifecycle?.state).toMatchObject({ status: 'trialing', plan: 'developer', seats: 5 });
    const subscriptions = stripe
      .calls('POST', '/v1/subscriptions')
      .filter((c) => c.params['metadata[orgId]'] === input.orgId);
    expect(subscriptions.map((c) => [c.idempotencyKey, c.params.trial_period_days])).toEqual([
      [`subscription/${input.orgId}/create-subscription`, '14'],
    ]);
  });

  it('compensates and marks the org failed when the welcome mail cannot be sent before its deadline', async () => {
    const input = await createPendingTenant(db, 'Bolt Analytics');
    // The mail folder sits under a regular file: every delivery fails (ENOTDIR), retryably,
    // until the external preset's one-hour schedule-to-close deadline passes (skipped in time).
    const blocker = join(scratch, 'not-a-folder');
    writeFileSync(blocker, '');

    const { result } = await runOnboarding(input, new FileMailer(join(blocker, 'mail')), 'failed');

    expect(result).toEqual({
      orgId: input.orgId,
      status: 'failed',
      reason: 'sending the welcome mail did not succeed in time',
    });
    const state = await tenantState(db, input.orgId);
    expect(state.org?.status).toBe('failed');
    expect(state.org?.failureReason).toBe('sending the welcome mail did not succeed in time');
    // Never half a tenant: the owner membership, the default settings and the unsent mail are gone.
    expect(state.memberships).toEqual([]);
    expect(state.org?.settings).toEqual({});
    expect(state.outbox).toEqual([]);
    expect(state.audit.map((a) => a.action)).toEqual([
      'org.settings_initialized',
      'membership.created',
      'org.onboarding_failed',
    ]);
    expect(state.audit.at(-1)?.details).toMatchObject({
      reason: 'sending the welcome mail did not succeed in time',
    });
  });

  it('deletes the Stripe customer again when the billing account cannot be opened', async () => {
    // Stripe answers with a customer id another tenant's account holds (billing_accounts keeps it
    // unique): opening this org's account fails, retryably, until the database preset's deadline.
    const holder = await createPendingTenant(db, 'Holder Co');
    const takenId = `cus_taken${holder.orgId.slice(0, 8)}`;
    await withTenant(db, holder.orgId, (tx) =>
      tx.insert(billingAccounts).values({
        orgId: holder.orgId,
        stripeCustomerId: takenId,
        plan: 'developer',
        seats: 5,
        status: 'trialing',
      }),
    );
    const input = await createPendingTenant(db, 'Clash Industries');
    const account = stripe.rewrite!;
    stripe.rewrite = (request, body) =>
      request.path === '/v1/customers' && request.params['metadata[orgId]'] === input.orgId
        ? { ...body, id: takenId }
        : account(request, body);
    const { result } = await runOnboarding(input, new FileMailer(join(scratch, 'mail-clash'))).finally(() => {
      stripe.rewrite = account;
    });

    expect(result).toEqual({
      orgId: input.orgId,
      status: 'failed',
      reason: 'opening the billing account did not succeed in time',
    });
    expect(stripe.calls('DELETE', `/v1/customers/${takenId}`)).toHaveLength(1);
    expect(await withTenant(db, input.orgId, (tx) => tx.select().from(billingAccounts))).toEqual([]);
    const state = await tenantState(db, input.orgId);
    expect(state.org?.status).toBe('failed');
    expect(state.memberships).toEqual([]);
    // No lifecycle was started for a tenant that never became active.
    await expect(
      env.client.workflow.getHandle(workflowIds.subscription(input.orgId)).describe(),
    ).rejects.toThrow(/not found/i);
  });

  it('fails without retrying and leaves nothing behind when the org does not exist', async () => {
    const input = await createPendingTenant(db, 'Ghost Org');
    const missing = { ...input, orgId: '00000000-0000-4000-8000-000000000000' };

    const { result } = await runOnboarding(missing, new FileMailer(join(scratch, 'mail-missing')));

    expect(result.status).toBe('failed');
    expect(result.reason).toBe(
      `writing the default settings failed: organization ${missing.orgId} does not exist`,
    );
    expect((await tenantState(db, missing.orgId)).memberships).toEqual([]);
  });
});
