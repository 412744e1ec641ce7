// The subscription lifecycle in the time-skipping environment, with the real activities against
// the real PostgreSQL and stripe-mock behind a recorder: a whole life in seconds (trial, reminder,
// conversion, failed payment, dunning, suspension, payment, cancellation) with the gateway's answer
// to the tenant's API key at each step, events out of order and
// twice, plan changes refused and accepted, an operator's suspension held through billing events
// until resumed, and continue-as-new. RECORD_HISTORIES=1 re-records the replay fixtures
// (test/fixtures/histories/subscription-lifecycle.json, subscription-operator-suspension.json).
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { asc, eq } from 'drizzle-orm';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { enforcedStatus } from '../../core/billing.js';
import { FileMailer } from '../../activities/mail/mailer.js';
import { createDb, createPool, type Db } from '../../db/client.js';
import { billingAccounts, memberships, organizations, outbox } from '../../db/schema/index.js';
import { withTenant } from '../../db/tenant.js';
import { createStripe } from '../../runtime/stripe.js';
import { temporalWorkerTracing } from '../../runtime/temporal-tracing.js';
import { workflowIds } from '../../temporal.config.js';
import {
  subscriptionQueries,
  subscriptionSignals,
  subscriptionUpdates,
  type StripeEventSignal,
  type SubscriptionState,
} from '../../workflows/definitions.js';
import { subscription } from '../../workflows/index.js';
import { bundleWorkflows } from '../../workers/bootstrap.js';
import { useTestApp } from '../support/app.js';
import { testConfig } from '../support/config.js';
import { auditRows, seedActiveOrg, signUp, useAdminPool } from '../integration/api/helpers.js';
import { createKey } from '../integration/gateway/world.js';
import { actAsStripeAccount } from '../../simulator/stripe-account.js';
import { StripeRecorder } from '../../simulator/stripe-recorder.js';
import { saveHistory } from './histories.js';
import { createPendingTenant } from './tenant-fixture.js';
import { createTimeSkippingEnv, terminateWhenIdle } from './time-skipping-env.js';

const taskQueue = 'subscription-time-skipping';
const day = 24 * 60 * 60 * 1000;

let env: TestWorkflowEnvironment;
let pool: pg.Pool;
let db: Db;
let stripe: StripeRecorder;
let worker: Worker;
let running: Promise<void>;
// The API (with the gateway) on the same database: what a tenant's key gets at each step.
const api = useTestApp();
const admin = useAdminPool();

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  pool = createPool({ url: inject('databaseUrl'), size: 4, applicationName: 'test-subscription' });
  db = createDb(pool);
  stripe = actAsStripeAccount(await new StripeRecorder(inject('stripeUrl')).start());
  const [testEnv, bundle] = await Promise.all([createTimeSkippingEnv(), bundleWorkflows()]);
  env = testEnv;
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: createActivities({
      db,
      mailer: new FileMailer(mkdtempSync(join(tmpdir(), 'vlinders-subscription-mail-'))),
      mailFrom: 'Vlinders <no-reply@vlinders.test>',
      stripe: createStripe(testConfig({ STRIPE_API_URL: stripe.url })),
    }),
    ...temporalWorkerTracing(),
  });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
  await pool?.end();
  await stripe?.stop();
});

type Handle = WorkflowHandle<typeof subscription>;

/** What the gateway answers the tenant's key on GET /v1/models: the status and the error code. */
async function gatewayAnswer(key: string): Promise<{ status: number; code: string | undefined }> {
  const res = await api.app.inject({
    method: 'GET',
    url: '/v1/models',
    headers: { authorization: `Bearer ${key}` },
  });
  return { status: res.statusCode, code: res.json<{ error?: { code?: string } }>().error?.code };
}

/** An onboarded tenant (owner membership, billing account on the developer plan) and its lifecycle. */
async function startLifecycle(name: string, historyLimit?: number) {
  const tenant = await createPendingTenant(db, name);
  await withTenant(db, tenant.orgId, (tx) =>
    tx.insert(memberships).values({ orgId: tenant.orgId, userId: tenant.ownerUserId, role: 'owner' }),
  );
  return lifecycleOf(tenant.orgId, historyLimit);
}

/** Opens the billing account of an org with an owner and starts its lifecycle. */
async function lifecycleOf(orgId: string, historyLimit?: number) {
  const stripeCustomerId = `cus_${randomUUID().slice(0, 13)}`;
  await withTenant(db, orgId, (tx) =>
    tx
      .insert(billingAccounts)
      .values({ orgId, stripeCustomerId, plan: 'developer', seats: 5, status: 'trialing' }),
  );
  const handle: Handle = await env.client.workflow.start(subscription, {
    taskQueue,
    workflowId: workflowIds.subscription(orgId),
    args: [{ orgId, plan: 'developer', seats: 5, stripeCustomerId, ...(historyLimit && { historyLimit }) }],
  });
  const state = await until(handle, (s) => s.stripeSubscriptionId !== null);
  return { orgId, handle, subscriptionId: state.stripeSubscriptionId! };
}

/** Polls the workflow's state (and the entitlements it wrote) until `ready` holds. */
async function until(
  handle: Handle,
  ready: (state: SubscriptionState) => boolean,
): Promise<SubscriptionState> {
  let state: SubscriptionState | undefined;
  for (let i = 0; i < 150; i++) {
    state = await handle.query(subscriptionQueries.state);
    if (ready(state)) {
      const row = await entitlements(state.orgId);
      const enforced = enforcedStatus(state.status, state.operatorSuspension !== null);
      if (row.account?.status === state.status && row.org?.subscriptionStatus === enforced) return state;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting; last state ${JSON.stringify(state)}`);
}

async function entitlements(orgId: string) {
  return withTenant(db, orgId, async (tx) => {
    const [account] = await tx.select().from(billingAccounts).where(eq(billingAccounts.orgId, orgId));
    const [org] = await tx
      .select({ plan: organizations.plan, subscriptionStatus: organizations.subscriptionStatus })
      .from(organizations)
      .where(eq(organizations.id, orgId));
    return { account, org };
  });
}

/** The billing mails recorded for the org, oldest first: [template, subject]. */
async function mails(orgId: string): Promise<Array<[string, string]>> {
  const rows = await withTenant(db, orgId, (tx) =>
    tx.select().from(outbox).where(eq(outbox.orgId, orgId)).orderBy(asc(outbox.createdAt)),
  );
  return rows.map((r) => [String(r.payload.template), String(r.payload.subject)]);
}

const templates = async (orgId: string) => (await mails(orgId)).map(([template]) => template);

/** The mails go out after the state changes: waits up to 20 s for exactly these templates. */
async function expectMails(orgId: string, expected: string[]): Promise<void> {
  for (let i = 0; i < 200 && JSON.stringify(await templates(orgId)) !== JSON.stringify(expected); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(await templates(orgId)).toEqual(expected);
}

async function nowSeconds(): Promise<number> {
  return Math.floor((await env.currentTimeMs()) / 1000);
}

function event(orgId: string, type: string, created: number, extra: Partial<StripeEventSignal> = {}) {
  return { orgId, eventId: `evt_${randomUUID()}`, type, created, ...extra } satisfies StripeEventSignal;
}

describe('subscription lifecycle (time-skipping)', () => {
  it('lives a whole life: trial, reminder, conversion, failed payment, dunning, suspension, payment, cancellation', async () => {
    // A tenant with an API key, so the gateway's answer is checked at each step of the life.
    const owner = await signUp(api.app, 'lifecycle');
    const { orgId, handle, subscriptionId } = await lifecycleOf(
      await seedActiveOrg(admin, owner, 'Lifecycle Ltd'),
    );
    const key = await createKey(api, owner, orgId);
    expect(await gatewayAnswer(key)).toEqual({ status: 200, code: undefined });
    const started = await env.currentTimeMs();

    // The trial subscription reached Stripe once, keyed by the workflow's step, for this org.
    const created = stripe
      .calls('POST', '/v1/subscriptions')
      .filter((c) => c.params['metadata[orgId]'] === orgId);
    expect(created.map((c) => c.idempotencyKey)).toEqual([`subscription/${orgId}/create-subscription`]);
    expect(created[0]?.params).toMatchObject({
      trial_period_days: '14',
      'items[0][price]': 'price_vlinders_developer_flat',
      'items[0][quantity]': '5',
    });
    let state = await until(handle, (s) => s.status === 'trialing');
    expect(Date.parse(state.trialEndsAt!) - started).toBeGreaterThan(14 * day - 60_000);
    expect((await entitlements(orgId)).account?.trialEndsAt?.toISOString()).toBe(state.trialEndsAt);

    // 11 days in, three before the trial ends: the reminder.
    await env.sleep(11 * day + 60_000);
    state = await until(handle, (s) => s.remindersSent.includes('trial-ending'));
    expect(state.status).toBe('trialing');
    await expectMails(orgId, ['billing.trial_ending']);

    // The trial ends: converted to active (Stripe charges the card).
    await env.sleep(3 * day);
    await until(handle, (s) => s.status === 'active');

    // The first charge fails: past due, grace opens, service continues.
    await handle.signal(
      subscriptionSignals.stripeEvent,
      event(orgId, 'invoice.payment_failed', await nowSeconds()),
    );
    state = await until(handle, (s) => s.status === 'past_due');
    expect(state.pastDueSince).not.toBeNull();
    await expectMails(orgId, ['billing.trial_ending', 'billing.payment_failed']);

    // Dunning reminders on days 1, 3 and 5 of the grace period.
    await env.sleep(5 * day + 60_000);
    state = await until(handle, (s) => s.remindersSent.includes('dunning-5'));
    expect(state.status).toBe('past_due');
    await expectMails(orgId, [
      'billing.trial_ending',
      'billing.payment_failed',
      'billing.payment_reminder',
      'billing.payment_reminder',
      'billing.payment_reminder',
    ]);

    // Day 7: still unpaid, suspended; the gateway refuses this org now (subscription_status).
    await env.sleep(2 * day);
    await until(handle, (s) => s.status === 'suspended');
    expect((await entitlements(orgId)).org?.subscriptionStatus).toBe('suspended');
    await expect
      .poll(() => gatewayAnswer(key), { timeout: 20_000, interval: 250 })
      .toEqual({
        status: 403,
        code: 'subscription_suspended',
      });

    // Paid: active again, grace closed.
    await handle.signal(
      subscriptionSignals.stripeEvent,
      event(orgId, 'invoice.paid', await nowSeconds(), {
        invoice: { id: 'in_1', status: 'paid', amountDue: 2000, hostedInvoiceUrl: null },
      }),
    );
    state = await until(handle, (s) => s.status === 'active');
    expect(state.pastDueSince).toBeNull();
    await expect
      .poll(() => gatewayAnswer(key), { timeout: 20_000, interval: 250 })
      .toEqual({ status: 200, code: undefined });

    // Canceled by the tenant, now: Stripe deletes the subscription; access ends.
    const canceled = await handle.executeUpdate(subscriptionUpdates.cancel, {
      args: [{ orgId, atPeriodEnd: false }],
    });
    expect(canceled.status).toBe('canceled');
    await until(handle, (s) => s.status === 'canceled');
    const deletes = stripe.calls('DELETE', `/v1/subscriptions/${subscriptionId}`);
    expect(deletes.map((c) => c.idempotencyKey)).toEqual([
      expect.stringMatching(new RegExp(`^subscription/${orgId}/cancel/now/`)) as string,
    ]);
    expect((await entitlements(orgId)).org?.subscriptionStatus).toBe('canceled');
    await expect
      .poll(() => gatewayAnswer(key), { timeout: 20_000, interval: 250 })
      .toEqual({
        status: 403,
        code: 'subscription_canceled',
      });

    await expectMails(orgId, [
      'billing.trial_ending',
      'billing.payment_failed',
      'billing.payment_reminder',
      'billing.payment_reminder',
      'billing.payment_reminder',
      'billing.suspended',
      'billing.reactivated',
      'billing.canceled',
    ]);
    // A canceled subscription takes no more changes.
    await expect(
      handle.executeUpdate(subscriptionUpdates.changePlan, {
        args: [{ orgId, plan: 'team', seats: 10, members: 1 }],
      }),
    ).rejects.toThrow(WorkflowUpdateFailedError);

    if (process.env.RECORD_HISTORIES === '1')
      saveHistory('subscription-lifecycle', await handle.fetchHistory());
    await terminateWhenIdle(env, handle);
  }, 120_000);

  it('applies events by Stripe created time: an older or repeated event changes nothing', async () => {
    const { orgId, handle, subscriptionId } = await startLifecycle('Order Matters BV');
    const t = await nowSeconds();
    const sub = (status: string) => ({
      id: subscriptionId,
      status,
      currentPeriodStart: null,
      currentPeriodEnd: t + 30 * 86_400,
      trialEnd: null,
      cancelAtPeriodEnd: false,
      plan: null,
      seats: null,
    });
    const activated = event(orgId, 'customer.subscription.updated', t + 10, { subscription: sub('active') });
    await handle.signal(subscriptionSignals.stripeEvent, activated);
    // Older than the one applied: arrives later, changes nothing.
    await handle.signal(subscriptionSignals.stripeEvent, event(orgId, 'invoice.payment_failed', t + 5));
    // The same event delivered again, even claiming another status: changes nothing.
    await handle.signal(subscriptionSignals.stripeEvent, { ...activated, subscription: sub('past_due') });
    // A different event in the same second is applied.
    await handle.signal(
      subscriptionSignals.stripeEvent,
      event(orgId, 'customer.subscription.trial_will_end', t + 10),
    );
    let state = await until(handle, (s) => s.lastEventIds.length === 2);
    expect(state.status).toBe('active');
    expect(state.lastEventCreated).toBe(t + 10);
    expect(state.currentPeriodEnd).toBe(new Date((t + 30 * 86_400) * 1000).toISOString());
    expect((await entitlements(orgId)).account?.statusEventCreated?.getTime()).toBe((t + 10) * 1000);
    // trial_will_end for a subscription no longer on trial mails nothing; no payment mail went out.
    await expectMails(orgId, []);

    // A newer failure does apply, once, however often it is delivered.
    const failed = event(orgId, 'invoice.payment_failed', t + 20);
    await handle.signal(subscriptionSignals.stripeEvent, failed);
    await handle.signal(subscriptionSignals.stripeEvent, failed);
    state = await until(handle, (s) => s.status === 'past_due');
    await expectMails(orgId, ['billing.payment_failed']);
    await terminateWhenIdle(env, handle);
  });

  it('refuses a plan change with the reason and changes nothing; applies an accepted one everywhere', async () => {
    const { orgId, handle, subscriptionId } = await startLifecycle('Plan Shifters');
    const before = await handle.query(subscriptionQueries.state);
    const refused = async (plan: string, seats: number, members: number) => {
      const err = await handle
        .executeUpdate(subscriptionUpdates.changePlan, { args: [{ orgId, plan, seats, members }] })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
      return (err as WorkflowUpdateFailedError).cause?.message;
    };
    expect(await refused('platinum', 5, 1)).toBe('unknown plan "platinum"');
    expect(await refused('team', 3, 4)).toBe("3 seats are fewer than the organization's 4 members");
    expect(await refused('developer', 6, 1)).toBe('the developer plan allows at most 5 seats');
    expect(await handle.query(subscriptionQueries.state)).toEqual(before);
    expect(stripe.calls('POST', `/v1/subscriptions/${subscriptionId}`)).toEqual([]);

    const changed = await handle.executeUpdate(subscriptionUpdates.changePlan, {
      args: [{ orgId, plan: 'team', seats: 12, members: 4 }],
    });
    expect(changed).toMatchObject({ plan: 'team', seats: 12, status: 'trialing' });
    const updates = stripe.calls('POST', `/v1/subscriptions/${subscriptionId}`);
    expect(updates).toHaveLength(1);
    expect(updates[0]?.idempotencyKey).toMatch(new RegExp(`^subscription/${orgId}/change-plan/`));
    const items = Object.values(updates[0]?.params ?? {});
    expect(items).toEqual(
      expect.arrayContaining(['price_vlinders_team_flat', '12', 'price_vlinders_team_input_tokens']),
    );
    const { account, org } = await entitlements(orgId);
    expect(account).toMatchObject({ plan: 'team', seats: 12 });
    expect(org?.plan).toBe('team');
    await terminateWhenIdle(env, handle);
  });

  it('cancels at the end of the paid period: service continues until then, then it ends', async () => {
    const { orgId, handle, subscriptionId } = await startLifecycle('Period End Co');
    const t = await nowSeconds();
    const periodEnd = t + 30 * 86_400;
    await handle.signal(
      subscriptionSignals.stripeEvent,
      event(orgId, 'customer.subscription.updated', t, {
        subscription: {
          id: subscriptionId,
          status: 'active',
          currentPeriodStart: null,
          currentPeriodEnd: periodEnd,
          trialEnd: null,
          cancelAtPeriodEnd: false,
          plan: null,
          seats: null,
        },
      }),
    );
    await until(handle, (s) => s.status === 'active' && s.currentPeriodEnd !== null);

    const scheduled = await handle.executeUpdate(subscriptionUpdates.cancel, {
      args: [{ orgId, atPeriodEnd: true }],
    });
    expect(scheduled).toMatchObject({ status: 'active', cancelAtPeriodEnd: true });
    const [update] = stripe.calls('POST', `/v1/subscriptions/${subscriptionId}`);
    expect(update?.params).toEqual({ cancel_at_period_end: 'true' });
    expect(update?.idempotencyKey).toMatch(new RegExp(`^subscription/${orgId}/cancel/at-period-end/`));
    expect((await entitlements(orgId)).account?.cancelAtPeriodEnd).toBe(true);

    await env.sleep(29 * day);
    expect((await handle.query(subscriptionQueries.state)).status).toBe('active');
    await env.sleep(day + 60_000);
    await until(handle, (s) => s.status === 'canceled');
    await expectMails(orgId, ['billing.canceled']);
    await terminateWhenIdle(env, handle);
  });

  it('continues as new with its whole state when the history grows', async () => {
    const { orgId, handle } = await startLifecycle('Long Lived GmbH', 20);
    const { runId: firstRun } = await handle.describe();
    await handle.executeUpdate(subscriptionUpdates.changePlan, {
      args: [{ orgId, plan: 'developer', seats: 3, members: 2 }],
    });
    const t = await nowSeconds();
    for (let i = 1; i <= 12; i++) {
      await handle.signal(subscriptionSignals.stripeEvent, event(orgId, 'invoice.payment_succeeded', t + i));
    }
    await handle.signal(subscriptionSignals.stripeEvent, event(orgId, 'invoice.payment_failed', t + 13));
    const state = await until(handle, (s) => s.lastEventCreated === t + 13);
    await expectMails(orgId, ['billing.payment_failed']);
    // It continues as new once its effects are applied and its handlers are done.
    let lastRun = firstRun;
    for (let i = 0; i < 50 && lastRun === firstRun; i++) {
      await new Promise((r) => setTimeout(r, 100));
      ({ runId: lastRun } = await handle.describe());
    }
    expect(lastRun).not.toBe(firstRun);
    expect(await handle.query(subscriptionQueries.state)).toEqual(state);
    expect(state).toMatchObject({ status: 'past_due', plan: 'developer', seats: 3 });
    expect(state.stripeSubscriptionId).toMatch(/^sub_/);
    expect(state.trialEndsAt).not.toBeNull();
    // The new run keeps the grace period's timers: the first dunning reminder still comes.
    await env.sleep(day + 60_000);
    await until(handle, (s) => s.remindersSent.includes('dunning-1'));
    await expectMails(orgId, ['billing.payment_failed', 'billing.payment_reminder']);
    await terminateWhenIdle(env, handle);
  });

  it("holds an operator's suspension whatever billing does until an operator resumes it, audited", async () => {
    const owner = await signUp(api.app, 'suspended-owner');
    const operator = await signUp(api.app, 'suspending-operator');
    const { orgId, handle, subscriptionId } = await lifecycleOf(
      await seedActiveOrg(admin, owner, 'Suspended Ltd'),
    );
    const key = await createKey(api, owner, orgId);
    const refusal = (update: Promise<unknown>) =>
      update.then(
        () => undefined,
        (e: unknown) => (e as WorkflowUpdateFailedError).cause?.message,
      );
    const suspend = (reason: string) =>
      handle.executeUpdate(subscriptionUpdates.operatorSuspend, {
        args: [{ orgId, operatorId: operator.id, reason }],
      });
    const resume = () =>
      handle.executeUpdate(subscriptionUpdates.operatorResume, {
        args: [{ orgId, operatorId: operator.id, reason: 'cleared' }],
      });
    expect(await refusal(suspend('  '))).toBe('a suspension needs a reason');
    expect(await refusal(resume())).toBe('the organization is not suspended by an operator');

    const suspended = await suspend('abuse report 4711');
    expect(suspended).toMatchObject({
      status: 'trialing',
      operatorSuspension: { reason: 'abuse report 4711', by: operator.id },
    });
    await until(handle, (s) => s.operatorSuspension !== null);
    const { account, org } = await entitlements(orgId);
    expect(org?.subscriptionStatus).toBe('suspended');
    expect(account).toMatchObject({
      status: 'trialing',
      operatorSuspendedBy: operator.id,
      operatorSuspensionReason: 'abuse report 4711',
    });
    expect(account?.operatorSuspendedAt?.toISOString()).toBe(suspended.operatorSuspension?.since);
    await expect
      .poll(() => gatewayAnswer(key), { timeout: 20_000, interval: 250 })
      .toEqual({ status: 403, code: 'subscription_suspended' });
    expect(await refusal(suspend('again'))).toBe('the organization is already suspended by an operator');

    // Billing goes on underneath: the subscription turns active, the tenant stays suspended.
    const t = await nowSeconds();
    await handle.signal(
      subscriptionSignals.stripeEvent,
      event(orgId, 'customer.subscription.updated', t, {
        subscription: {
          id: subscriptionId,
          status: 'active',
          currentPeriodStart: t,
          currentPeriodEnd: t + 30 * 86_400,
          trialEnd: null,
          cancelAtPeriodEnd: false,
          plan: null,
          seats: null,
        },
      }),
    );
    await until(handle, (s) => s.status === 'active');
    expect((await entitlements(orgId)).org?.subscriptionStatus).toBe('suspended');
    expect(await gatewayAnswer(key)).toEqual({ status: 403, code: 'subscription_suspended' });

    const resumed = await resume();
    expect(resumed).toMatchObject({ status: 'active', operatorSuspension: null });
    await until(handle, (s) => s.operatorSuspension === null);
    expect((await entitlements(orgId)).account?.operatorSuspendedAt).toBeNull();
    await expect
      .poll(() => gatewayAnswer(key), { timeout: 20_000, interval: 250 })
      .toEqual({ status: 200, code: undefined });
    await expectMails(orgId, ['account.suspended', 'account.resumed']);
    const audited = await auditRows(admin, { orgId, actorId: operator.id });
    expect(audited.map((r) => [r.action, r.details.reason])).toEqual([
      ['subscription.operator_suspended', 'abuse report 4711'],
      ['subscription.operator_resumed', 'cleared'],
    ]);

    if (process.env.RECORD_HISTORIES === '1')
      saveHistory('subscription-operator-suspension', await handle.fetchHistory());
    await terminateWhenIdle(env, handle);
  }, 120_000);

  it('suspends a lifecycle carried over from before operators could', async () => {
    const { orgId, handle } = await startLifecycle('Old Run BV');
    // A run continued before the field existed carries a state without it.
    const { operatorSuspension: _absent, ...carried } = await handle.query(subscriptionQueries.state);
    await handle.terminate('continued by an older version');
    const operator = await signUp(api.app, 'old-run-operator');
    const next: Handle = await env.client.workflow.start(subscription, {
      taskQueue,
      workflowId: workflowIds.subscription(orgId),
      args: [
        {
          orgId,
          plan: carried.plan,
          seats: carried.seats,
          stripeCustomerId: carried.stripeCustomerId,
          state: carried as SubscriptionState,
        },
      ],
    });
    expect((await next.query(subscriptionQueries.state)).operatorSuspension).toBeNull();
    await next.executeUpdate(subscriptionUpdates.operatorSuspend, {
      args: [{ orgId, operatorId: operator.id, reason: 'unpaid invoices elsewhere' }],
    });
    await until(next, (s) => s.operatorSuspension !== null);
    expect((await entitlements(orgId)).org?.subscriptionStatus).toBe('suspended');
    await terminateWhenIdle(env, next);
  });
});
