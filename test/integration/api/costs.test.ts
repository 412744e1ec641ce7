// GET /api/admin/costs: an operator sees GPU-seconds and cost per pool and model over a period,
// each model's cost split over tenants by their share of its tokens, an idle model's cost as
// unattributed, and a pool without a price counted but not priced. The allocation history is made
// by the trigger from real registry changes (a deployment whose replicas change mid-period, one
// retired), then its times are pinned to exact minutes so that the sums are exact. The cost gauges
// on /metrics. Bad ranges are refused. (Who may call it: the route table's operator row.)
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { CostReport } from '../../../db/cost-analysis.js';
import { addUsage, seedBillingTenants, type BillingTenant } from '../../support/billing-fixture.js';
import { useTestApp } from '../../support/app.js';
import { bearer, errorCode, signUp, useAdminPool, type TestUser } from './helpers.js';

const suffix = randomBytes(4).toString('hex');
const pool = { h100: `h100-${suffix}`, a100: `a100-${suffix}` };
const model = { chat: `chat-${suffix}`, idle: `idle-${suffix}` };
const t = useTestApp({ GPU_COST_PER_HOUR: JSON.stringify({ [pool.h100]: 2.5 }), GPU_COST_CURRENCY: 'EUR' });
let admin: pg.Pool;
let operator: TestUser;
let orgA: BillingTenant;
let orgB: BillingTenant;

const minuteMs = 60_000;
const hourMs = 60 * minuteMs;
// Two whole hours, long enough ago that no other test's usage or deployment lands in them.
const start = new Date(Math.floor(Date.now() / hourMs) * hourMs - 50 * hourMs);
const minutes = (n: number) => new Date(start.getTime() + n * minuteMs);
const range = `from=${start.toISOString()}&to=${minutes(120).toISOString()}`;

async function addModel(name: string): Promise<string> {
  const { rows } = await admin.query<{ id: string }>(
    `INSERT INTO models (name, context_length, input_price_per_million, output_price_per_million)
     VALUES ($1, 8192, 0.1, 0.2) RETURNING id`,
    [name],
  );
  return rows[0]!.id;
}

/** A serving deployment with GPUs (as a rollout leaves it); the trigger opens its allocation. */
async function addDeployment(
  modelId: string,
  version: string,
  gpuType: string,
  gpuCount: number,
  replicas = 1,
) {
  const { rows } = await admin.query<{ id: string }>(
    `INSERT INTO model_deployments (model_id, version, upstream_model, urls, weight, gpu_type, gpu_count, replicas)
     VALUES ($1, $2, 'm', ARRAY['http://127.0.0.1:9'], 0, $3, $4, $5) RETURNING id`,
    [modelId, version, gpuType, gpuCount, replicas],
  );
  return rows[0]!.id;
}

/** Pins a deployment's allocation history, oldest first, to the given times. */
async function pinHistory(deploymentId: string, times: [Date, Date | null][]) {
  const { rows } = await admin.query<{ id: string }>(
    'SELECT id FROM gpu_allocations WHERE deployment_id = $1 ORDER BY started_at',
    [deploymentId],
  );
  expect(rows).toHaveLength(times.length);
  for (const [i, [startedAt, endedAt]] of times.entries())
    await admin.query('UPDATE gpu_allocations SET started_at = $2, ended_at = $3 WHERE id = $1', [
      rows[i]!.id,
      startedAt,
      endedAt,
    ]);
}

beforeAll(async () => {
  admin = useAdminPool();
  operator = await signUp(t.app, 'cost-operator');
  await admin.query(`UPDATE users SET platform_role = 'operator' WHERE id = $1`, [operator.id]);
  [orgA, orgB] = (await seedBillingTenants(admin, 2)) as [BillingTenant, BillingTenant];

  const chat = await addModel(model.chat);
  const idle = await addModel(model.idle);
  // 2 GPUs × 2 replicas for 30 minutes, then × 4 replicas for 15 minutes, then retired.
  const scaled = await addDeployment(chat, 'v1', pool.h100, 2, 2);
  await admin.query('UPDATE model_deployments SET replicas = 4 WHERE id = $1', [scaled]);
  await admin.query(`UPDATE model_deployments SET stage = 'retired' WHERE id = $1`, [scaled]);
  await pinHistory(scaled, [
    [minutes(0), minutes(30)],
    [minutes(30), minutes(45)],
  ]);
  // 1 GPU in the unpriced pool from an hour before the period to its middle.
  const older = await addDeployment(chat, 'v0', pool.a100, 1);
  await admin.query(`UPDATE model_deployments SET stage = 'retired' WHERE id = $1`, [older]);
  await pinHistory(older, [[minutes(-60), minutes(60)]]);
  // 1 GPU still held, from the second hour on: it counts up to the end of the period.
  const waiting = await addDeployment(idle, 'v1', pool.h100, 1);
  await pinHistory(waiting, [[minutes(60), null]]);

  await addUsage(admin, [
    { orgId: orgA.orgId, hour: minutes(0), model: model.chat, promptTokens: 2_000, completionTokens: 1_000 },
    { orgId: orgB.orgId, hour: minutes(60), model: model.chat, promptTokens: 600, completionTokens: 400 },
    // After the period: not counted.
    { orgId: orgB.orgId, hour: minutes(120), model: model.chat, promptTokens: 9_000, completionTokens: 0 },
  ]);
});

/** The idle model's one GPU, held for the period's second hour and never used. */
const idleHour = {
  model: model.idle,
  gpuSeconds: 3_600,
  unpricedGpuSeconds: 0,
  cost: 2.5,
  tokens: 0,
  unattributedCost: 2.5,
};
/** This file's models (other files' models may have GPUs or tokens too). */
const ourModels = (report: CostReport) => report.models.filter((m) => Object.values(model).includes(m.model));

async function costs(query: string) {
  const res = await t.app.inject({
    method: 'GET',
    url: `/api/admin/costs?${query}`,
    headers: bearer(operator),
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<CostReport>();
}

describe('GET /api/admin/costs', () => {
  it('prices GPU-seconds per pool and model and splits each model over tenants by tokens', async () => {
    const report = await costs(range);
    expect(report).toMatchObject({
      from: start.toISOString(),
      to: minutes(120).toISOString(),
      currency: 'EUR',
    });
    expect(report.pools.filter((p) => Object.values(pool).includes(p.pool))).toEqual([
      { pool: pool.a100, pricePerHour: null, gpuSeconds: 3_600, cost: null },
      // 4 GPUs × 1,800 s + 8 × 900 s (chat) + 1 × 3,600 s (idle) = 18,000 GPU-seconds, at 2.5 an hour.
      { pool: pool.h100, pricePerHour: 2.5, gpuSeconds: 18_000, cost: 12.5 },
    ]);
    expect(report.unpricedPools).toContain(pool.a100);
    expect(report.unpricedPools).not.toContain(pool.h100);
    expect(ourModels(report)).toEqual([
      {
        model: model.chat,
        gpuSeconds: 18_000,
        unpricedGpuSeconds: 3_600,
        cost: 10,
        tokens: 4_000,
        unattributedCost: 0,
      },
      idleHour,
    ]);
    const tenants = report.tenants.filter((x) => x.orgId === orgA.orgId || x.orgId === orgB.orgId);
    expect(tenants).toEqual([
      {
        orgId: orgA.orgId,
        name: `Tenant ${orgA.orgId}`,
        tokens: 3_000,
        cost: 7.5,
        models: [{ model: model.chat, tokens: 3_000, cost: 7.5 }],
      },
      {
        orgId: orgB.orgId,
        name: `Tenant ${orgB.orgId}`,
        tokens: 1_000,
        cost: 2.5,
        models: [{ model: model.chat, tokens: 1_000, cost: 2.5 }],
      },
    ]);
    expect(report.totals.unattributedCost).toBeGreaterThanOrEqual(2.5);
  });

  it('counts only the hours asked for', async () => {
    const report = await costs(`from=${minutes(60).toISOString()}&to=${minutes(120).toISOString()}`);
    // In the second hour the chat model held no GPU and org B's tokens are the only ones.
    expect(ourModels(report)).toEqual([
      {
        model: model.chat,
        gpuSeconds: 0,
        unpricedGpuSeconds: 0,
        cost: 0,
        tokens: 1_000,
        unattributedCost: 0,
      },
      idleHour,
    ]);
    expect(report.tenants.find((x) => x.orgId === orgA.orgId)).toBeUndefined();
    expect(report.tenants.find((x) => x.orgId === orgB.orgId)).toMatchObject({ tokens: 1_000, cost: 0 });
  });

  it('reports the GPUs held now and the pool prices on /metrics', async () => {
    await vi.waitFor(
      async () => {
        const text = (await t.app.inject('/metrics')).body;
        expect(text).toMatch(
          new RegExp(
            `^vlinders_model_gpus_allocated\\{model="${model.idle}",pool="${pool.h100}"[^}]*\\} 1$`,
            'm',
          ),
        );
      },
      { timeout: 10_000, interval: 200 },
    );
    const text = (await t.app.inject('/metrics')).body;
    // The chat model's deployments were retired: it holds nothing now.
    expect(text).not.toContain(`model="${model.chat}"`);
    expect(text).toMatch(
      new RegExp(`^vlinders_gpu_pool_cost_per_hour\\{pool="${pool.h100}",currency="EUR"[^}]*\\} 2\\.5$`, 'm'),
    );
  });

  it.each([
    ['to before from', `from=${minutes(60).toISOString()}&to=${start.toISOString()}`],
    ['more than 93 days', 'from=2026-01-01T00:00:00Z&to=2026-04-05T00:00:00Z'],
    ['no to', `from=${start.toISOString()}`],
    ['a date that is not one', `from=yesterday&to=${start.toISOString()}`],
  ])('refuses %s with 400', async (_, query) => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/admin/costs?${query}`,
      headers: bearer(operator),
    });
    expect(res.statusCode).toBe(400);
    expect(errorCode(res)).toBe('VALIDATION');
  });
});
