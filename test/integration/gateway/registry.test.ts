// The model registry: operators manage models and deployments through /api/admin/models (others
// get 403, bad input 400, duplicates 409, every change an audit row), and a change made through one
// API replica reaches another replica's in-memory registry without a restart (its next poll, once a second).
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ModelRegistry, type ModelRoute } from '../../../api/gateway/registry.js';
import { createDb, createPool } from '../../../db/client.js';
import { buildTestApp, type TestApp } from '../../support/app.js';
import {
  auditRows,
  bearer,
  errorCode,
  seedActiveOrg,
  signUp,
  useAdminPool,
  type TestUser,
} from '../api/helpers.js';

const admin = useAdminPool();
let t: TestApp;
let replica: TestApp;
let operator: TestUser;
let owner: TestUser;

beforeAll(async () => {
  [t, replica] = await Promise.all([buildTestApp(), buildTestApp()]);
  [operator, owner] = [await signUp(t.app, 'operator'), await signUp(t.app, 'owner')];
  await admin.query(`UPDATE users SET platform_role = 'operator' WHERE id = $1`, [operator.id]);
  await seedActiveOrg(admin, owner, 'Customer org');
});
afterAll(async () => {
  await Promise.all([t?.close(), replica?.close()]);
});

const uniqueName = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;

function call(
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  payload?: object,
  user: TestUser = operator,
): Promise<LightMyRequestResponse> {
  return t.app.inject({ method, url, headers: bearer(user), ...(payload && { payload }) });
}

interface ModelBody {
  id: string;
  name: string;
  fallbackModel: string | null;
  deployments: { id: string; version: string; urls: string[]; weight: number; state: string }[];
}

async function createModel(fields: Record<string, unknown> = {}): Promise<ModelBody> {
  const res = await call('POST', '/api/admin/models', {
    name: uniqueName('llama'),
    contextLength: 8192,
    inputPricePerMillion: 0.15,
    outputPricePerMillion: 0.6,
    ...fields,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<ModelBody>();
}

async function addDeployment(modelId: string, fields: Record<string, unknown> = {}) {
  const res = await call('POST', `/api/admin/models/${modelId}/deployments`, {
    version: 'v1',
    upstreamModel: 'meta-llama/Llama-3.1-8B-Instruct',
    urls: ['http://ray-a:8000'],
    weight: 100,
    ...fields,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<ModelBody['deployments'][number]>();
}

/**
 * Polls the replica's registry until `check` holds. Replicas poll once a second; the deadline is
 * generous so that a busy machine does not fail it, while a change that never arrives still does.
 */
async function seenByReplica(check: (route: ModelRoute | undefined) => boolean, name: string): Promise<void> {
  const started = Date.now();
  while (!check(replica.app.modelRegistry.model(name))) {
    expect(Date.now() - started, `replica did not see the change to ${name}`).toBeLessThan(20_000);
    await sleep(20);
  }
}

async function modelCount(): Promise<number> {
  const { rows } = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM models');
  return rows[0]?.n ?? 0;
}

describe('a registry change reaches another API replica', () => {
  it('a new model, its deployment, a weight of 0, a draining state, and the delete', async () => {
    const model = await createModel();
    await seenByReplica((m) => m !== undefined && m.deployments.length === 0, model.name);

    const deployment = await addDeployment(model.id, {
      urls: ['http://Ray-A:8000/', 'https://ray-b.example.test/app'],
    });
    expect(deployment.urls).toEqual(['http://ray-a:8000', 'https://ray-b.example.test/app']);
    await seenByReplica((m) => m?.deployments.length === 1, model.name);
    expect(replica.app.modelRegistry.model(model.name)?.deployments[0]).toEqual({
      id: deployment.id,
      version: 'v1',
      weight: 100,
      upstreamModel: 'meta-llama/Llama-3.1-8B-Instruct',
      urls: ['http://ray-a:8000', 'https://ray-b.example.test/app'],
    });

    const canary = await addDeployment(model.id, { version: 'v2', weight: 0, urls: ['http://ray-c:8000'] });
    // Once the replica has loaded a revision that includes the canary, it still routes to v1 only.
    const revision = await admin.query<{ n: number }>('SELECT revision AS n FROM model_registry_revision');
    const withCanary = Number(revision.rows[0]?.n);
    await expect
      .poll(() => replica.app.modelRegistry.revision, { timeout: 20_000 })
      .toBeGreaterThanOrEqual(withCanary);
    expect(replica.app.modelRegistry.model(model.name)?.deployments.map((d) => d.version)).toEqual(['v1']);

    const patch = (id: string, body: object) =>
      call('PATCH', `/api/admin/models/${model.id}/deployments/${id}`, body);
    expect((await patch(canary.id, { weight: 10 })).statusCode).toBe(200);
    await seenByReplica((m) => m?.deployments.map((d) => d.version).join() === 'v1,v2', model.name);

    expect((await patch(deployment.id, { state: 'draining' })).statusCode).toBe(200);
    await seenByReplica((m) => m?.deployments.map((d) => d.version).join() === 'v2', model.name);

    const disabled = await call('PATCH', `/api/admin/models/${model.id}`, { status: 'disabled' });
    expect(disabled.statusCode, disabled.body).toBe(200);
    await seenByReplica((m) => m?.status === 'disabled', model.name);

    expect((await call('DELETE', `/api/admin/models/${model.id}`)).statusCode).toBe(204);
    await seenByReplica((m) => m === undefined, model.name);
    const { rows } = await admin.query('SELECT 1 FROM model_deployments WHERE model_id = $1', [model.id]);
    expect(rows).toEqual([]);
  });
});

describe('the admin routes', () => {
  it('answer an operator with the model, its prices and its deployments', async () => {
    const fallback = await createModel();
    const model = await createModel({ fallbackModel: fallback.name, inputPricePerMillion: 1.234567 });
    await addDeployment(model.id);

    const shown = await call('GET', `/api/admin/models/${model.id}`);
    expect(shown.statusCode).toBe(200);
    expect(shown.json()).toMatchObject({
      name: model.name,
      contextLength: 8192,
      inputPricePerMillion: 1.234567,
      outputPricePerMillion: 0.6,
      status: 'active',
      fallbackModel: fallback.name,
      deployments: [{ version: 'v1', weight: 100, state: 'active', urls: ['http://ray-a:8000'] }],
    });
    const listed = await call('GET', '/api/admin/models');
    expect(listed.json<{ items: { name: string }[] }>().items.map((m) => m.name)).toEqual(
      expect.arrayContaining([model.name, fallback.name]),
    );
  });

  it.each([
    ['GET', '/api/admin/models', undefined],
    [
      'POST',
      '/api/admin/models',
      { name: 'not-mine', contextLength: 1, inputPricePerMillion: 0, outputPricePerMillion: 0 },
    ],
  ] as const)('refuse an org owner (%s %s) with 403 and change nothing', async (method, url, payload) => {
    const before = await modelCount();
    const res = await call(method, url, payload, owner);
    expect(res.statusCode).toBe(403);
    expect(errorCode(res)).toBe('FORBIDDEN');
    expect(await modelCount()).toBe(before);
  });

  it.each([
    ['a name with a space', { name: 'llama 3' }, 'name'],
    ['a name starting with a dash', { name: '-llama' }, 'name'],
    ['a context length of 0', { contextLength: 0 }, 'contextLength'],
    ['a negative price', { inputPricePerMillion: -1 }, 'inputPricePerMillion'],
    ['an unknown status', { status: 'retired' }, 'status'],
    ['a fallback that does not exist', { fallbackModel: 'no-such-model' }, 'does not exist'],
    ['an unknown field', { baseUrl: 'http://evil.example.test' }, 'must NOT have additional properties'],
  ])('refuse a model with %s (400) and change nothing', async (_what, fields, mentioned) => {
    const before = await modelCount();
    const res = await call('POST', '/api/admin/models', {
      name: uniqueName('bad'),
      contextLength: 8192,
      inputPricePerMillion: 0.15,
      outputPricePerMillion: 0.6,
      ...fields,
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(errorCode(res)).toBe('VALIDATION');
    expect(res.body).toContain(mentioned);
    expect(await modelCount()).toBe(before);
  });

  it('refuse a model as its own fallback (400)', async () => {
    const model = await createModel();
    const res = await call('PATCH', `/api/admin/models/${model.id}`, { fallbackModel: model.name });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ error: { message: string } }>().error.message).toBe(
      'A model cannot be its own fallback.',
    );
  });

  it.each([
    ['ftp://ray:8000', 'urls[0] must be http(s)://host'],
    ['http://user:secret@ray:8000', 'urls[0] must not carry credentials'],
    ['http://ray:8000/?api_base=http://evil', 'urls[0] must not have a query or fragment'],
    ['http://ray:8000/v1', 'urls[0] must be the base URL, without /v1'],
    ['not a url', 'urls[0] must be http(s)://host'],
  ])('refuse a deployment URL %s (400, %s) and change nothing', async (url, message) => {
    const model = await createModel();
    const res = await call('POST', `/api/admin/models/${model.id}/deployments`, {
      version: 'v1',
      upstreamModel: 'llama',
      urls: [url],
      weight: 100,
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json<{ error: { message: string } }>().error.message).toContain(message);
    expect((await call('GET', `/api/admin/models/${model.id}`)).json<ModelBody>().deployments).toEqual([]);
  });

  it.each([
    ['no URL', { urls: [] }],
    ['the same URL twice', { urls: ['http://ray:8000', 'http://RAY:8000/'] }],
    ['a weight above 1000', { weight: 1001 }],
    ['a negative weight', { weight: -1 }],
    ['an unknown state', { state: 'paused' }],
    ['a version with a slash', { version: 'v1/2' }],
  ])('refuse a deployment with %s (400)', async (_what, fields) => {
    const model = await createModel();
    const res = await call('POST', `/api/admin/models/${model.id}/deployments`, {
      version: 'v1',
      upstreamModel: 'llama',
      urls: ['http://ray:8000'],
      weight: 100,
      ...fields,
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(errorCode(res)).toBe('VALIDATION');
  });

  it('answer 409 to a duplicate model name and a duplicate version, and to deleting a fallback in use', async () => {
    const model = await createModel();
    const again = await call('POST', '/api/admin/models', {
      name: model.name,
      contextLength: 1,
      inputPricePerMillion: 0,
      outputPricePerMillion: 0,
    });
    expect(again.statusCode).toBe(409);
    expect(errorCode(again)).toBe('CONFLICT');

    await addDeployment(model.id);
    const twice = await call('POST', `/api/admin/models/${model.id}/deployments`, {
      version: 'v1',
      upstreamModel: 'other',
      urls: ['http://ray-z:8000'],
      weight: 1,
    });
    expect(twice.statusCode).toBe(409);

    const dependant = await createModel({ fallbackModel: model.name });
    const removed = await call('DELETE', `/api/admin/models/${model.id}`);
    expect(removed.statusCode).toBe(409);
    expect(removed.json<{ error: { message: string } }>().error.message).toContain(dependant.name);
    expect((await call('GET', `/api/admin/models/${model.id}`)).statusCode).toBe(200);
  });

  it("answer 404 for a missing model, and for a deployment under another model's id", async () => {
    const missing = await call('GET', `/api/admin/models/${randomUUID()}`);
    expect(missing.statusCode).toBe(404);
    const [a, b] = [await createModel(), await createModel()];
    const deployment = await addDeployment(a.id);
    const res = await call('PATCH', `/api/admin/models/${b.id}/deployments/${deployment.id}`, { weight: 1 });
    expect(res.statusCode).toBe(404);
    expect((await call('DELETE', `/api/admin/models/${b.id}/deployments/${deployment.id}`)).statusCode).toBe(
      404,
    );
  });

  it('audit every change as a platform row by the operator', async () => {
    const model = await createModel();
    const deployment = await addDeployment(model.id);
    await call('PATCH', `/api/admin/models/${model.id}/deployments/${deployment.id}`, { weight: 5 });
    await call('PATCH', `/api/admin/models/${model.id}`, { contextLength: 4096 });
    await call('DELETE', `/api/admin/models/${model.id}/deployments/${deployment.id}`);
    await call('DELETE', `/api/admin/models/${model.id}`);

    const rows = (await auditRows(admin, { actorId: operator.id })).filter(
      (r) => r.target_id === model.id || r.target_id === deployment.id,
    );
    expect(rows.map((r) => [r.action, r.org_id, r.target_type])).toEqual([
      ['model.create', null, 'model'],
      ['model.deployment.create', null, 'model_deployment'],
      ['model.deployment.update', null, 'model_deployment'],
      ['model.update', null, 'model'],
      ['model.deployment.delete', null, 'model_deployment'],
      ['model.delete', null, 'model'],
    ]);
    expect(rows[2]?.details).toEqual({ model: model.name, version: 'v1', changes: { weight: 5 } });
  });
});

describe('ModelRegistry', () => {
  it('keeps serving its last snapshot when polling fails, logs it once, and stops polling on close', async () => {
    const model = await createModel();
    const pool = createPool({ url: inject('databaseUrl'), size: 1, applicationName: 'registry-test' });
    const warnings: string[] = [];
    const logger = { warn: (_o: unknown, msg: string) => warnings.push(msg), info: () => {} };
    const registry = new ModelRegistry({
      db: createDb(pool),
      logger: logger as unknown as FastifyBaseLogger,
      pollIntervalMs: 20,
    });
    await registry.start();
    expect(registry.model(model.name)?.contextLength).toBe(8192);

    await pool.end();
    await expect.poll(() => warnings.length, { timeout: 10_000 }).toBeGreaterThan(0);
    // Ten more polls' time on an idle machine: still the one line, and still the snapshot.
    await sleep(200);
    expect(registry.model(model.name)?.contextLength).toBe(8192);
    expect(warnings).toEqual(['model registry: poll failed, keeping the last snapshot']);
    await registry.close();
  });

  it('keeps the objects of unchanged models, and of unchanged URL lists, across reloads (routing caches stay warm)', async () => {
    const [a, b] = [await createModel(), await createModel()];
    const deployment = await addDeployment(b.id);
    await seenByReplica((m) => m?.deployments.length === 1, b.name);
    const before = replica.app.modelRegistry.model(a.name);
    const urlsBefore = replica.app.modelRegistry.model(b.name)?.deployments[0]?.urls;

    await call('PATCH', `/api/admin/models/${b.id}/deployments/${deployment.id}`, { weight: 7 });
    await seenByReplica((m) => m?.deployments[0]?.weight === 7, b.name);
    expect(replica.app.modelRegistry.model(a.name)).toBe(before);
    expect(replica.app.modelRegistry.model(b.name)?.deployments[0]?.urls).toBe(urlsBefore);

    await call('PATCH', `/api/admin/models/${b.id}/deployments/${deployment.id}`, {
      urls: ['http://ray-new:8000'],
    });
    await seenByReplica((m) => m?.deployments[0]?.urls[0] === 'http://ray-new:8000', b.name);
  });
});
