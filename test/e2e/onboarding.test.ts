// A tenant signs up and creates an organization through the API; a real worker on the Temporal
// dev server onboards it; the owner then sees it active, with themselves as owner.
import { readdir, readFile } from 'node:fs/promises';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FileMailer } from '../../activities/mail/mailer.js';
import { createDb, createPool } from '../../db/client.js';
import { bundleWorkflows, createTenantsWorker } from '../../workers/bootstrap.js';
import { workflowIds } from '../../temporal.config.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { actAsStripeAccount } from '../../simulator/stripe-account.js';
import { StripeRecorder } from '../../simulator/stripe-recorder.js';
import { workerNamespaces } from '../support/global-setup.js';

const e2eNamespace = workerNamespaces.e2e;
import { bearer, signUp } from '../integration/api/helpers.js';
import { until } from '../support/until.js';

const mailDir = mkdtempSync(join(tmpdir(), 'vlinders-e2e-mail-'));
let t: TestApp;
let stripe: StripeRecorder;
let worker: Worker;
let running: Promise<void>;
let connection: NativeConnection;
let pool: ReturnType<typeof createPool>;

beforeAll(async () => {
  // Onboarding opens a Stripe customer and subscription: stripe-mock, acting as one account.
  stripe = actAsStripeAccount(await new StripeRecorder(inject('stripeUrl')).start());
  t = await buildTestApp({ TEMPORAL_NAMESPACE: e2eNamespace, MAIL_DIR: mailDir, STRIPE_API_URL: stripe.url });
  pool = createPool({ url: t.config.DATABASE_URL, size: 2, applicationName: 'e2e-worker' });
  connection = await NativeConnection.connect({ address: t.config.TEMPORAL_ADDRESS });
  worker = await createTenantsWorker({
    config: t.config,
    connection,
    db: createDb(pool),
    mailer: new FileMailer(mailDir),
    workflowBundle: await bundleWorkflows(),
  });
  running = worker.run();
});

afterAll(async () => {
  worker.shutdown();
  await running;
  await Promise.all([connection.close(), pool.end(), t.close(), stripe.stop()]);
});

describe('tenant onboarding through the API', () => {
  it('creates the org, onboards it on a real worker, and the owner sees it active', async () => {
    const owner = await signUp(t.app, 'e2e-owner');
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/orgs',
      headers: bearer(owner),
      payload: { name: 'Butterfly Labs' },
    });
    expect(created.statusCode, created.body).toBe(202);
    const { orgId, workflowId } = created.json<{ orgId: string; workflowId: string }>();
    expect(workflowId).toBe(workflowIds.onboarding(orgId));

    const org = await until('the org to be active', async () => {
      const res = await t.app.inject({ url: `/api/orgs/${orgId}`, headers: bearer(owner) });
      const body = res.json<{ status: string; role: string | null; failureReason: string | null }>();
      return body.status === 'onboarding' ? undefined : body;
    });
    expect(org).toMatchObject({ status: 'active', role: 'owner', failureReason: null });

    const members = await t.app.inject({ url: `/api/orgs/${orgId}/members`, headers: bearer(owner) });
    expect(members.statusCode).toBe(200);
    expect(members.json<{ items: { userId: string; role: string }[] }>().items).toEqual([
      expect.objectContaining({ userId: owner.id, role: 'owner' }),
    ]);

    const mails = (await readdir(mailDir)).filter((f) => f.endsWith('.json'));
    const sent = await Promise.all(
      mails.map(
        async (f) => JSON.parse(await readFile(join(mailDir, f), 'utf8')) as { to: string; subject: string },
      ),
    );
    // The verification link of the sign-up, then the onboarding's welcome.
    expect(
      sent
        .filter((m) => m.to === owner.email)
        .map((m) => m.subject)
        .sort(),
    ).toEqual(['Confirm your email address for Vlinders', 'Welcome to Vlinders: Butterfly Labs is ready']);
  });

  it("keeps the workflow history unreadable without the tenant's key", async () => {
    const owner = await signUp(t.app, 'e2e-secret');
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/orgs',
      headers: bearer(owner),
      payload: { name: 'Secret Moth' },
    });
    const { workflowId } = created.json<{ workflowId: string }>();
    // A client without the codec sees what the Temporal server stores.
    const plain = await Connection.connect({ address: t.config.TEMPORAL_ADDRESS });
    const client = new Client({ connection: plain, namespace: e2eNamespace });
    const handle = client.workflow.getHandle(workflowId);
    await handle.result().catch(() => undefined);
    const history = JSON.stringify(await handle.fetchHistory());
    await plain.close();
    expect(history).not.toContain('Secret Moth');
    expect(history).not.toContain(owner.email);
    expect(history).toContain(Buffer.from('binary/encrypted').toString('base64'));
  });
});
