// The cluster's writer when a change arrives while it is still adopting what the cluster runs (a
// rollout asks a brand-new writer for its canary at once): the change is worked out from the adopted
// applications, so its PUT keeps them. Before, such a PUT held only the new application, and Serve
// deleted every other one (the real-stack version is test/serving/rollout.test.ts). Serve's API is
// a recording stand-in here; the real one is exercised in test/serving/serve-cluster.test.ts.
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveServeApplication } from '../../activities/ray/index.js';
import type { ServeApplication, ServeConfig } from '../../core/serving.js';
import { temporalWorkerTracing } from '../../runtime/temporal-tracing.js';
import { workflowIds } from '../../temporal.config.js';
import { bundleWorkflows } from '../../workers/bootstrap.js';
import { serveClusterUpdates } from '../../workflows/definitions.js';
import { serveCluster } from '../../workflows/index.js';
import { createTimeSkippingEnv } from './time-skipping-env.js';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundle;

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  [env, bundle] = await Promise.all([createTimeSkippingEnv(), bundleWorkflows()]);
});

afterAll(async () => {
  await env?.teardown();
});

const app = (name: string): ServeApplication => ({
  name,
  route_prefix: `/${name}`,
  import_path: 'ray.serve.llm:build_openai_app',
  args: { llm_configs: [] },
});

const running = ['tiny-chat-v1', 'minilm'].map((name): LiveServeApplication => ({
  name,
  status: 'RUNNING',
  message: '',
  config: app(name),
  deployments: [],
}));

/** A cluster running two applications whose first read answers only once `release` is called. */
function slowToAdopt() {
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  let readStarted = () => {};
  const reading = new Promise<void>((resolve) => (readStarted = resolve));
  const puts: ServeConfig[] = [];
  const activities = {
    async readServeApplications(): Promise<LiveServeApplication[]> {
      readStarted();
      await released;
      return running;
    },
    async applyServeConfig({ config }: { config: ServeConfig }): Promise<void> {
      puts.push(config);
    },
  };
  return { activities, reading, release, puts };
}

/** Runs a new writer; `change` sends an update while its adoption is under way. */
async function changeWhileAdopting(
  change: (writer: ReturnType<typeof env.client.workflow.getHandle>) => Promise<unknown>,
): Promise<ServeConfig[]> {
  const taskQueue = `serve-cluster-${randomUUID().slice(0, 8)}`;
  const cluster = slowToAdopt();
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: cluster.activities,
    ...temporalWorkerTracing(),
  });
  await worker.runUntil(async () => {
    const name = `c-${randomUUID().slice(0, 8)}`;
    const writer = await env.client.workflow.start(serveCluster, {
      taskQueue,
      workflowId: workflowIds.serveCluster(name),
      args: [{ cluster: name, dashboardUrl: 'http://ray-head:8265', reconcileEverySeconds: 3600 }],
    });
    await cluster.reading;
    const changed = change(writer);
    // The update is accepted while the adoption's read has not answered yet.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    cluster.release();
    await changed;
    await writer.terminate('test finished');
  });
  return cluster.puts;
}

describe('serve-cluster writer: a change during its adoption', () => {
  it('puts a new application beside the ones it adopted, never instead of them', async () => {
    const puts = await changeWhileAdopting((writer) =>
      writer.executeUpdate(serveClusterUpdates.putApplication, { args: [app('canary')] }),
    );
    expect(puts.map((config) => config.applications.map((a) => a.name))).toEqual([
      ['tiny-chat-v1', 'minilm', 'canary'],
    ]);
  });

  it('removes an application it knew only once adopted, and keeps the others', async () => {
    const puts = await changeWhileAdopting((writer) =>
      writer.executeUpdate(serveClusterUpdates.removeApplication, { args: [{ application: 'minilm' }] }),
    );
    expect(puts.map((config) => config.applications.map((a) => a.name))).toEqual([['tiny-chat-v1']]);
  });
});
