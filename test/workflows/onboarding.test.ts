// The onboarding workflow in the time-skipping environment, with the real activities against the
// real PostgreSQL: the happy path, and a step that keeps failing until its deadline passes, which
// must compensate and leave the org 'failed'. Set RECORD_HISTORIES=1 to re-record the replay
// fixtures under test/fixtures/histories from these runs.
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { defaultOrgSettings } from '../../activities/tenant.js';
import { FileMailer, type Mailer } from '../../activities/mail/mailer.js';
import { createDb, createPool, type Db } from '../../db/client.js';
import { workflowIds } from '../../temporal.config.js';
import type { OnboardingInput } from '../../workflows/definitions.js';
import { onboarding } from '../../workflows/index.js';
import { temporalWorkerTracing } from '../../runtime/temporal-tracing.js';
import { bundleWorkflows } from '../../workers/bootstrap.js';
import { repoRoot } from '../support/services.js';
import { saveHistory } from './histories.js';
import { createPendingTenant, tenantState } from './tenant-fixture.js';

const taskQueue = 'onboarding-time-skipping';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundle;
let pool: pg.Pool;
let db: Db;
let scratch: string;

beforeAll(async () => {
  // The failing-mail case retries dozens of times; each retry would log a warning.
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  pool = createPool({ url: inject('databaseUrl'), size: 4, applicationName: 'test-onboarding' });
  db = createDb(pool);
  scratch = mkdtempSync(join(tmpdir(), 'vlinders-onboarding-'));
  [env, bundle] = await Promise.all([
    TestWorkflowEnvironment.createTimeSkipping({
      server: {
        executable: { type: 'existing-path', path: join(repoRoot, '.tools/bin/temporal-test-server') },
      },
    }),
    bundleWorkflows(),
  ]);
});

afterAll(async () => {
  await env?.teardown();
  await pool?.end();
});

async function runOnboarding(input: OnboardingInput, mailer: Mailer, recordAs?: string) {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: createActivities({ db, mailer, mailFrom: 'Vlinders <no-reply@vlinders.test>' }),
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
    return result;
  });
}

describe('onboarding workflow (time-skipping)', () => {
  it('activates the org with its settings, one owner, the audit entries and the welcome mail sent', async () => {
    const input = await createPendingTenant(db, 'Acme Robotics');
    const mailDir = join(scratch, 'mail-happy');

    const result = await runOnboarding(input, new FileMailer(mailDir), 'active');

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
  });

  it('compensates and marks the org failed when the welcome mail cannot be sent before its deadline', async () => {
    const input = await createPendingTenant(db, 'Bolt Analytics');
    // The mail folder sits under a regular file: every delivery fails (ENOTDIR), retryably,
    // until the external preset's one-hour schedule-to-close deadline passes (skipped in time).
    const blocker = join(scratch, 'not-a-folder');
    writeFileSync(blocker, '');

    const result = await runOnboarding(input, new FileMailer(join(blocker, 'mail')), 'failed');

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

  it('fails without retrying and leaves nothing behind when the org does not exist', async () => {
    const input = await createPendingTenant(db, 'Ghost Org');
    const missing = { ...input, orgId: '00000000-0000-4000-8000-000000000000' };

    const result = await runOnboarding(missing, new FileMailer(join(scratch, 'mail-missing')));

    expect(result.status).toBe('failed');
    expect(result.reason).toBe(
      `writing the default settings failed: organization ${missing.orgId} does not exist`,
    );
    expect((await tenantState(db, missing.orgId)).memberships).toEqual([]);
  });
});
