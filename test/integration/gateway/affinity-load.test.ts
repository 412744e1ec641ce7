// Prefix affinity with a load bound, through the real /v1 pipeline: requests sharing one prompt
// prefix stay on their replica until it holds its share of what is in flight, then the next one on
// the ring takes them. The upstreams hold every request until the test opens them, so what is in
// flight is known exactly, however slow the machine.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { useTestApp } from '../../support/app.js';
import { useAdminPool } from '../api/helpers.js';
import {
  GatedUpstream,
  addModel,
  closeClients,
  gatewayWorld,
  untilRegistered,
  type GatewayWorld,
} from './world.js';

const t = useTestApp();
const admin = useAdminPool();
const upstreams = [new GatedUpstream(), new GatedUpstream()];
let world: GatewayWorld;
let model: string;

beforeAll(async () => {
  world = await gatewayWorld(t, admin);
  // The free plan allows 2 requests in flight; this test needs 3.
  await admin.query(`UPDATE organizations SET plan = 'team' WHERE id = $1`, [world.orgId]);
  const urls = await Promise.all(upstreams.map((u) => u.listen()));
  model = await addModel(admin, { deployments: [{ urls, upstreamModel: 'gated' }] });
  await untilRegistered(t, model);
});
afterAll(async () => {
  await closeClients();
  await Promise.all(upstreams.map((u) => u.close()));
});

async function chat(content: string): Promise<number> {
  const res = await fetch(`${world.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${world.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'system', content }], max_tokens: 2 }),
  });
  await res.text();
  return res.status;
}

describe('prefix affinity with bounded load', () => {
  it('sends the third concurrent request of one prefix to the other replica: 2 + 1, not 3 + 0', async () => {
    const prefix = 'You are the support assistant of a large shop. Answer briefly.';
    const answers = Promise.all([chat(prefix), chat(prefix), chat(prefix)]);
    // With 2 replicas, a replica holding ceil(1.25 × (2 + 1) / 2) = 2 is full.
    await vi.waitFor(() => expect(upstreams[0]!.held + upstreams[1]!.held).toBe(3), {
      // A hang guard: on a machine busy with Ray loading models, three requests took over 20 s to arrive.
      timeout: 60_000,
      interval: 50,
    });
    expect(upstreams.map((u) => u.held).sort()).toEqual([1, 2]);
    for (const upstream of upstreams) upstream.open();
    expect(await answers).toEqual([200, 200, 200]);
  }, 30_000);
});
