// Limits hold across API replicas: two real API processes on the same PostgreSQL and Redis, 200
// concurrent requests split between them against a limit of 50 → exactly 50 answered, 150 refused
// with OpenAI's 429 (retry-after and x-ratelimit headers). Once for a key's 50 requests a minute,
// once for an org's 50 requests in flight (the team plan).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Simulator } from '../../../simulator/simulator.js';
import { useTestApp } from '../../support/app.js';
import { envFromConfig, startProcess, waitUntil, type RunningProcess } from '../../support/child-process.js';
import { freePort } from '../../support/services.js';
import { useAdminPool } from '../api/helpers.js';
import { addModel, createKey, gatewayWorld, serverUrl, type GatewayWorld } from './world.js';

const t = useTestApp();
const admin = useAdminPool();
// Slow enough that all 200 requests are in flight together.
const simulator = new Simulator({
  models: ['upstream-chat'],
  timeToFirstTokenMs: 2_000,
  interTokenMs: 1,
  completionTokens: 2,
  errorRate: 0,
  usage: true,
  embeddingDimensions: 4,
});
let world: GatewayWorld;
let model: string;
const replicas: { url: string; process: RunningProcess }[] = [];

async function startReplica(): Promise<{ url: string; process: RunningProcess }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const process = startProcess(
    'api/server.ts',
    envFromConfig(t.config, { PORT: String(port), LOG_LEVEL: 'warn' }),
  );
  await waitUntil(
    `the API replica on port ${port}`,
    async () => {
      const res = await fetch(`${url}/v1/models`, {
        headers: { authorization: `Bearer ${world.key}` },
      }).catch(() => null);
      if (!res?.ok) return false;
      const { data } = (await res.json()) as { data: { id: string }[] };
      return data.some((m) => m.id === model);
    },
    process,
  );
  return { url, process };
}

beforeAll(async () => {
  world = await gatewayWorld(t, admin);
  model = await addModel(admin, {
    deployments: [{ urls: [serverUrl(await simulator.listen())], upstreamModel: 'upstream-chat' }],
  });
  replicas.push(await startReplica(), await startReplica());
}, 120_000);
afterAll(() => simulator.close());

/** Sends `count` concurrent requests, alternating between the replicas; answers the responses, read. */
async function burst(
  key: string,
  count: number,
): Promise<{ status: number; headers: Headers; body: string }[]> {
  const call = async (url: string) => {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }),
    });
    return { status: res.status, headers: res.headers, body: await res.text() };
  };
  return Promise.all(Array.from({ length: count }, (_, i) => call(replicas[i % 2]!.url)));
}

async function setPlan(plan: string): Promise<void> {
  await admin.query(`UPDATE organizations SET plan = $2 WHERE id = $1`, [world.orgId, plan]);
}

describe('limits across two API processes', () => {
  it(
    'admits 50 of 200 concurrent requests against a key limit of 50 a minute (plus what refills meanwhile)',
    { timeout: 60_000 },
    async () => {
      // Far-away org limits: the key's own limit is the one tested.
      await setPlan('enterprise');
      const key = await createKey(t, world.owner, world.orgId, { requestsPerMinute: 50 });
      // Warm both processes up (first requests compile code paths), so the burst arrives at once.
      await burst(await createKey(t, world.owner, world.orgId), 20);

      const started = performance.now();
      const answers = await burst(key, 200);
      const seconds = (performance.now() - started) / 1000;
      const admitted = answers.filter((r) => r.status === 200).length;
      // The bucket refills continuously (50 a minute: one every 1.2 s): a burst that took longer
      // than 1.2 s to arrive may meet a refilled request or two, never more.
      expect(admitted).toBeGreaterThanOrEqual(50);
      expect(admitted).toBeLessThanOrEqual(50 + Math.floor((seconds * 50) / 60));
      expect(answers.filter((r) => r.status === 429)).toHaveLength(200 - admitted);
      const refused = answers.find((r) => r.status === 429)!;
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(refused.headers.get('x-ratelimit-limit-requests')).toBe('50');
      expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');
      expect(JSON.parse(refused.body)).toMatchObject({
        error: { code: 'rate_limit_exceeded', type: 'requests' },
      });
    },
  );

  it(
    'admits exactly 50 of 200 concurrent requests against 50 in flight for the org',
    { timeout: 60_000 },
    async () => {
      await setPlan('team');
      const answers = await burst(await createKey(t, world.owner, world.orgId), 200);
      const statuses = answers.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(50);
      expect(statuses.filter((s) => s === 429)).toHaveLength(150);
      const refused = answers.find((r) => r.status === 429)!;
      expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'concurrency_limit_exceeded' } });
    },
  );
});
