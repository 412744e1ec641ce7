// The API's side of the subscription lifecycle end to end, with a real tenants worker: plan changes
// and cancellation through the routes → the workflow's updates (validated there) → Stripe
// (stripe-mock behind the recorder) and the entitlements in Postgres; Stripe's webhooks → signals →
// the status the gateway enforces, applied by Stripe's `created`, not by arrival. The workflow runs on a task queue of this file's own, so no other
// file's workflows reach this worker.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FileMailer } from '../../../activities/mail/mailer.js';
import { createDb, createPool } from '../../../db/client.js';
import { workflowIds } from '../../../temporal.config.js';
import { createTenantsWorker } from '../../../workers/bootstrap.js';
import {
  subscriptionQueries,
  workflowTypes,
  type SubscriptionInput,
} from '../../../workflows/definitions.js';
import { buildTestApp, type TestApp } from '../../support/app.js';
import { workerNamespaces } from '../../support/global-setup.js';
import { StripeRecorder } from '../../../simulator/stripe-recorder.js';
import { addMember, adminPool, bearer, seedActiveOrg, signUp, type TestUser } from '../api/helpers.js';
import { priceList } from '../../../simulator/stripe-account.js';
import { deliver, stripeEvent } from './helpers.js';

const taskQueue = `billing-updates-${randomUUID().slice(0, 8)}`;
let t: TestApp;
let admin: pg.Pool;
let recorder: StripeRecorder;
let pool: pg.Pool;
let connection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
let mailDir: string;
let owner: TestUser;
let orgId: string;

beforeAll(async () => {
  recorder = await new StripeRecorder(inject('stripeUrl')).start();
  recorder.intercept = (request) => priceList(request);
  t = await buildTestApp({ STRIPE_API_URL: recorder.url, TEMPORAL_NAMESPACE: workerNamespaces.billingApi });
  admin = adminPool();
  pool = createPool({ url: t.config.DATABASE_URL, size: 3, applicationName: 'vlinders-test-worker' });
  connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  mailDir = mkdtempSync(join(tmpdir(), 'vlinders-billing-mail-'));
  worker = await createTenantsWorker({
    config: t.config,
    connection,
    db: createDb(pool),
    mailer: new FileMailer(mailDir),
    taskQueue,
  });
  running = worker.run();

  owner = await signUp(t.app, 'plans');
  orgId = await seedActiveOrg(admin, owner, 'Plan changer');
  const member = await signUp(t.app, 'plans-member');
  await addMember(admin, orgId, member.id, 'member');
}, 120_000);

afterAll(async () => {
  worker?.shutdown();
  await running;
  await connection?.close();
  await pool?.end();
  await t?.close();
  await admin?.end();
  await recorder?.stop();
  rmSync(mailDir, { recursive: true, force: true });
});

function post(path: string, payload: Record<string, unknown>) {
  return t.app.inject({
    method: 'POST',
    url: `/api/orgs/${orgId}/billing/${path}`,
    headers: bearer(owner),
    payload,
  });
}

/** The updates of an existing subscription that reached Stripe. */
const subscriptionChanges = () =>
  recorder.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/v1/subscriptions/sub_'));

async function orgRow(): Promise<{ plan: string; subscription_status: string }> {
  const { rows } = await admin.query<{ plan: string; subscription_status: string }>(
    'SELECT plan, subscription_status FROM organizations WHERE id = $1',
    [orgId],
  );
  return rows[0]!;
}

describe('the lifecycle', () => {
  it(
    'starts as onboarding starts it and opens the trial subscription in Stripe',
    { timeout: 60_000 },
    async () => {
      // What onboarding does: the lifecycle starts with the customer; its first step opens the trial.
      const input: SubscriptionInput = {
        orgId,
        plan: 'developer',
        seats: 2,
        stripeCustomerId: 'cus_planChanger',
      };
      const handle = await t.app.temporal.workflow.start(workflowTypes.subscription, {
        workflowId: workflowIds.subscription(orgId),
        taskQueue,
        args: [input],
      });
      await expect
        .poll(async () => (await handle.query(subscriptionQueries.state)).stripeSubscriptionId, {
          timeout: 30_000,
        })
        .toMatch(/^sub_/);
      expect(recorder.calls('POST', '/v1/subscriptions')[0]?.idempotencyKey).toBe(
        `subscription/${orgId}/create-subscription`,
      );
      await expect.poll(orgRow).toEqual({ plan: 'developer', subscription_status: 'trialing' });
    },
  );
});

describe('POST billing/plan', () => {
  it("refuses fewer seats than members with the workflow's reason, and changes nothing", async () => {
    const changes = subscriptionChanges().length;
    const res = await post('plan', { plan: 'team', seats: 1 });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({
      error: { code: 'VALIDATION', message: "1 seats are fewer than the organization's 2 members" },
    });
    expect(await orgRow()).toMatchObject({ plan: 'developer' });
    expect(subscriptionChanges()).toHaveLength(changes);
  });

  it('changes the plan in Stripe and the entitlements, and answers the new state', async () => {
    const res = await post('plan', { plan: 'team', seats: 10 });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ orgId, plan: 'team', seats: 10, status: 'trialing' });
    expect(await orgRow()).toEqual({ plan: 'team', subscription_status: 'trialing' });
    const change = subscriptionChanges().find((r) => r.params['metadata[plan]'] === 'team');
    expect(change?.idempotencyKey).toMatch(new RegExp(`^subscription/${orgId}/change-plan/`));
    const account = await t.app.inject({ url: `/api/orgs/${orgId}/billing`, headers: bearer(owner) });
    expect(account.json()).toMatchObject({ plan: 'team', seats: 10 });
  });
});

describe("Stripe's webhooks", () => {
  it('move the status the gateway enforces, newest event winning whatever the arrival order', async () => {
    const created = Math.floor(Date.now() / 1000);
    const invoice = (amountDue: number) => ({
      id: `in_${randomUUID().slice(0, 8)}`,
      object: 'invoice',
      customer: 'cus_planChanger',
      status: amountDue > 0 ? 'open' : 'paid',
      amount_due: amountDue,
      hosted_invoice_url: null,
    });
    const failed = await deliver(t.app, stripeEvent('invoice.payment_failed', invoice(4_900), created));
    expect(failed.json()).toEqual({ received: true });
    await expect.poll(orgRow).toEqual({ plan: 'team', subscription_status: 'past_due' });

    // Paid at created + 20, then an older failure (created + 10) arrives late: it changes nothing.
    const paid = stripeEvent('invoice.paid', { ...invoice(4_900), status: 'paid' }, created + 20);
    const lateFailure = stripeEvent('invoice.payment_failed', invoice(4_900), created + 10);
    expect((await deliver(t.app, paid)).statusCode).toBe(200);
    expect((await deliver(t.app, lateFailure)).statusCode).toBe(200);
    const handle = t.app.temporal.workflow.getHandle(workflowIds.subscription(orgId));
    await expect
      .poll(async () => (await handle.query(subscriptionQueries.state)).lastEventCreated)
      .toBe(created + 20);
    await expect.poll(orgRow).toEqual({ plan: 'team', subscription_status: 'active' });
  });
});

describe('POST billing/cancel', () => {
  it('cancels at the end of the period, then now; a canceled subscription takes no plan change', async () => {
    const atEnd = await post('cancel', {});
    expect(atEnd.statusCode, atEnd.body).toBe(200);
    expect(atEnd.json()).toMatchObject({ cancelAtPeriodEnd: true, status: 'active' });

    const now = await post('cancel', { atPeriodEnd: false });
    expect(now.statusCode, now.body).toBe(200);
    expect(now.json()).toMatchObject({ status: 'canceled' });
    expect(await orgRow()).toMatchObject({ subscription_status: 'canceled' });

    const change = await post('plan', { plan: 'team', seats: 10 });
    expect(change.statusCode).toBe(400);
    expect(change.json()).toMatchObject({ error: { message: /canceled/ } });
  });
});
