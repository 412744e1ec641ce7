// Onboarding on the real dev server, through the API, with the real worker process: the worker is
// SIGKILLed mid-workflow (while the welcome mail cannot be delivered) and restarted, and the
// onboarding still finishes exactly once. Payloads in the server's history are encrypted.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { encryptedEncoding } from '../../../runtime/codec.js';
import type { OnboardingResult } from '../../../workflows/definitions.js';
import { adminPool, bearer, signUp } from '../api/helpers.js';
import { buildTestApp, type TestApp } from '../../support/app.js';
import { actAsStripeAccount } from '../../../simulator/stripe-account.js';
import { StripeRecorder } from '../../../simulator/stripe-recorder.js';
import { workerNamespaces } from '../../support/global-setup.js';
import { envFromConfig, startProcess, waitUntil } from '../../support/child-process.js';
import { freePort } from '../../support/services.js';

let t: TestApp;
let stripe: StripeRecorder;
let admin: pg.Pool;
let scratch: string;

beforeAll(async () => {
  // Onboarding opens a Stripe customer and subscription: stripe-mock, acting as one account.
  stripe = actAsStripeAccount(await new StripeRecorder(inject('stripeUrl')).start());
  t = await buildTestApp({ TEMPORAL_NAMESPACE: workerNamespaces.crash, STRIPE_API_URL: stripe.url });
  admin = adminPool();
  scratch = mkdtempSync(join(tmpdir(), 'vlinders-worker-'));
});

afterAll(async () => {
  await t?.close();
  await admin?.end();
  await stripe?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('tenants worker', () => {
  it(
    'finishes onboarding exactly once after being killed mid-workflow and restarted',
    { timeout: 240_000 },
    async () => {
      // The mail folder's parent is a regular file until the test removes it: delivery fails
      // (retryably) so the workflow waits there while the worker is killed.
      const blocker = join(scratch, 'mail-blocked');
      writeFileSync(blocker, '');
      const mailDir = join(blocker, 'mail');
      const env = envFromConfig(t.config, {
        MAIL_DIR: mailDir,
        LOG_LEVEL: 'warn',
        WORKER_METRICS_PORT: String(await freePort()),
      });

      const first = startProcess('workers/main.ts', env);
      const owner = await signUp(t.app, 'founder');
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/orgs',
        headers: bearer(owner),
        payload: { name: 'Crashproof Ltd' },
      });
      expect(res.statusCode, res.body).toBe(202);
      const { orgId, workflowId } = res.json<{ orgId: string; workflowId: string }>();
      expect(workflowId).toBe(`onboarding/${orgId}`);

      // Settings, owner and the queued welcome mail are written; delivery is failing.
      await waitUntil(
        'the welcome mail to be queued',
        async () => {
          const { rows } = await admin.query('SELECT 1 FROM outbox WHERE org_id = $1', [orgId]);
          return rows.length > 0;
        },
        first,
      );
      first.child.kill('SIGKILL');
      expect(await first.exited).toBeNull();

      rmSync(blocker);
      mkdirSync(blocker);
      const second = startProcess('workers/main.ts', env);
      const result = await t.app.temporal.workflow
        .getHandle<() => Promise<OnboardingResult>>(workflowId)
        .result();
      expect(result).toEqual({ orgId, status: 'active' });

      const org = await admin.query('SELECT status, failure_reason FROM organizations WHERE id = $1', [
        orgId,
      ]);
      expect(org.rows).toEqual([{ status: 'active', failure_reason: null }]);
      const members = await admin.query('SELECT user_id, role FROM memberships WHERE org_id = $1', [orgId]);
      expect(members.rows).toEqual([{ user_id: owner.id, role: 'owner' }]);
      const mail = await admin.query<{ id: string; sent_at: Date | null }>(
        'SELECT id, sent_at FROM outbox WHERE org_id = $1',
        [orgId],
      );
      expect(mail.rows).toHaveLength(1);
      expect(mail.rows[0]?.sent_at).toBeInstanceOf(Date);
      expect(readdirSync(mailDir).sort()).toEqual([`${mail.rows[0]?.id}.eml`, `${mail.rows[0]?.id}.json`]);
      const audit = await admin.query<{ action: string; n: number }>(
        `SELECT action, count(*)::int AS n FROM audit_log
        WHERE org_id = $1 AND action IN ('org.settings_initialized', 'membership.created', 'org.activated', 'org.onboarding_failed')
        GROUP BY action ORDER BY action`,
        [orgId],
      );
      expect(audit.rows).toEqual([
        { action: 'membership.created', n: 1 },
        { action: 'org.activated', n: 1 },
        { action: 'org.settings_initialized', n: 1 },
      ]);

      // The server's history holds the owner's email only encrypted with the tenant's key.
      const raw = new Client({
        connection: t.app.temporal.connection,
        namespace: t.config.TEMPORAL_NAMESPACE,
      });
      const history = await raw.workflow.getHandle(workflowId).fetchHistory();
      const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
      expect(Buffer.from(input?.metadata?.encoding ?? []).toString()).toBe(encryptedEncoding);
      expect(Buffer.from(input?.metadata?.['encryption-key-id'] ?? []).toString()).toBe(`org:${orgId}`);
      expect(JSON.stringify(history)).not.toContain(owner.email);

      // SIGTERM drains and exits cleanly.
      second.child.kill('SIGTERM');
      expect(await second.exited, second.output()).toBe(0);
    },
  );
});
