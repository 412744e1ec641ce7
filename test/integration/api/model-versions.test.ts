// Serving clusters, versions registered on them and rollouts through /api/admin: operators register
// a cluster and a version (its URL is the proxy plus the route prefix; it takes no traffic until a
// rollout deploys it), clashes on a cluster are 409s, a rollout starts as rollout/<model>/<version>
// once and only from a registered version, and every change is audited. (Security and validation
// of every field: security.test.ts and validation.test.ts, from the route table.)
import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIds } from '../../../temporal.config.js';
import { useTestApp } from '../../support/app.js';
import { auditRows, bearer, errorCode, signUp, useAdminPool, type TestUser } from './helpers.js';

const admin = useAdminPool();
const t = useTestApp();
let operator: TestUser;
const started: string[] = [];

beforeAll(async () => {
  operator = await signUp(t.app, 'operator');
  await admin.query(`UPDATE users SET platform_role = 'operator' WHERE id = $1`, [operator.id]);
});
afterAll(async () => {
  for (const id of started)
    await t.app.temporal.workflow
      .getHandle(id)
      .terminate('test over')
      .catch(() => undefined);
});

const unique = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;

function call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) {
  return t.app.inject({ method, url, headers: bearer(operator), ...(payload && { payload }) });
}

function expectStatus(res: LightMyRequestResponse, status: number, code?: string) {
  expect(res.statusCode, res.body).toBe(status);
  if (code) expect(errorCode(res)).toBe(code);
}

const application = (name: string) => ({
  name,
  route_prefix: `/${name}`,
  import_path: 'ray.serve.llm:build_openai_app',
  args: { llm_configs: [{ model_loading_config: { model_id: name } }] },
});

async function setUp() {
  const cluster = await call('POST', '/api/admin/serving-clusters', {
    name: unique('gpu'),
    proxyUrl: 'http://ray-serve.internal:8000/',
    dashboardUrl: 'http://ray-head.internal:8265',
  });
  expectStatus(cluster, 201);
  const model = await call('POST', '/api/admin/models', {
    name: unique('llama'),
    contextLength: 8192,
    inputPricePerMillion: 0.1,
    outputPricePerMillion: 0.2,
  });
  expectStatus(model, 201);
  return {
    cluster: cluster.json<{ id: string; name: string; proxyUrl: string }>(),
    model: model.json<{ id: string; name: string }>(),
  };
}

describe('serving clusters and versions', () => {
  it('registers a version on a cluster: its URL through the proxy, no traffic, its needs; clashes are 409s', async () => {
    const { cluster, model } = await setUp();
    expect(cluster.proxyUrl).toBe('http://ray-serve.internal:8000');
    const app = application(unique('llama-v2'));
    const res = await call('POST', `/api/admin/models/${model.id}/versions`, {
      version: 'v2',
      upstreamModel: app.name,
      cluster: cluster.name,
      application: app,
      gpuType: 'H100',
      gpuCount: 2,
      memoryMib: 81920,
      replicas: 3,
    });
    expectStatus(res, 201);
    expect(res.json()).toMatchObject({
      version: 'v2',
      stage: 'registered',
      state: 'disabled',
      weight: 0,
      urls: [`http://ray-serve.internal:8000/${app.name}`],
      cluster: cluster.name,
      application: app,
      needs: { gpuType: 'H100', gpuCount: 2, memoryMib: 81920, replicas: 3 },
      failureReason: null,
    });
    const versionId = res.json<{ id: string }>().id;

    const again = (fields: object) =>
      call('POST', `/api/admin/models/${model.id}/versions`, {
        version: unique('v'),
        upstreamModel: 'other',
        cluster: cluster.name,
        application: application(unique('other')),
        ...fields,
      });
    expectStatus(
      await again({ application: { ...application(app.name), route_prefix: '/elsewhere' } }),
      409,
      'CONFLICT',
    );
    expectStatus(
      await again({ application: { ...application(unique('x')), route_prefix: app.route_prefix } }),
      409,
    );
    expectStatus(await again({ cluster: 'no-such-cluster' }), 400, 'VALIDATION');
    expectStatus(await again({ gpuCount: 1 }), 400, 'VALIDATION');

    // Not deployed: no traffic by hand.
    const patch = await call('PATCH', `/api/admin/models/${model.id}/deployments/${versionId}`, {
      weight: 100,
      state: 'active',
    });
    expectStatus(patch, 400, 'VALIDATION');
    // Its cluster cannot go from under it.
    expectStatus(await call('DELETE', `/api/admin/serving-clusters/${cluster.id}`), 409, 'CONFLICT');

    const audit = await auditRows(admin, { actorId: operator.id, action: 'model.version.register' });
    expect(audit.at(-1)).toMatchObject({
      target_id: versionId,
      details: { cluster: cluster.name, gpuCount: 2 },
    });
  });

  it('refuses a cluster name twice and a URL that is not http(s)', async () => {
    const name = unique('gpu');
    const body = { name, proxyUrl: 'http://a:8000', dashboardUrl: 'http://a:8265' };
    expectStatus(await call('POST', '/api/admin/serving-clusters', body), 201);
    expectStatus(await call('POST', '/api/admin/serving-clusters', body), 409, 'CONFLICT');
    expectStatus(
      await call('POST', '/api/admin/serving-clusters', {
        ...body,
        name: unique('gpu'),
        proxyUrl: 'file:///etc',
      }),
      400,
      'VALIDATION',
    );
  });
});

describe('rollouts', () => {
  it('starts rollout/<model>/<version> once, only for a registered version on a cluster, with a sound plan', async () => {
    const { cluster, model } = await setUp();
    const app = application(unique('llama-v2'));
    expectStatus(
      await call('POST', `/api/admin/models/${model.id}/versions`, {
        version: 'v2',
        upstreamModel: app.name,
        cluster: cluster.name,
        application: app,
      }),
      201,
    );
    expectStatus(
      await call('POST', `/api/admin/models/${model.id}/deployments`, {
        version: 'v1',
        upstreamModel: 'llama',
        urls: ['http://vllm.internal:8000'],
        weight: 1000,
      }),
      201,
    );
    const rollouts = `/api/admin/models/${model.id}/rollouts`;

    const bad = await call('POST', rollouts, { version: 'v2', steps: [{ percent: 50 }, { percent: 20 }] });
    expectStatus(bad, 400, 'VALIDATION');
    expect(bad.json<{ error: { message: string } }>().error.message).toBe(
      'steps[1].percent must be greater than the step before (50). the last step must be 100 percent.',
    );
    expectStatus(await call('POST', rollouts, { version: 'v9' }), 404, 'NOT_FOUND');
    // v1 was added by URL: it has no Serve application to deploy.
    expectStatus(await call('POST', rollouts, { version: 'v1' }), 400, 'VALIDATION');
    expectStatus(await call('POST', `/api/admin/models/${randomUUID()}/rollouts`, { version: 'v2' }), 404);

    const ok = await call('POST', rollouts, { version: 'v2', steps: [{ percent: 10 }, { percent: 100 }] });
    expectStatus(ok, 202);
    const workflowId = workflowIds.rollout(model.name, 'v2');
    // A serving worker of another test file may pick it up and start the cluster's writer: both go.
    started.push(workflowId, workflowIds.serveCluster(cluster.name));
    expect(ok.json()).toEqual({ workflowId, model: model.name, version: 'v2' });
    expectStatus(await call('POST', rollouts, { version: 'v2' }), 409, 'CONFLICT');

    const audit = await auditRows(admin, { actorId: operator.id, action: 'model.rollout.request' });
    expect(audit.at(-1)?.details).toMatchObject({
      model: model.name,
      version: 'v2',
      workflowId,
      plan: { steps: [{ percent: 10 }, { percent: 100 }] },
    });
  });
});
