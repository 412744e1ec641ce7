// The capacity loop in the time-skipping environment: hours of 15-s samples in seconds. The test
// feeds the samples through its own observePool activity (a noisy series, a real rise and fall) and
// the loop's real setPoolReplicas activity applies them through a recording writer, which the
// samples then report back as Serve would. RECORD_HISTORIES=1 re-records the replay fixture
// (test/fixtures/histories/capacity-loop.json).
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCapacityActivities, type ServeClusterPort } from '../../activities/capacity/index.js';
import {
  defaultCapacitySettings,
  type CapacityObservation,
  type CapacityPool,
  type CapacitySettings,
} from '../../core/capacity.js';
import type { ReplicaSetting } from '../../core/serving.js';
import { temporalWorkerTracing } from '../../runtime/temporal-tracing.js';
import { workflowIds } from '../../temporal.config.js';
import { bundleWorkflows } from '../../workers/bootstrap.js';
import { capacityQueries, capacitySignals, capacityUpdates } from '../../workflows/definitions.js';
import { capacity } from '../../workflows/index.js';
import { saveHistory } from './histories.js';
import { createTimeSkippingEnv, terminateWhenIdle } from './time-skipping-env.js';

const taskQueue = 'capacity-time-skipping';
const minute = 60_000;

const settings: CapacitySettings = {
  ...defaultCapacitySettings,
  minReplicas: 1,
  maxReplicas: 6,
  targetOngoingPerReplica: 10,
  targetWaitingPerReplica: 5,
  scaleUpWindowMs: 1 * minute,
  scaleDownWindowMs: 2 * minute,
  scaleUpCooldownMs: 1 * minute,
  scaleDownCooldownMs: 5 * minute,
  coldStartMs: 1 * minute,
  intervalMs: 15_000,
};

/** A deterministic noise source (a linear congruential generator): no flaky runs. */
function noise(seed: number) {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

/** What the fake cluster does: its replicas, the writer's changes, and the load the samples show. */
class FakePool {
  replicas = 2;
  changes: { setting: ReplicaSetting; updateId: string }[] = [];
  samples = 0;
  /** Requests the pool holds (running and waiting), per sample. */
  load: () => number = () => 0;
  failSamples = false;

  observe(): Omit<CapacityObservation, 'at'> {
    if (this.failSamples) throw new Error('metrics endpoint unreachable');
    this.samples += 1;
    const ongoing = Math.max(0, Math.round(this.load()));
    const capacity = 16 * this.replicas;
    return {
      replicas: this.replicas,
      ongoing,
      waiting: Math.max(0, ongoing - capacity),
      kvCacheUse: this.replicas === 0 ? null : Math.min(1, ongoing / capacity) * 0.5,
      gpuUtilization: null,
      gatewayInflight: null,
    };
  }

  readonly port: ServeClusterPort = {
    dashboardUrl: async () => 'http://127.0.0.1:1',
    setReplicas: async (_cluster, setting, updateId) => {
      // The writer's update id dedupes a retried attempt; a different id is a new change.
      if (this.changes.some((c) => c.updateId === updateId)) return;
      this.changes.push({ setting, updateId });
      this.replicas = setting.minReplicas;
    },
  };
}

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
/** Each loop's fake cluster, by the cluster's name (one per loop, so loops never share one). */
const clusters = new Map<string, FakePool>();
const fakeOf = (cluster: string) => clusters.get(cluster)!;

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const [testEnv, bundle] = await Promise.all([createTimeSkippingEnv(), bundleWorkflows()]);
  env = testEnv;
  // The real activities with the fake writer, and the test's samples in place of the scrape.
  const real = createCapacityActivities({
    clusters: {
      dashboardUrl: (cluster) => fakeOf(cluster).port.dashboardUrl(cluster),
      setReplicas: (cluster, setting, id) => fakeOf(cluster).port.setReplicas(cluster, setting, id),
    },
  });
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: { ...real, observePool: async (p: CapacityPool) => fakeOf(p.cluster).observe() },
    ...temporalWorkerTracing(),
  });
  running = worker.run();
}, 120_000);

afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
});

type Handle = WorkflowHandle<typeof capacity>;
let pool: FakePool;
let handle: Handle | undefined;

beforeEach(() => {
  pool = new FakePool();
  handle = undefined;
});

afterEach(async () => {
  if (handle) await terminateWhenIdle(env, handle);
});

let loops = 0;

/** Starts a loop over a fresh fake cluster (`pool`); the test's handle is terminated after it. */
async function startLoop(overrides: Partial<CapacitySettings> = {}, historyLimit?: number): Promise<Handle> {
  loops += 1;
  const p: CapacityPool = {
    pool: `gpu-pool-${loops}`,
    cluster: `cluster-${loops}`,
    application: 'tiny-chat-v1',
    model: 'tiny-chat-v1',
    metricsUrls: ['http://127.0.0.1:1/metrics'],
  };
  clusters.set(p.cluster, pool);
  handle = await env.client.workflow.start(capacity, {
    taskQueue,
    workflowId: workflowIds.capacity(p.pool),
    args: [{ pool: p, settings: { ...settings, ...overrides }, ...(historyLimit && { historyLimit }) }],
  });
  return handle;
}

const replicasSet = () => pool.changes.map((c) => c.setting.minReplicas);

describe('capacity loop', () => {
  it('does not flap on a noisy series, and follows a real rise and fall once each way', async () => {
    const random = noise(11);
    // 1.5 replicas' worth ± 40 %: single samples cross both edges of the band (12 and 20).
    pool.load = () => 15 * (1 + (random() - 0.5) * 0.8);
    const loop = await startLoop();

    await env.sleep(2 * 60 * minute);
    expect(pool.samples).toBeGreaterThan(400);
    expect(pool.changes).toEqual([]);
    const noisy = await loop.query(capacityQueries.state);
    expect(noisy.state).toMatchObject({ current: 2, changes: 0 });
    expect(noisy.state.decisions).toEqual([]);
    expect(noisy.state.last).toMatchObject({ outcome: 'held', current: 2 });

    // A real rise: ~45 ongoing needs 5 replicas.
    pool.load = () => 45 * (1 + (random() - 0.5) * 0.4);
    await env.sleep(15 * minute);
    const afterRise = replicasSet();
    expect(afterRise.length).toBeGreaterThanOrEqual(1);
    expect(afterRise.at(-1)).toBeGreaterThanOrEqual(4);
    expect(afterRise).toEqual([...afterRise].sort((a, b) => a - b));

    // And back down, after the cooldown, without going back up.
    pool.load = () => 15 * (1 + (random() - 0.5) * 0.4);
    await env.sleep(30 * minute);
    const downs = replicasSet().slice(afterRise.length);
    expect(downs.length).toBeGreaterThanOrEqual(1);
    expect(downs).toEqual([...downs].sort((a, b) => b - a));
    expect(downs.at(-1)).toBe(2);

    const { state } = await loop.query(capacityQueries.state);
    expect(state.changes).toBe(pool.changes.length);
    const applied = state.decisions.filter((d) => d.outcome === 'applied');
    expect(applied.map((d) => d.desired)).toEqual(replicasSet());
    expect(applied.at(-1)).toMatchObject({ reason: 'scale-down', desired: 2 });
    // The first scale-down came a full cooldown after the last scale-up.
    const lastUp = applied[afterRise.length - 1]!;
    const firstDown = applied[afterRise.length]!;
    expect(firstDown.at - lastUp.at).toBeGreaterThanOrEqual(settings.scaleDownCooldownMs);
  }, 240_000);

  it('in dry-run only recommends; settings are validated; pause stops it; and it continues as new', async () => {
    pool.load = () => 50;
    const loop = await startLoop({ dryRun: true }, 150);
    const firstRunId = (await loop.describe()).runId;

    await env.sleep(3 * minute);
    let view = await loop.query(capacityQueries.state);
    expect(pool.changes).toEqual([]);
    expect(view.state.decisions.filter((d) => d.outcome === 'recommended').at(-1)).toMatchObject({
      reason: 'scale-up',
      current: 2,
      desired: 5,
    });

    // Refused with the reason, and nothing changes.
    await expect(
      loop.executeUpdate(capacityUpdates.configure, { args: [{ minReplicas: 5, maxReplicas: 3 }] }),
    ).rejects.toThrow(WorkflowUpdateFailedError);
    await expect(
      loop.executeUpdate(capacityUpdates.configure, { args: [{ maxReplica: 3 } as never] }),
    ).rejects.toThrow(WorkflowUpdateFailedError);

    // Paused: no samples, no decisions.
    await loop.signal(capacitySignals.pause, { reason: 'incident 42' });
    await env.sleep(1 * minute);
    const pausedAt = pool.samples;
    await env.sleep(5 * minute);
    expect(pool.samples).toBe(pausedAt);
    expect((await loop.query(capacityQueries.state)).state.paused).toBe(true);

    // Resumed and out of dry-run: the loop applies (after its windows fill again).
    await loop.signal(capacitySignals.resume);
    const changed = await loop.executeUpdate(capacityUpdates.configure, {
      args: [{ dryRun: false, maxReplicas: 4 }],
    });
    expect(changed).toMatchObject({ dryRun: false, maxReplicas: 4 });
    await env.sleep(3 * minute);
    expect(replicasSet()).toEqual([4]);

    // It continued as new (history limit 150) and carried its state.
    view = await loop.query(capacityQueries.state);
    const description = await env.client.workflow.getHandle(loop.workflowId).describe();
    expect(description.runId).not.toBe(firstRunId);
    expect(view.state).toMatchObject({ current: 4, changes: 1, paused: false });
    expect(view.settings).toMatchObject({ dryRun: false, maxReplicas: 4 });
  }, 240_000);

  it('holds while samples fail, and acts again once they come back', async () => {
    pool.load = () => 80;
    pool.failSamples = true;
    const loop = await startLoop();
    await env.sleep(5 * minute);
    expect(pool.changes).toEqual([]);
    expect((await loop.query(capacityQueries.state)).state.current).toBeNull();
    pool.failSamples = false;
    await env.sleep(2 * minute);
    expect(replicasSet()).toEqual([6]);
  }, 240_000);

  it('records a short life for the replay test', async () => {
    const random = noise(3);
    pool.load = () => 15 * (1 + (random() - 0.5) * 0.6);
    const loop = await startLoop({ dryRun: true });
    await env.sleep(2 * minute);
    await loop.executeUpdate(capacityUpdates.configure, { args: [{ dryRun: false }] });
    await loop.signal(capacitySignals.pause, { reason: 'maintenance' });
    await env.sleep(1 * minute);
    await loop.signal(capacitySignals.resume);
    pool.load = () => 50;
    await env.sleep(3 * minute);
    expect(replicasSet().length).toBeGreaterThanOrEqual(1);
    if (process.env.RECORD_HISTORIES === '1') saveHistory('capacity-loop', await loop.fetchHistory());
  }, 240_000);
});
