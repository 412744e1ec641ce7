// Rollouts on the real stack: the API starts them, the serving worker (a child process, as in
// production) runs them, the cluster's writer deploys to the suite's Ray Serve, and the gateway
// serves tenants' traffic through vLLM the whole time. v1 is tiny-chat-v1 (deployed by the global
// setup, registered here by URL); a broken version that answers /v1/models but fails every request
// is rolled back by its gates with v1 serving everything; then v2 (tiny-chat-v2, its own Serve
// application) rolls out step by step to 100 % with no failed request, the worker SIGKILLed
// mid-rollout and started again, and v1 is drained and retired.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServeApi } from '../../activities/ray/serve-api.js';
import { loadServeConfig } from '../../activities/ray/serve-config.js';
import type { ServeApplication } from '../../core/serving.js';
import { workflowIds } from '../../temporal.config.js';
import { serveClusterUpdates, type RolloutProgress } from '../../workflows/definitions.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { envFromConfig, startProcess, type RunningProcess } from '../support/child-process.js';
import { cpuProfile } from '../support/ray-serve.js';
import { freePort, repoRoot } from '../support/services.js';
import { bearer, signUp, useAdminPool, type TestUser } from '../integration/api/helpers.js';
import {
  closeClients,
  gatewayWorld,
  untilRegistered,
  type GatewayWorld,
} from '../integration/gateway/world.js';
import { takeSuiteCluster, type SuiteCluster } from './ray.js';

const admin = useAdminPool();
const suffix = randomUUID().slice(0, 6);
const clusterName = `rollout-${suffix}`;
const modelName = `tiny-chat-${suffix}`;

let ray: SuiteCluster;
let t: TestApp;
let world: GatewayWorld;
let operator: TestUser;
let worker: RunningProcess;
let workerEnv: NodeJS.ProcessEnv;
let modelId: string;
let v1Id: string;

function api(method: 'GET' | 'POST', url: string, payload?: object): Promise<LightMyRequestResponse> {
  return t.app.inject({ method, url, headers: bearer(operator), ...(payload && { payload }) });
}

async function created<T>(res: Promise<LightMyRequestResponse>, status = 201): Promise<T> {
  const answer = await res;
  expect(answer.statusCode, answer.body).toBe(status);
  return answer.json<T>();
}

/** What a stretch of traffic got: how many answers of each status, and the first few failures. */
interface TrafficReport {
  statuses: Record<number, number>;
  failures: string[];
}

/** Tenants' steady traffic through the gateway: streamed chat completions, two at a time. */
class Traffic {
  private report: TrafficReport = { statuses: {}, failures: [] };
  private running = false;
  private loops: Promise<void>[] = [];

  start(concurrency = 2): void {
    this.running = true;
    this.loops = Array.from({ length: concurrency }, () => this.loop());
  }

  async stop(): Promise<TrafficReport> {
    this.running = false;
    await Promise.all(this.loops);
    const report = this.report;
    this.report = { statuses: {}, failures: [] };
    return report;
  }

  private async loop(): Promise<void> {
    while (this.running) record(this.report, await chat());
  }
}

function record(report: TrafficReport, answer: ChatAnswer): void {
  report.statuses[answer.status] = (report.statuses[answer.status] ?? 0) + 1;
  // A few are enough to say why; a failing upstream answers hundreds in seconds.
  if (answer.status !== 200 && report.failures.length < 5)
    report.failures.push(`${new Date().toISOString()} ${answer.status} ${answer.body.slice(0, 300)}`);
}

interface ChatAnswer {
  /** The HTTP status, or 0 when the stream broke off or carried an error. */
  status: number;
  body: string;
}

/** One streamed chat completion. */
async function chat(): Promise<ChatAnswer> {
  try {
    const res = await fetch(`${world.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${world.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: modelName,
        messages: [{ role: 'user', content: 'hello there' }],
        max_tokens: 6,
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    const body = await res.text();
    if (res.status === 200 && (!body.includes('data: [DONE]') || body.includes('"error"')))
      return { status: 0, body };
    return { status: res.status, body };
  } catch (err) {
    return { status: 0, body: String(err) };
  }
}

async function progress(version: string): Promise<RolloutProgress | null> {
  const res = await api('GET', `/api/admin/models/${modelId}/rollouts/${version}`);
  // While the worker is down a query has no one to answer it.
  return res.statusCode === 200 ? res.json<RolloutProgress>() : null;
}

async function progressUntil(
  version: string,
  holds: (p: RolloutProgress) => boolean,
  timeoutMs: number,
): Promise<RolloutProgress> {
  const deadline = Date.now() + timeoutMs;
  let last: RolloutProgress | null = null;
  while (Date.now() < deadline) {
    last = (await progress(version)) ?? last;
    if (last && holds(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  throw new Error(`rollout of ${version} stuck: ${JSON.stringify(last, null, 2)}`);
}

/** How many requests the gateway recorded for each of the model's deployments since `since`. */
async function servedBy(since: Date): Promise<Map<string, number>> {
  const { rows } = await admin.query<{ deployment_id: string; n: number }>(
    `SELECT deployment_id, count(*)::int AS n FROM usage_events WHERE org_id = $1 AND occurred_at >= $2
     GROUP BY deployment_id`,
    [world.orgId, since],
  );
  return new Map(rows.map((r) => [r.deployment_id, r.n]));
}

async function version(id: string) {
  const { rows } = await admin.query<{
    stage: string;
    state: string;
    weight: number;
    failure_reason: string | null;
  }>('SELECT stage, state, weight, failure_reason FROM model_deployments WHERE id = $1', [id]);
  return rows[0];
}

const startWorker = () => startProcess('workers/serving.ts', workerEnv);

let releaseCluster: (() => void) | undefined;

beforeAll(async () => {
  // A writer of its own on the suite's cluster, versions in and out: one such test at a time.
  ({ ray, release: releaseCluster } = await takeSuiteCluster('tiny-chat-v1'));
  // Without Redis the gateway writes its usage events to the ledger itself (within 200 ms), where
  // the rollout's gates read them.
  t = await buildTestApp({ REDIS_URL: '' });
  world = await gatewayWorld(t, admin);
  await admin.query(`UPDATE organizations SET plan = 'enterprise' WHERE id = $1`, [world.orgId]);
  operator = await signUp(t.app, 'operator');
  await admin.query(`UPDATE users SET platform_role = 'operator' WHERE id = $1`, [operator.id]);
  workerEnv = envFromConfig(t.config, { LOG_LEVEL: 'warn', WORKER_METRICS_PORT: String(await freePort()) });
  worker = startWorker();

  await created(
    api('POST', '/api/admin/serving-clusters', {
      name: clusterName,
      proxyUrl: ray.serveUrl,
      dashboardUrl: ray.dashboardUrl,
    }),
  );
  ({ id: modelId } = await created<{ id: string }>(
    api('POST', '/api/admin/models', {
      name: modelName,
      contextLength: 2048,
      inputPricePerMillion: 0.1,
      outputPricePerMillion: 0.2,
    }),
  ));
  // v1: the application the global setup deployed, registered by URL (other test files use it, so
  // this test's rollouts must not unload it: a deployment without a cluster is retired, not unloaded).
  ({ id: v1Id } = await created<{ id: string }>(
    api('POST', `/api/admin/models/${modelId}/deployments`, {
      version: 'v1',
      upstreamModel: 'tiny-chat-v1',
      urls: [`${ray.serveUrl}/tiny-chat-v1`],
      weight: 1000,
    }),
  ));
  await untilRegistered(t, modelName);
}, 2_400_000);

afterAll(async () => {
  // The writer this test started on the suite's cluster: take v2 off it and stop it.
  if (t) {
    const writer = t.app.temporal.workflow.getHandle(workflowIds.serveCluster(clusterName));
    await writer
      .executeUpdate(serveClusterUpdates.removeApplication, {
        args: [{ application: `tiny-chat-v2-${suffix}` }],
      })
      .catch(() => undefined);
    await writer.terminate('the rollout test is over').catch(() => undefined);
  }
  worker?.child.kill('SIGTERM');
  await worker?.exited;
  await closeClients();
  await t?.close();
  releaseCluster?.();
}, 120_000);

const canaryOptions = {
  gates: { minRequests: 3, maxErrorRatioIncrease: 0.02, maxTtftP95Ratio: 5, ttftP95SlackMs: 2000 },
  checkIntervalSeconds: 3,
  readyTimeoutSeconds: 900,
  drainQuietSeconds: 5,
  drainTimeoutSeconds: 60,
};

describe('rollout on Ray Serve + vLLM through the gateway', () => {
  it(
    'rolls back a version that answers errors: its gates fail and v1 serves everything again',
    { timeout: 600_000 },
    async () => {
      const broken: ServeApplication = {
        name: `broken-${suffix}`,
        route_prefix: `/broken-${suffix}`,
        import_path: 'broken_llm:app',
        runtime_env: { env_vars: { PYTHONPATH: join(repoRoot, 'test/serving/apps') } },
        args: { model_id: 'tiny-chat-broken' },
      };
      const { id: brokenId } = await created<{ id: string }>(
        api('POST', `/api/admin/models/${modelId}/versions`, {
          version: 'broken',
          upstreamModel: 'tiny-chat-broken',
          cluster: clusterName,
          application: broken,
        }),
      );
      const traffic = new Traffic();
      traffic.start();
      try {
        await created(
          api('POST', `/api/admin/models/${modelId}/rollouts`, {
            version: 'broken',
            steps: [
              { percent: 20, holdSeconds: 20 },
              { percent: 100, holdSeconds: 20 },
            ],
            ...canaryOptions,
          }),
          202,
        );
        const done = await progressUntil('broken', (p) => p.phase === 'rolled-back', 480_000);
        // The gateway retries the broken version's 500s on v1, so it shows as requests it did not answer.
        expect(done.reason).toMatch(/^step 1 \(20 %\): (answered 0 of \d+ requests|error ratio)/);
        expect(done.events.map((e) => e.what)).toContain('running and answering');
      } finally {
        await traffic.stop();
      }

      expect(await version(v1Id)).toMatchObject({ stage: 'serving', state: 'active', weight: 1000 });
      expect(await version(brokenId)).toMatchObject({ stage: 'failed', state: 'disabled', weight: 0 });
      // Its application is gone from the cluster (Serve deletes it in the background).
      const serve = new ServeApi(ray.dashboardUrl);
      for (let i = 0; (await serve.applications()).has(broken.name); i++) {
        if (i > 120) throw new Error(`${broken.name} was never removed`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }

      // v1 serves everything: every request answers, and every one was v1's.
      const since = new Date();
      const report: TrafficReport = { statuses: {}, failures: [] };
      for (const answer of await Promise.all(Array.from({ length: 8 }, () => chat()))) record(report, answer);
      expect(report).toEqual({ statuses: { 200: 8 }, failures: [] });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect([...(await servedBy(since)).entries()]).toEqual([[v1Id, 8]]);
    },
  );

  it(
    'rolls v2 out step by step to 100 % with no failed request, survives a killed worker, and retires v1',
    { timeout: 1_800_000 },
    async () => {
      const v1App = loadServeConfig(cpuProfile, { modelsDir: ray.modelsDir }).applications.find(
        (a) => a.name === 'tiny-chat-v1',
      )!;
      const llm = (v1App.args?.llm_configs as Record<string, unknown>[])[0]!;
      const v2App: ServeApplication = {
        ...v1App,
        name: `tiny-chat-v2-${suffix}`,
        route_prefix: `/tiny-chat-v2-${suffix}`,
        args: {
          ...v1App.args,
          // The suite's cluster counts 8 CPUs, which v1 and minilm nearly fill (ingress, server and
          // engine each ask for one): v2's ingress asks for none, so it fits beside them.
          ingress_deployment_config: { ray_actor_options: { num_cpus: 0 } },
          llm_configs: [
            {
              ...llm,
              model_loading_config: {
                model_id: 'tiny-chat-v2',
                model_source: `${ray.modelsDir}/tiny-chat-v2`,
              },
            },
          ],
        },
      };
      const { id: v2Id } = await created<{ id: string }>(
        api('POST', `/api/admin/models/${modelId}/versions`, {
          version: 'v2',
          upstreamModel: 'tiny-chat-v2',
          cluster: clusterName,
          application: v2App,
          replicas: 1,
        }),
      );
      const since = new Date();
      const traffic = new Traffic();
      traffic.start();
      let report: TrafficReport;
      try {
        await created(
          api('POST', `/api/admin/models/${modelId}/rollouts`, {
            version: 'v2',
            steps: [10, 50, 100].map((percent) => ({ percent, holdSeconds: 15 })),
            ...canaryOptions,
          }),
          202,
        );
        // Killed while v2 takes a share of the traffic, and started again: the rollout goes on.
        await progressUntil('v2', (p) => p.phase === 'canary' && p.step >= 0, 900_000);
        worker.child.kill('SIGKILL');
        await worker.exited;
        await new Promise((resolve) => setTimeout(resolve, 2000));
        worker = startWorker();

        const done = await progressUntil('v2', (p) => p.phase === 'succeeded', 600_000);
        expect(done.events.map((e) => e.what)).toEqual(
          expect.arrayContaining([
            'step 1: 10 % of the traffic',
            'step 2: 50 % of the traffic',
            'step 3: 100 % of the traffic',
            'succeeded',
          ]),
        );
      } finally {
        report = await traffic.stop();
      }

      expect(report.statuses[200]).toBeGreaterThan(20);
      expect(report).toEqual({ statuses: { 200: report.statuses[200] }, failures: [] });
      const served = await servedBy(since);
      expect(served.get(v1Id)).toBeGreaterThan(0);
      expect(served.get(v2Id)).toBeGreaterThan(0);
      expect(await version(v2Id)).toMatchObject({ stage: 'serving', state: 'active', weight: 1000 });
      expect(await version(v1Id)).toMatchObject({ stage: 'retired', state: 'disabled', weight: 0 });
      const { rows } = await admin.query<{ percent: number }>(
        `SELECT (details ->> 'percent')::int AS percent FROM audit_log
         WHERE action = 'model.rollout.step' AND target_id = $1 ORDER BY id`,
        [v2Id],
      );
      expect(rows.map((r) => r.percent)).toEqual([10, 50, 100]);
    },
  );
});
