// The rollout in the time-skipping environment with its real activities on a database of its own:
// steps to 100 % and the old version drained and retired; a failing gate rolled back; a deploy that
// fails; approval, pause and abort with their validators. The Ray cluster is the recording stand-in
// (test/serving/rollout.test.ts runs it against Ray Serve and the gateway).
// Set RECORD_HISTORIES=1 to re-record the replay fixture (test/fixtures/histories/rollout.json).
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRolloutActivities } from '../../activities/rollout/index.js';
import { rolloutPlan, type RolloutOptions } from '../../core/rollout.js';
import { createDb, createPool, type Db } from '../../db/client.js';
import { temporalWorkerTracing } from '../../runtime/temporal-tracing.js';
import { taskQueues, workflowIds } from '../../temporal.config.js';
import { bundleWorkflows } from '../../workers/bootstrap.js';
import { rolloutQueries, rolloutUpdates, type RolloutProgress } from '../../workflows/definitions.js';
import { rollout } from '../../workflows/rollout.js';
import { adminPool, createIsolatedDatabase, type IsolatedDatabase } from '../support/isolated-database.js';
import { saveHistory } from './histories.js';
import {
  RecordingServeCluster,
  addRequests,
  seedModel,
  startModelsEndpoint,
  versionRow,
  type SeededModel,
} from './rollout-fixture.js';
import { createTimeSkippingEnv } from './time-skipping-env.js';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundle;
let database: IsolatedDatabase;
let pool: pg.Pool;
let admin: pg.Pool;
let db: Db;
let models: Awaited<ReturnType<typeof startModelsEndpoint>>;

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  database = await createIsolatedDatabase('rollout_workflow');
  pool = createPool({ url: database.appUrl, size: 4, applicationName: 'test-rollout-workflow' });
  db = createDb(pool);
  admin = adminPool(database.adminUrl);
  // Dropping the database at the end ends connections that are still closing: not a failure.
  for (const p of [pool, admin]) p.on('error', () => undefined);
  models = await startModelsEndpoint();
  [env, bundle] = await Promise.all([createTimeSkippingEnv(), bundleWorkflows()]);
}, 120_000);

afterAll(async () => {
  await env?.teardown();
  await models?.close();
  await pool?.end();
  await admin?.end();
  await database?.drop();
});

const quickPlan: RolloutOptions = {
  steps: [1, 10, 50, 100].map((percent) => ({ percent, holdSeconds: 60 })),
  gates: { minRequests: 10 },
  checkIntervalSeconds: 15,
  drainQuietSeconds: 30,
  drainTimeoutSeconds: 120,
};

async function withRollout<T>(
  seeded: SeededModel,
  options: RolloutOptions,
  cluster: RecordingServeCluster,
  body: (handle: Awaited<ReturnType<typeof env.client.workflow.start<typeof rollout>>>) => Promise<T>,
): Promise<T> {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: taskQueues.serving,
    workflowBundle: bundle,
    activities: createRolloutActivities({ db, serve: cluster }),
    ...temporalWorkerTracing(),
  });
  return worker.runUntil(async () => {
    const handle = await env.client.workflow.start(rollout, {
      taskQueue: taskQueues.serving,
      workflowId: workflowIds.rollout(seeded.name, 'v2'),
      args: [{ modelId: seeded.modelId, model: seeded.name, version: 'v2', plan: rolloutPlan(options) }],
    });
    return body(handle);
  });
}

/** Queries progress, moving the test server's clock on, until `holds` is true of it. */
async function progressUntil(
  handle: { query: (q: typeof rolloutQueries.progress) => Promise<RolloutProgress> },
  holds: (p: RolloutProgress) => boolean,
): Promise<RolloutProgress> {
  for (let i = 0; i < 200; i++) {
    const progress = await handle.query(rolloutQueries.progress);
    if (holds(progress)) return progress;
    await env.sleep('5 seconds');
  }
  throw new Error('the rollout never reached the expected progress');
}

async function auditedSteps(canaryId: string): Promise<number[]> {
  const { rows } = await admin.query<{ percent: number }>(
    `SELECT (details ->> 'percent')::int AS percent FROM audit_log
     WHERE action = 'model.rollout.step' AND target_id = $1 ORDER BY id`,
    [canaryId],
  );
  return rows.map((r) => r.percent);
}

describe('rollout workflow', () => {
  it(
    'steps 1 → 10 → 50 → 100 % while the gates pass, then drains, unloads and retires the old version',
    { timeout: 120_000 },
    async () => {
      const seeded = await seedModel(admin, models.url);
      await addRequests(admin, seeded.currentId, { count: 40, errors: 1, ttftMs: 80 });
      await addRequests(admin, seeded.newId, { count: 20, ttftMs: 90 });
      const cluster = new RecordingServeCluster();

      const result = await withRollout(seeded, quickPlan, cluster, async (handle) => {
        const result = await handle.result();
        if (process.env.RECORD_HISTORIES === '1') saveHistory('rollout', await handle.fetchHistory());
        const progress = await handle.query(rolloutQueries.progress);
        expect(progress).toMatchObject({ phase: 'succeeded', step: 3, percent: 100 });
        expect(progress.events.map((e) => e.what)).toContain('step 4: 100 % of the traffic');
        return result;
      });

      expect(result).toEqual({ phase: 'succeeded', reason: null });
      expect(await auditedSteps(seeded.newId)).toEqual([1, 10, 50, 100]);
      expect(await versionRow(admin, seeded.newId)).toMatchObject({
        stage: 'serving',
        state: 'active',
        weight: 1000,
      });
      expect(await versionRow(admin, seeded.currentId)).toMatchObject({
        stage: 'retired',
        state: 'disabled',
        weight: 0,
      });
      expect(cluster.calls).toEqual([
        `put c-${seeded.name}/${seeded.name}-v2`,
        `remove c-${seeded.name}/${seeded.name}-v1`,
      ]);
    },
  );

  it(
    'rolls back on a failing gate: weights back, the new application removed, the version failed',
    { timeout: 120_000 },
    async () => {
      const seeded = await seedModel(admin, models.url);
      await addRequests(admin, seeded.currentId, { count: 40 });
      await addRequests(admin, seeded.newId, { count: 20, errors: 6 });
      const cluster = new RecordingServeCluster();

      const result = await withRollout(seeded, quickPlan, cluster, (handle) => handle.result());

      expect(result.phase).toBe('rolled-back');
      expect(result.reason).toMatch(/^step 1 \(1 %\): error ratio 30\.0% \(6\/20\) above 2\.0%/);
      expect(await auditedSteps(seeded.newId)).toEqual([1]);
      expect(await versionRow(admin, seeded.currentId)).toMatchObject({
        stage: 'serving',
        state: 'active',
        weight: 1000,
      });
      const failed = await versionRow(admin, seeded.newId);
      expect(failed).toMatchObject({ stage: 'failed', state: 'disabled', weight: 0 });
      expect(failed.failure_reason).toContain('error ratio');
      expect(cluster.applications.has(`${seeded.name}-v2`)).toBe(false);
      expect(cluster.applications.has(`${seeded.name}-v1`)).toBe(false);
      expect(cluster.calls.at(-1)).toBe(`remove c-${seeded.name}/${seeded.name}-v2`);
    },
  );

  it('rolls back a version whose application fails to deploy, before it takes any traffic', async () => {
    const seeded = await seedModel(admin, models.url);
    const cluster = new RecordingServeCluster();
    cluster.failing.add(`${seeded.name}-v2`);

    const result = await withRollout(seeded, quickPlan, cluster, (handle) => handle.result());

    expect(result.phase).toBe('rolled-back');
    expect(result.reason).toMatch(/^deploy failed: Traceback/);
    expect(await auditedSteps(seeded.newId)).toEqual([]);
    expect(await versionRow(admin, seeded.newId)).toMatchObject({ stage: 'failed', weight: 0 });
    expect(await versionRow(admin, seeded.currentId)).toMatchObject({ stage: 'serving', weight: 1000 });
  });

  it(
    'waits for approval, refuses controls that do not apply, holds while paused, and aborts',
    { timeout: 120_000 },
    async () => {
      const seeded = await seedModel(admin, models.url);
      await addRequests(admin, seeded.currentId, { count: 40 });
      await addRequests(admin, seeded.newId, { count: 20 });
      const cluster = new RecordingServeCluster();
      const options: RolloutOptions = {
        ...quickPlan,
        steps: [{ percent: 5 }, { percent: 50, requireApproval: true }, { percent: 100 }],
      };

      const result = await withRollout(seeded, options, cluster, async (handle) => {
        const refused = (p: Promise<unknown>) => expect(p).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
        await refused(handle.executeUpdate(rolloutUpdates.resume));
        const waiting = await progressUntil(handle, (p) => p.awaitingApproval !== null);
        expect(waiting).toMatchObject({ phase: 'canary', step: 0, percent: 5, awaitingApproval: 1 });
        await refused(handle.executeUpdate(rolloutUpdates.approve, { args: [{ step: 2 }] }));

        const paused = await handle.executeUpdate(rolloutUpdates.pause, { args: [{ reason: 'checking' }] });
        expect(paused.paused).toBe(true);
        await refused(handle.executeUpdate(rolloutUpdates.pause, { args: [{}] }));
        // Approved while paused: the step still waits for the resume.
        await handle.executeUpdate(rolloutUpdates.approve, { args: [{ step: 1 }] });
        await env.sleep('10 minutes');
        expect(await handle.query(rolloutQueries.progress)).toMatchObject({
          step: 0,
          percent: 5,
          paused: true,
          awaitingApproval: null,
        });
        expect(await auditedSteps(seeded.newId)).toEqual([5]);

        await handle.executeUpdate(rolloutUpdates.resume);
        await progressUntil(handle, (p) => p.step === 1);
        await handle.executeUpdate(rolloutUpdates.abort, { args: [{ reason: 'change freeze' }] });
        return handle.result();
      });

      expect(result).toEqual({ phase: 'aborted', reason: 'aborted by an operator: change freeze' });
      expect(await auditedSteps(seeded.newId)).toEqual([5, 50]);
      expect(await versionRow(admin, seeded.currentId)).toMatchObject({ stage: 'serving', weight: 1000 });
      expect(await versionRow(admin, seeded.newId)).toMatchObject({ stage: 'failed', weight: 0 });
      expect(cluster.applications.size).toBe(0);
    },
  );
});
