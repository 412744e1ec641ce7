// The cluster's writer (`serve-cluster/<cluster>`) against a real Ray cluster of its own (cheap echo
// applications, no model): it adopts what runs, applies changes one at a time, refuses bad ones
// without touching the cluster, puts back what another writer dropped, and adopts what another
// writer added instead of dropping it. RECORD_HISTORIES=1 re-records the replay fixture
// (test/fixtures/histories/serve-cluster.json).
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection, WorkflowUpdateFailedError } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createServeActivities } from '../../activities/ray/index.js';
import { temporalWorkerTracing } from '../../runtime/temporal-tracing.js';
import { ServeApi } from '../../activities/ray/serve-api.js';
import type { ServeApplication } from '../../core/serving.js';
import { workflowIds } from '../../temporal.config.js';
import {
  serveClusterQueries,
  serveClusterUpdates,
  type ServeClusterState,
} from '../../workflows/definitions.js';
import { serveCluster } from '../../workflows/index.js';
import { bundleWorkflows } from '../../workers/bootstrap.js';
import { repoRoot } from '../support/services.js';
import { saveHistory } from '../workflows/histories.js';
import { servingInstalled, startRayCluster, untilRunning, type RayCluster } from '../support/ray-serve.js';

const taskQueue = `serve-cluster-${randomUUID().slice(0, 8)}`;
const apps = join(repoRoot, 'test/serving/apps');

function echo(name: string, text = name): ServeApplication {
  return {
    name,
    route_prefix: `/${name}`,
    import_path: 'echo:app',
    runtime_env: { env_vars: { PYTHONPATH: apps } },
    args: { text },
  };
}

let ray: RayCluster;
let serve: ServeApi;
let client: Client;
let connection: Connection;
let worker: Worker;
let running: Promise<void>;

beforeAll(async () => {
  if (!servingInstalled())
    throw new Error('the serving stack is not installed: run scripts/serving/install.sh');
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const logs = join(repoRoot, '.data/test/serve-cluster');
  mkdirSync(logs, { recursive: true });
  // A cluster of its own (no model, so no machine lock): its applications are the test's alone.
  ray = await startRayCluster({ logFile: join(logs, `ray-${process.pid}.log`) });
  serve = new ServeApi(ray.dashboardUrl);
  const address = inject('temporalAddress');
  connection = await Connection.connect({ address });
  client = new Client({ connection });
  worker = await Worker.create({
    connection: await NativeConnection.connect({ address }),
    taskQueue,
    workflowBundle: await bundleWorkflows(),
    activities: createServeActivities(),
    ...temporalWorkerTracing(),
  });
  running = worker.run();
}, 240_000);

afterAll(async () => {
  worker?.shutdown();
  await running;
  await connection?.close();
  await ray?.stop();
});

const http = () => ({ host: '127.0.0.1', port: Number(new URL(ray.serveUrl).port) });

async function answer(name: string): Promise<string> {
  const res = await fetch(`${ray.serveUrl}/${name}`);
  return res.ok ? res.text() : `HTTP ${res.status}`;
}

/** Polls until `ready` holds (deploys take seconds, more on a busy machine). */
async function eventually<T>(
  probe: () => Promise<T>,
  ready: (value: T) => boolean,
  what: string,
): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < 240; i++) {
    last = await probe().catch(() => undefined as T);
    if (last !== undefined && ready(last)) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what}: still ${JSON.stringify(last)}`);
}

/** A PUT behind the writer's back; Serve answers 500 while its controller starts, so it is retried. */
async function putAsAnotherWriter(applications: ServeApplication[]): Promise<void> {
  await eventually(
    () => serve.apply({ http_options: http(), applications }).then(() => true),
    (done) => done,
    'the PUT',
  );
}

describe('serve-cluster writer (real Ray Serve)', () => {
  it('adopts, applies, refuses, reconciles drift and never drops what it did not mean to', async () => {
    // Something already runs on the cluster before the writer exists: it must survive the first PUT.
    await putAsAnotherWriter([echo('before')]);
    await untilRunning(ray.dashboardUrl, ['before'], 180_000);

    const cluster = `test-${randomUUID().slice(0, 8)}`;
    const handle = await client.workflow.start(serveCluster, {
      taskQueue,
      workflowId: workflowIds.serveCluster(cluster),
      args: [{ cluster, dashboardUrl: ray.dashboardUrl, httpOptions: http(), reconcileEverySeconds: 1 }],
    });
    const state = () => handle.query(serveClusterQueries.state);
    await eventually(state, (s) => s.adopted.includes('before'), 'adopting the running application');

    // A new application, through the writer: both run.
    const added = await handle.executeUpdate(serveClusterUpdates.putApplication, { args: [echo('added')] });
    expect(added.applications.map((a) => a.name).sort()).toEqual(['added', 'before']);
    await untilRunning(ray.dashboardUrl, ['before', 'added'], 180_000);
    expect(await answer('added')).toBe('added');
    expect(await answer('before')).toBe('before');

    // Refused before anything is sent: a clashing route prefix, replicas that make no sense.
    const applied = (await state()).applied;
    await expect(
      handle.executeUpdate(serveClusterUpdates.putApplication, {
        args: [{ ...echo('clash'), route_prefix: '/added' }],
      }),
    ).rejects.toThrow(WorkflowUpdateFailedError);
    await expect(
      handle.executeUpdate(serveClusterUpdates.setReplicas, {
        args: [{ application: 'added', minReplicas: 3, maxReplicas: 1 }],
      }),
    ).rejects.toThrow(WorkflowUpdateFailedError);
    expect((await state()).applied).toBe(applied);

    // Replicas: the bounds reach Serve's deployed config.
    await handle.executeUpdate(serveClusterUpdates.setReplicas, {
      args: [{ application: 'added', minReplicas: 1, maxReplicas: 2 }],
    });
    const live = await serve.applications();
    expect(live.get('added')?.config?.deployments?.[0]).toMatchObject({
      autoscaling_config: { min_replicas: 1, max_replicas: 2 },
    });

    // Another writer PUTs a config without 'added' (and with a stranger): the writer puts 'added'
    // back and adopts the stranger instead of dropping it.
    const others = [...live.values()]
      .filter((app) => app.name !== 'added' && app.config)
      .map((app) => app.config!);
    await putAsAnotherWriter([...others, echo('stranger')]);
    await eventually(
      state,
      (s: ServeClusterState) => s.adopted.includes('stranger'),
      'adopting the stranger',
    );
    await untilRunning(ray.dashboardUrl, ['before', 'added', 'stranger'], 180_000);
    expect(
      await eventually(
        () => answer('added'),
        (text) => text === 'added',
        'added back',
      ),
    ).toBe('added');

    // Removing through the writer: gone from the cluster, and not adopted back while Serve deletes it.
    await handle.executeUpdate(serveClusterUpdates.removeApplication, {
      args: [{ application: 'stranger' }],
    });
    await eventually(
      () => serve.applications(),
      (now) => !now.has('stranger'),
      'stranger deleted',
    );
    await new Promise((r) => setTimeout(r, 3000)); // a few reconcile rounds
    expect((await state()).applications.map((a) => a.name).sort()).toEqual(['added', 'before']);
    expect((await serve.applications()).has('stranger')).toBe(false);
    if (process.env.RECORD_HISTORIES === '1') saveHistory('serve-cluster', await handle.fetchHistory());
    await handle.terminate('test finished');
  }, 600_000);
});
