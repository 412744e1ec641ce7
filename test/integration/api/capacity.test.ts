// The capacity routes against real capacity loops: a worker of this file's own task queue runs
// `capacity/<pool>` workflows on the dev server with a fake cluster (its samples and its writer), so
// an operator sees each pool's loop — live, dry-run with its recommendation, stopped — pauses and
// resumes one, switches it to dry-run, and has a setting the loop refuses answered 400 with the
// loop's reason and nothing changed. Controls of a stopped or unknown loop are 409 and 404. (Who may
// call them: the route table's operator rows.)
import { randomBytes, randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createCapacityActivities } from '../../../activities/capacity/index.js';
import { defaultCapacitySettings, type CapacityPool, type CapacitySettings } from '../../../core/capacity.js';
import { createDb, createPool } from '../../../db/client.js';
import { createDataConverter } from '../../../runtime/codec.js';
import { temporalWorkerTracing } from '../../../runtime/temporal-tracing.js';
import { workflowIds } from '../../../temporal.config.js';
import { bundleWorkflows } from '../../../workers/bootstrap.js';
import { workflowTypes, type CapacityInput } from '../../../workflows/definitions.js';
import { useTestApp } from '../../support/app.js';
import { auditRows, bearer, errorCode, signUp, useAdminPool, type TestUser } from './helpers.js';

const t = useTestApp();
let admin: pg.Pool;
let operator: TestUser;
let dbPool: pg.Pool;
let connection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
const loops: WorkflowHandle[] = [];

const taskQueue = `capacity-api-${randomUUID().slice(0, 8)}`;
const suffix = randomBytes(4).toString('hex');
const pools = { live: `live-${suffix}`, dryRun: `dry-${suffix}`, stopped: `stopped-${suffix}` };
/** Requests each pool holds: the dry-run pool is busy enough to want more replicas. */
const load: Record<string, number> = { [pools.live]: 0, [pools.dryRun]: 100, [pools.stopped]: 0 };
const settings: CapacitySettings = {
  ...defaultCapacitySettings,
  maxReplicas: 4,
  intervalMs: 1_000,
  scaleUpWindowMs: 1_000,
  scaleUpCooldownMs: 0,
};

async function startLoop(pool: string, overrides: Partial<CapacitySettings> = {}): Promise<WorkflowHandle> {
  const input: CapacityInput = {
    pool: {
      pool,
      cluster: `cluster-${pool}`,
      application: 'tiny-chat-v1',
      model: 'tiny-chat-v1',
      metricsUrls: [],
    },
    settings: { ...settings, ...overrides },
  };
  const handle = await t.app.temporal.workflow.start(workflowTypes.capacity, {
    taskQueue,
    workflowId: workflowIds.capacity(pool),
    args: [input],
  });
  loops.push(handle);
  return handle;
}

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  admin = useAdminPool();
  operator = await signUp(t.app, 'capacity-operator');
  await admin.query(`UPDATE users SET platform_role = 'operator' WHERE id = $1`, [operator.id]);
  dbPool = createPool({ url: t.config.DATABASE_URL, size: 2, applicationName: 'vlinders-test-capacity' });
  connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  worker = await Worker.create({
    connection,
    namespace: t.config.TEMPORAL_NAMESPACE,
    taskQueue,
    workflowBundle: await bundleWorkflows(),
    activities: {
      // The real activities with the fake cluster: two replicas, the writer records nothing.
      ...createCapacityActivities({
        clusters: { dashboardUrl: async () => 'http://127.0.0.1:1', setReplicas: async () => {} },
      }),
      observePool: async (p: CapacityPool) => ({
        replicas: 2,
        ongoing: load[p.pool] ?? 0,
        waiting: 0,
        kvCacheUse: null,
        gpuUtilization: null,
        gatewayInflight: null,
      }),
    },
    dataConverter: createDataConverter(t.config, createDb(dbPool)),
    ...temporalWorkerTracing(),
  });
  running = worker.run();
  await startLoop(pools.live);
  await startLoop(pools.dryRun, { dryRun: true });
  const stopped = await startLoop(pools.stopped);
  await stopped.terminate('retired pool');
}, 120_000);

afterAll(async () => {
  await Promise.all(loops.map((loop) => loop.terminate('test over').catch(() => {})));
  worker?.shutdown();
  await running;
  await connection?.close();
  await dbPool?.end();
});

interface PoolView {
  pool: string;
  running: boolean;
  workflowStatus: string;
  mode: string | null;
  paused: boolean | null;
  replicas: number | null;
  desired: number | null;
  recommendation: { outcome: string; desired: number; reason: string } | null;
  settings: CapacitySettings | null;
  stateError: string | null;
  [field: string]: unknown;
}

function call(method: 'GET' | 'POST' | 'PATCH', url: string, payload?: Record<string, unknown>) {
  return t.app.inject({ method, url, headers: bearer(operator), ...(payload && { payload }) });
}

async function pool(name: string): Promise<PoolView> {
  const res = await call('GET', `/api/admin/capacity/${name}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json<PoolView>();
}

describe('GET /api/admin/capacity', () => {
  it(
    'shows every loop: live, dry-run with its recommendation, and a stopped one',
    { timeout: 60_000 },
    async () => {
      const mine = async () => {
        const res = await call('GET', '/api/admin/capacity');
        expect(res.statusCode, res.body).toBe(200);
        return res.json<{ items: PoolView[] }>().items.filter((p) => p.pool.endsWith(suffix));
      };
      // Visibility is eventually consistent, and the dry-run loop needs a few samples to recommend.
      await expect
        .poll(
          async () =>
            (await mine()).map((p) => [p.pool, p.workflowStatus, p.recommendation?.outcome ?? null]),
          {
            timeout: 30_000,
            interval: 500,
          },
        )
        .toEqual([
          [pools.dryRun, 'RUNNING', 'recommended'],
          [pools.live, 'RUNNING', null],
          [pools.stopped, 'TERMINATED', null],
        ]);
      const [dryRun, live, stopped] = (await mine()) as [PoolView, PoolView, PoolView];
      expect(live).toMatchObject({
        workflowId: `capacity/${pools.live}`,
        running: true,
        stateError: null,
        cluster: `cluster-${pools.live}`,
        application: 'tiny-chat-v1',
        mode: 'live',
        paused: false,
        replicas: 2,
        changes: 0,
        settings: expect.objectContaining({ maxReplicas: 4, dryRun: false }),
      });
      // 100 requests at 16 a replica want 7; the pool stops at its maximum.
      expect(dryRun).toMatchObject({ mode: 'dry-run', replicas: 2, desired: 4 });
      expect(dryRun.recommendation).toMatchObject({ outcome: 'recommended', desired: 4, reason: 'scale-up' });
      expect(stopped).toMatchObject({
        running: false,
        mode: null,
        replicas: null,
        settings: null,
        decisions: [],
      });
    },
  );
});

describe('GET /api/admin/capacity/:pool', () => {
  it('shows one loop; 404 for a pool without one, 400 for a name no pool has', async () => {
    expect(await pool(pools.live)).toMatchObject({ pool: pools.live, running: true, mode: 'live' });
    const res = await call('GET', `/api/admin/capacity/nothing-${suffix}`);
    expect(res.statusCode).toBe(404);
    expect(errorCode(res)).toBe('NOT_FOUND');
    expect(errorCode(await call('GET', '/api/admin/capacity/..%2Fbilling'))).toBe('VALIDATION');
  });
});

describe('pause and resume', () => {
  it('pauses and resumes the loop, audited; the same control twice is a 409', async () => {
    const paused = await call('POST', `/api/admin/capacity/${pools.live}/pause`, {
      reason: 'GPU maintenance',
    });
    expect(paused.statusCode, paused.body).toBe(200);
    expect(paused.json()).toMatchObject({ pool: pools.live, paused: true });
    const again = await call('POST', `/api/admin/capacity/${pools.live}/pause`, { reason: 'again' });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ error: { code: 'CONFLICT', message: /already paused/ } });

    const resumed = await call('POST', `/api/admin/capacity/${pools.live}/resume`, {});
    expect(resumed.statusCode, resumed.body).toBe(200);
    expect(resumed.json()).toMatchObject({ paused: false });
    expect((await call('POST', `/api/admin/capacity/${pools.live}/resume`, {})).statusCode).toBe(409);

    const audited = await auditRows(admin, { actorId: operator.id });
    expect(audited.filter((r) => r.target_id === pools.live).map((r) => [r.action, r.details])).toEqual([
      ['capacity.pause', { reason: 'GPU maintenance' }],
      ['capacity.resume', { reason: null }],
    ]);
  });

  it('answers 409 for a stopped loop and 404 for a pool without one', async () => {
    const stopped = await call('POST', `/api/admin/capacity/${pools.stopped}/pause`, { reason: 'x' });
    expect(stopped.statusCode).toBe(409);
    expect(stopped.json()).toMatchObject({ error: { message: /not running \(TERMINATED\)/ } });
    expect((await call('POST', `/api/admin/capacity/nothing-${suffix}/resume`, {})).statusCode).toBe(404);
  });
});

describe('PATCH /api/admin/capacity/:pool', () => {
  it('refuses settings the loop refuses with its reason, changing nothing', async () => {
    const res = await call('PATCH', `/api/admin/capacity/${pools.live}`, { minReplicas: 5 });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({
      error: { code: 'VALIDATION', message: 'maxReplicas must be ≥ minReplicas' },
    });
    expect((await pool(pools.live)).settings).toMatchObject({ minReplicas: 1, maxReplicas: 4 });
  });

  it.each([
    ['no setting', {}],
    ['an unknown setting', { replicas: 3 }],
    ['a setting of the wrong type', { dryRun: 'yes' }],
  ])('refuses %s (400) before the loop sees it', async (_what, body) => {
    const res = await call('PATCH', `/api/admin/capacity/${pools.live}`, body);
    expect(res.statusCode).toBe(400);
    expect(errorCode(res)).toBe('VALIDATION');
  });

  it('switches the loop to dry-run, audited', async () => {
    const res = await call('PATCH', `/api/admin/capacity/${pools.live}`, { dryRun: true, maxReplicas: 6 });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      mode: 'dry-run',
      settings: expect.objectContaining({ dryRun: true, maxReplicas: 6 }),
    });
    const audited = await auditRows(admin, { actorId: operator.id, action: 'capacity.configure' });
    expect(audited.map((r) => r.details)).toEqual([{ settings: { dryRun: true, maxReplicas: 6 } }]);
  });

  it('answers 409 for a stopped loop', async () => {
    expect((await call('PATCH', `/api/admin/capacity/${pools.stopped}`, { dryRun: false })).statusCode).toBe(
      409,
    );
  });
});
