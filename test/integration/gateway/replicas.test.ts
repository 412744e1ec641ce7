// Limits hold across API replicas: two real API processes on the same PostgreSQL and Redis, 200
// concurrent requests with an API key allowed 50 requests a minute → exactly 50 answered, 150
// refused with OpenAI's 429 (retry-after and x-ratelimit headers), whichever replica took them.
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
  timeToFirstTokenMs: 300,
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

describe('limits across two API processes', () => {
  it(
    'admits exactly 50 of 200 concurrent requests against a limit of 50 a minute',
    { timeout: 60_000 },
    async () => {
      const key = await createKey(t, world.owner, world.orgId, { requestsPerMinute: 50 });
      const call = (url: string) =>
        fetch(`${url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }),
        });
      const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => call(replicas[i % 2]!.url)));
      const statuses = answers.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(50);
      expect(statuses.filter((s) => s === 429)).toHaveLength(150);

      const refused = answers.find((r) => r.status === 429)!;
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(refused.headers.get('x-ratelimit-limit-requests')).toBe('50');
      expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');
      expect(await refused.json()).toMatchObject({
        error: { code: 'rate_limit_exceeded', type: 'requests' },
      });
      await Promise.all(answers.map((r) => r.text()));
    },
  );
});
