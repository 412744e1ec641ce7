// Without Redis (the embedded `up`), the gateway buffers usage events and writes them to the ledger
// off the request path; a clean shutdown writes every buffered one: after the app closes, the ledger
// holds exactly one event per answer the client received.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../support/app.js';
import { useAdminPool } from '../api/helpers.js';
import { rollupDifferences } from '../metering/support.js';
import { type GatewayWorld, quickSimulator, roomyWorld } from './world.js';

const admin = useAdminPool();
const simulator = quickSimulator();
let t: TestApp | undefined;
let world: GatewayWorld;
let model: string;

beforeAll(async () => {
  t = await buildTestApp({ REDIS_URL: '' });
  ({ world, model } = await roomyWorld(t, admin, simulator));
});
afterAll(async () => {
  await t?.close();
  await simulator.close();
});

describe('usage without Redis', () => {
  it('writes every buffered event on a clean close: one ledger row per answer', async () => {
    const requestIds = Array.from({ length: 60 }, () => `buffer-${randomUUID()}`);
    const statuses: number[] = [];
    // Four clients at a time, as a small load.
    for (let i = 0; i < requestIds.length; i += 4) {
      await Promise.all(
        requestIds.slice(i, i + 4).map(async (requestId) => {
          const res = await fetch(`${world.baseURL}/chat/completions`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${world.key}`,
              'content-type': 'application/json',
              'x-request-id': requestId,
            },
            body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }),
          });
          await res.text();
          statuses.push(res.status);
        }),
      );
    }
    await t!.close();
    t = undefined;

    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const { rows } = await admin.query<{ request_id: string; n: number }>(
      'SELECT request_id, count(*)::int AS n FROM usage_events WHERE org_id = $1 GROUP BY request_id',
      [world.orgId],
    );
    expect(rows.filter((r) => r.n !== 1)).toEqual([]);
    expect(rows.map((r) => r.request_id).sort()).toEqual([...requestIds].sort());
    expect(await rollupDifferences(admin, [world.orgId])).toBe(0);
  });
});
