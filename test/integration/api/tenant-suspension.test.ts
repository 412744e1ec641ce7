// POST /api/admin/orgs/:orgId/suspend and /resume against a real subscription lifecycle (a tenants
// worker of this file's own task queue, Stripe's mock behind the recorder): the operator's
// suspension goes through the workflow's validated updates, so the org's enforced status, the
// tenant's billing view and the org's audit log all change, and a control that does not apply is
// a 409 with the workflow's reason that changes nothing. An org without a lifecycle cannot be
// suspended (409), an unknown one is a 404, a blank reason a 400. (Who may call them: the route
// table's operator rows.)
import { mkdtempSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FileMailer } from '../../../activities/mail/mailer.js';
import { createDb, createPool } from '../../../db/client.js';
import { priceList } from '../../../simulator/stripe-account.js';
import { StripeRecorder } from '../../../simulator/stripe-recorder.js';
import { workflowIds } from '../../../temporal.config.js';
import { createTenantsWorker } from '../../../workers/bootstrap.js';
import {
  subscriptionQueries,
  workflowTypes,
  type SubscriptionInput,
} from '../../../workflows/definitions.js';
import { useTestApp } from '../../support/app.js';
import {
  auditRows,
  bearer,
  errorCode,
  seedActiveOrg,
  signUp,
  useAdminPool,
  type TestUser,
} from './helpers.js';

const taskQueue = `tenant-suspension-${randomUUID().slice(0, 8)}`;
let recorder: StripeRecorder;
const t = useTestApp();
let admin: pg.Pool;
let dbPool: pg.Pool;
let connection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
let mailDir: string;
let operator: TestUser;
let owner: TestUser;
let orgId: string;
let lifecycle: WorkflowHandle;

beforeAll(async () => {
  recorder = await new StripeRecorder(inject('stripeUrl')).start();
  recorder.intercept = (request) => priceList(request);
  admin = useAdminPool();
  dbPool = createPool({ url: t.config.DATABASE_URL, size: 3, applicationName: 'vlinders-test-suspension' });
  connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  mailDir = mkdtempSync(join(tmpdir(), 'vlinders-suspension-mail-'));
  worker = await createTenantsWorker({
    config: { ...t.config, STRIPE_API_URL: recorder.url },
    connection,
    db: createDb(dbPool),
    mailer: new FileMailer(mailDir),
    taskQueue,
  });
  running = worker.run();

  operator = await signUp(t.app, 'suspension-operator');
  await admin.query(`UPDATE users SET platform_role = 'operator' WHERE id = $1`, [operator.id]);
  owner = await signUp(t.app, 'suspension-owner');
  orgId = await seedActiveOrg(admin, owner, 'Suspendable BV');
  const input: SubscriptionInput = {
    orgId,
    plan: 'developer',
    seats: 2,
    stripeCustomerId: `cus_${orgId.slice(0, 8)}`,
  };
  lifecycle = await t.app.temporal.workflow.start(workflowTypes.subscription, {
    workflowId: workflowIds.subscription(orgId),
    taskQueue,
    args: [input],
  });
  // Its first step opens the trial subscription in Stripe.
  for (let i = 0; i < 300 && !(await lifecycle.query(subscriptionQueries.state)).stripeSubscriptionId; i++)
    await new Promise((r) => setTimeout(r, 100));
}, 120_000);

afterAll(async () => {
  await lifecycle?.terminate('test over').catch(() => {});
  worker?.shutdown();
  await running;
  await connection?.close();
  await dbPool?.end();
  await recorder?.stop();
  rmSync(mailDir, { recursive: true, force: true });
});

const control = (action: 'suspend' | 'resume', payload: Record<string, unknown>, org = orgId) =>
  t.app.inject({
    method: 'POST',
    url: `/api/admin/orgs/${org}/${action}`,
    headers: bearer(operator),
    payload,
  });

async function orgStatus(org = orgId): Promise<string> {
  const { rows } = await admin.query<{ subscription_status: string }>(
    'SELECT subscription_status FROM organizations WHERE id = $1',
    [org],
  );
  return rows[0]!.subscription_status;
}

describe('suspend and resume', () => {
  it(
    'suspends the tenant through its lifecycle: enforced, shown, audited; twice is a 409',
    { timeout: 60_000 },
    async () => {
      const res = await control('suspend', { reason: 'abuse report 4711' });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({
        id: orgId,
        subscriptionStatus: 'suspended',
        suspension: { reason: 'abuse report 4711', by: operator.id, since: expect.stringMatching(/Z$/) },
      });
      expect(await orgStatus()).toBe('suspended');
      // The workflow holds it: its billing status is still the trial's.
      expect(await lifecycle.query(subscriptionQueries.state)).toMatchObject({
        status: 'trialing',
        operatorSuspension: { reason: 'abuse report 4711' },
      });
      const billing = await t.app.inject({ url: `/api/orgs/${orgId}/billing`, headers: bearer(owner) });
      expect(billing.json()).toMatchObject({ status: 'suspended' });

      const again = await control('suspend', { reason: 'second report' });
      expect(again.statusCode).toBe(409);
      expect(again.json()).toMatchObject({
        error: { code: 'CONFLICT', message: 'the organization is already suspended by an operator' },
      });
      expect((await lifecycle.query(subscriptionQueries.state)).operatorSuspension?.reason).toBe(
        'abuse report 4711',
      );
      const audited = await auditRows(admin, { orgId, actorId: operator.id });
      expect(audited.map((r) => [r.action, r.details.reason])).toEqual([
        ['subscription.operator_suspended', 'abuse report 4711'],
      ]);
    },
  );

  it('resumes the tenant to its billing status; resuming again is a 409', { timeout: 60_000 }, async () => {
    const res = await control('resume', { reason: 'report cleared' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ subscriptionStatus: 'trialing', suspension: null });
    expect(await orgStatus()).toBe('trialing');
    const again = await control('resume', {});
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({
      error: { message: 'the organization is not suspended by an operator' },
    });
    const audited = await auditRows(admin, {
      orgId,
      actorId: operator.id,
      action: 'subscription.operator_resumed',
    });
    expect(audited.map((r) => r.details.reason)).toEqual(['report cleared']);
  });

  it('refuses an org without a lifecycle (409), an unknown org (404) and a blank reason (400), changing nothing', async () => {
    const unbilled = await seedActiveOrg(admin, owner, 'Never Billed');
    const res = await control('suspend', { reason: 'abuse' }, unbilled);
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ error: { message: /no running subscription lifecycle/ } });
    expect(await orgStatus(unbilled)).toBe('active');

    expect((await control('suspend', { reason: 'abuse' }, randomUUID())).statusCode).toBe(404);

    const blank = await control('suspend', { reason: '   ' });
    expect(blank.statusCode).toBe(400);
    expect(errorCode(blank)).toBe('VALIDATION');
    expect(await orgStatus()).toBe('trialing');
  });
});
