// The capacity loop on the real stack: the serving worker as a real process (workers/serving.ts),
// the cluster's writer on the suite's Ray cluster, vLLM on CPU serving tiny-chat-v1. Many
// concurrent slow requests straight to the Serve application raise the replicas through the
// writer and the Serve API; the worker is SIGKILLed while that change is on its way to Serve (the
// writer's dashboard is reached through a proxy that holds the PUT) and restarted, and the change
// lands once, recorded once. When the load stops the replicas come back down after the cooldown.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type pg from 'pg';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ServeApi } from '../../activities/ray/serve-api.js';
import type { CapacitySettings } from '../../core/capacity.js';
import type { ServeApplication } from '../../core/serving.js';
import { createDb, createPool } from '../../db/client.js';
import { createTemporalClient } from '../../runtime/temporal-client.js';
import type { Config } from '../../runtime/config.js';
import { taskQueues, workflowIds } from '../../temporal.config.js';
import {
  capacityQueries,
  serveClusterQueries,
  serveClusterUpdates,
  type CapacityView,
} from '../../workflows/definitions.js';
import type { capacity, serveCluster } from '../../workflows/index.js';
import { envFromConfig, startProcess, type RunningProcess } from '../support/child-process.js';
import { testConfig } from '../support/config.js';
import { createNamespace, freePort } from '../support/services.js';
import { takeSuiteCluster, type SuiteCluster } from './ray.js';

const application = 'tiny-chat-v1';
const llmDeployment = `LLMServer:${application}`;
const cluster = `capacity-suite-${process.pid}`;

const settings: CapacitySettings = {
  minReplicas: 1,
  maxReplicas: 2,
  // Small targets, so a dozen concurrent requests are more than one replica's share.
  targetOngoingPerReplica: 4,
  targetWaitingPerReplica: 2,
  kvCacheCeiling: 0.9,
  gpuUtilizationGoal: 0.85,
  scaleUpAbove: 1,
  scaleDownBelow: 0.6,
  scaleUpWindowMs: 15_000,
  scaleDownWindowMs: 30_000,
  scaleUpCooldownMs: 30_000,
  scaleDownCooldownMs: 60_000,
  // A replica of vLLM on this shared CPU takes minutes to load.
  coldStartMs: 240_000,
  intervalMs: 5_000,
  scaleToZero: null,
  dryRun: false,
};

let ray: SuiteCluster;
let config: Config;
let pool: pg.Pool;
let client: Client;
let proxy: Server;
let worker: RunningProcess;
let writer: WorkflowHandle<typeof serveCluster>;
let loop: WorkflowHandle<typeof capacity>;
/** Called with each PUT's body as it reaches the proxy (before it is passed on). */
let onPut: (body: string) => void = () => {};

/** The dashboard behind a proxy that holds each PUT for 5 s: a change is caught mid-way. */
function startDashboardProxy(upstream: string): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const isPut = req.method === 'PUT';
      if (isPut) onPut(body.toString());
      setTimeout(
        () => {
          // undici's request, not fetch: fetch sends Sec-Fetch-* headers, and Ray's dashboard
          // refuses a PUT that looks like a browser's.
          void request(`${upstream}${req.url ?? '/'}`, {
            method: req.method === 'PUT' ? 'PUT' : 'GET',
            headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
            ...(isPut && { body }),
          })
            .then(async (answer) => {
              res.writeHead(answer.statusCode, { 'content-type': 'application/json' });
              res.end(await answer.body.text());
            })
            .catch(() => {
              res.writeHead(502);
              res.end();
            });
        },
        isPut ? 5_000 : 0,
      );
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function startWorker(): Promise<RunningProcess> {
  return startProcess(
    'workers/serving.ts',
    envFromConfig(config, { LOG_LEVEL: 'warn', WORKER_METRICS_PORT: String(await freePort()) }),
  );
}

/** Polls until `ready` holds; fails with the last value (and the worker's output) after `ms`. */
async function eventually<T>(what: string, ms: number, probe: () => Promise<T>, ready: (v: T) => boolean) {
  const deadline = Date.now() + ms;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe().catch(() => undefined);
    if (last !== undefined && ready(last)) return last;
    await new Promise((r) => setTimeout(r, 2_000));
  }
  throw new Error(`${what}: still ${JSON.stringify(last)}\nworker output:\n${worker?.output() ?? ''}`);
}

/** LLM replicas Serve reports running. */
async function llmReplicas(): Promise<number> {
  const app = (await new ServeApi(ray.dashboardUrl).applications()).get(application);
  return app?.runningReplicas[llmDeployment] ?? 0;
}

/** Keeps `concurrency` slow chat requests in flight against the Serve application until stopped. */
function load(concurrency: number) {
  let stopped = false;
  let ok = 0;
  let failed = 0;
  const one = async () => {
    while (!stopped) {
      try {
        const res = await fetch(`${ray.serveUrl}/${application}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            model: application,
            messages: [{ role: 'user', content: 'Tell me a long story.' }],
            max_tokens: 1500,
            // vLLM's own parameter: generate all of max_tokens, so each request stays long.
            ignore_eos: true,
          }),
        });
        await res.text();
        if (res.ok) ok += 1;
        else failed += 1;
      } catch {
        failed += 1;
      }
    }
  };
  const loops = Array.from({ length: concurrency }, one);
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      return { ok, failed };
    },
  };
}

const view = (): Promise<CapacityView> => loop.query(capacityQueries.state);

let releaseCluster: (() => void) | undefined;

beforeAll(async () => {
  ({ ray, release: releaseCluster } = await takeSuiteCluster(application));
  const namespace = 'serving-capacity';
  await createNamespace(inject('temporalAddress'), namespace);
  config = testConfig({ TEMPORAL_NAMESPACE: namespace });
  pool = createPool({ url: config.DATABASE_URL, size: 2, applicationName: 'test-capacity' });
  // The platform's own client (its payload codec), as the API and the workers use it.
  client = await createTemporalClient(config, createDb(pool));
  proxy = await startDashboardProxy(ray.dashboardUrl);
  worker = await startWorker();
  writer = await client.workflow.start<typeof serveCluster>('serveCluster', {
    taskQueue: taskQueues.serving,
    workflowId: workflowIds.serveCluster(cluster),
    args: [
      {
        cluster,
        dashboardUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
        httpOptions: { host: '127.0.0.1', port: Number(new URL(ray.serveUrl).port) },
      },
    ],
  });
  await eventually(
    'the writer adopting the suite’s applications',
    120_000,
    () => writer.query(serveClusterQueries.state),
    (s) => s.applications.some((a) => a.name === application),
  );
}, 2_400_000);

afterAll(async () => {
  await loop?.terminate('test finished').catch(() => {});
  // Leave the suite's cluster as it was: one replica of the model.
  await writer
    ?.executeUpdate(serveClusterUpdates.setReplicas, {
      args: [{ application, minReplicas: 1, maxReplicas: 1 }],
    })
    .catch(() => {});
  await writer?.terminate('test finished').catch(() => {});
  if (worker) {
    worker.child.kill('SIGTERM');
    await worker.exited;
  }
  await new Promise((resolve) => proxy?.close(resolve));
  await pool?.end();
  releaseCluster?.();
}, 120_000);

describe('capacity loop on Ray Serve + vLLM', () => {
  it(
    'raises replicas under rising load, and a worker killed mid-change loses nothing',
    { timeout: 1_800_000 },
    async () => {
      expect(await llmReplicas()).toBe(1);
      loop = await client.workflow.start<typeof capacity>('capacity', {
        taskQueue: taskQueues.serving,
        workflowId: workflowIds.capacity(`tiny-chat-${process.pid}`),
        args: [
          {
            pool: {
              pool: `tiny-chat-${process.pid}`,
              cluster,
              application,
              model: application,
              metricsUrls: [ray.metricsUrl],
            },
            settings,
          },
        ],
      });
      // Idle first: the loop holds at one replica.
      await eventually('a first decision', 120_000, view, (v) => v.state.last !== null);
      expect((await view()).state).toMatchObject({ current: 1, changes: 0 });

      // The change reaching Serve is the moment to kill the worker.
      const putSeen = new Promise<void>((resolve) => {
        onPut = (body) => {
          if (body.includes('"min_replicas":2')) resolve();
        };
      });
      const traffic = load(12);
      // Stopped however the test ends: load left running would keep the next test from scaling down.
      try {
        await Promise.race([
          putSeen,
          new Promise((_, reject) =>
            setTimeout(() => reject(new Error('no change reached Serve in 5 minutes')), 300_000),
          ),
        ]);
        worker.child.kill('SIGKILL');
        await worker.exited;
        worker = await startWorker();

        // Serve runs two replicas of the model, and the loop recorded the change once. (Serve rebuilds
        // the application to change an LLM's replicas: beside a busy loop on two cores, many minutes.)
        await eventually('two replicas running', 1_200_000, llmReplicas, (n) => n === 2);
        const up = await eventually('the change recorded', 120_000, view, (v) => v.state.changes >= 1);
        expect(up.state).toMatchObject({ current: 2, changes: 1 });
        expect(up.state.decisions.filter((d) => d.outcome === 'applied')).toEqual([
          expect.objectContaining({ reason: 'scale-up', current: 1, desired: 2 }),
        ]);
        const demand = up.state.decisions[0]?.demand;
        expect(demand?.replicas).toBeGreaterThan(1);
        // The writer holds the new bounds, and so does Serve's deployed config.
        const bounds = (app: ServeApplication | null | undefined) =>
          (
            app?.args?.llm_configs as { deployment_config?: { autoscaling_config?: unknown } }[] | undefined
          )?.[0]?.deployment_config?.autoscaling_config;
        const writerState = await writer.query(serveClusterQueries.state);
        expect(bounds(writerState.applications.find((a) => a.name === application))).toMatchObject({
          min_replicas: 2,
          max_replicas: 2,
        });
        const live = await new ServeApi(ray.dashboardUrl).applications();
        expect(bounds(live.get(application)?.config)).toMatchObject({ min_replicas: 2, max_replicas: 2 });
      } finally {
        const { ok } = await traffic.stop();
        expect(ok).toBeGreaterThan(0);
      }
    },
  );

  it('lowers replicas after the cooldown once the load has gone', { timeout: 1_800_000 }, async () => {
    const raisedAt = (await view()).state.lastChangeAt!;
    await eventually('one replica again', 480_000, view, (v) => v.state.current === 1);
    const { state } = await view();
    const down = state.decisions.at(-1)!;
    expect(down).toMatchObject({ outcome: 'applied', reason: 'scale-down', current: 2, desired: 1 });
    // Not before the cooldown, and only once the down-window was quiet.
    expect(down.at - raisedAt).toBeGreaterThanOrEqual(settings.scaleDownCooldownMs);
    expect(state.changes).toBe(2);
    await eventually('Serve back at one replica', 1_200_000, llmReplicas, (n) => n === 1);
  });
});
