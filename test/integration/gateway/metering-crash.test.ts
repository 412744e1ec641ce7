// Every token once, end to end: under load, an API process and the usage ingester are both killed
// with SIGKILL and restarted. Afterwards the ledger holds exactly one event for each answer the load
// client received (found by the x-request-id the client sent), none twice; the only other events are
// for requests whose client saw the connection die (recorded before the kill took the answer), and
// the hourly rollups equal the ledger's sums.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Simulator } from '../../../simulator/simulator.js';
import { useTestApp } from '../../support/app.js';
import { envFromConfig, startProcess, waitUntil, type RunningProcess } from '../../support/child-process.js';
import { freePort } from '../../support/services.js';
import { useAdminPool } from '../api/helpers.js';
import { addModel, gatewayWorld, serverUrl, type GatewayWorld } from './world.js';

const t = useTestApp();
const admin = useAdminPool();
const simulator = new Simulator({
  models: ['upstream-chat'],
  timeToFirstTokenMs: 5,
  interTokenMs: 1,
  completionTokens: 8,
  errorRate: 0,
  usage: true,
  embeddingDimensions: 4,
});
let world: GatewayWorld;
let model: string;
let env: NodeJS.ProcessEnv;
let apiUrl: string;

beforeAll(async () => {
  world = await gatewayWorld(t, admin);
  await admin.query(`UPDATE organizations SET plan = 'enterprise' WHERE id = $1`, [world.orgId]);
  model = await addModel(admin, {
    deployments: [{ urls: [serverUrl(await simulator.listen())], upstreamModel: 'upstream-chat' }],
  });
  const port = await freePort();
  apiUrl = `http://127.0.0.1:${port}`;
  env = envFromConfig(t.config, {
    PORT: String(port),
    LOG_LEVEL: 'warn',
    // A stream of this test's own; a killed consumer's entries are taken over after 1 s.
    USAGE_STREAM: `vlinders:usage:crash-${randomUUID().slice(0, 8)}`,
    USAGE_INGEST_CLAIM_IDLE_MS: '1000',
    USAGE_INGEST_BATCH_SIZE: '50',
  });
});
afterAll(() => simulator.close());

async function startApi(): Promise<RunningProcess> {
  const api = startProcess('api/server.ts', env);
  await waitUntil(
    'the API to serve the model',
    async () => {
      const res = await fetch(`${apiUrl}/v1/models`, {
        headers: { authorization: `Bearer ${world.key}` },
      }).catch(() => null);
      return (
        res?.ok === true &&
        ((await res.json()) as { data: { id: string }[] }).data.some((m) => m.id === model)
      );
    },
    api,
  );
  return api;
}

/** Load from several concurrent clients until stopped: which request ids got an answer, which did not. */
function load(clients: number) {
  const received: string[] = [];
  const failed: string[] = [];
  let running = true;
  const loop = async () => {
    while (running) {
      const requestId = `crash-${randomUUID()}`;
      try {
        const res = await fetch(`${apiUrl}/v1/chat/completions`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${world.key}`,
            'content-type': 'application/json',
            'x-request-id': requestId,
          },
          body: JSON.stringify({ model, messages: [{ role: 'user', content: 'count me' }], max_tokens: 8 }),
        });
        const body = await res.text();
        expect(res.status, body).toBe(200);
        received.push(requestId);
      } catch (err) {
        if (err instanceof Error && err.name === 'AssertionError') throw err;
        failed.push(requestId);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  const loops = Array.from({ length: clients }, loop);
  return {
    received,
    failed,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

describe('metering through a crash', () => {
  it(
    'ledger = one event per answer received, none lost, none twice; rollups = ledger',
    { timeout: 120_000 },
    async () => {
      let api = await startApi();
      let ingester = startProcess('workers/usage-ingest/main.ts', env);
      const traffic = load(8);
      // Crash under load: once some answers are in, however long that takes on this machine.
      await expect.poll(() => traffic.received.length, { timeout: 30_000 }).toBeGreaterThan(20);

      api.child.kill('SIGKILL');
      ingester.child.kill('SIGKILL');
      await Promise.all([api.exited, ingester.exited]);
      const answeredBeforeCrash = traffic.received.length;

      api = await startApi();
      ingester = startProcess('workers/usage-ingest/main.ts', env);
      // The restarted API answers again.
      await expect
        .poll(() => traffic.received.length, { timeout: 30_000 })
        .toBeGreaterThan(answeredBeforeCrash + 20);
      await traffic.stop();

      const ledger = async () =>
        (
          await admin.query<{ request_id: string; n: number }>(
            `SELECT request_id, count(*)::int AS n FROM usage_events WHERE org_id = $1 GROUP BY request_id`,
            [world.orgId],
          )
        ).rows;
      const received = new Set(traffic.received);
      await waitUntil(
        'every received answer in the ledger',
        async () => (await ledger()).filter((r) => received.has(r.request_id)).length === received.size,
        ingester,
      );
      // Let the ingester finish whatever else the stream holds before comparing: the ledger stops
      // growing (two reads a second apart agree).
      let seen = -1;
      await expect
        .poll(
          async () => {
            const before = seen;
            seen = (await ledger()).length;
            return seen === before;
          },
          { timeout: 30_000, interval: 1_000 },
        )
        .toBe(true);
      const rows = await ledger();
      expect(rows.filter((r) => r.n !== 1)).toEqual([]);
      const extra = rows.map((r) => r.request_id).filter((id) => !received.has(id));
      expect(extra.every((id) => traffic.failed.includes(id))).toBe(true);

      const { rows: sums } = await admin.query<Record<string, number>>(
        `SELECT
         (SELECT count(*)::int FROM usage_events WHERE org_id = $1) AS events,
         (SELECT coalesce(sum(requests), 0)::int FROM usage_hourly WHERE org_id = $1) AS rolled_up_events,
         (SELECT coalesce(sum(prompt_tokens + completion_tokens), 0)::int FROM usage_events WHERE org_id = $1) AS tokens,
         (SELECT coalesce(sum(prompt_tokens + completion_tokens), 0)::int FROM usage_hourly WHERE org_id = $1) AS rolled_up_tokens`,
        [world.orgId],
      );
      expect(sums[0]!.rolled_up_events).toBe(sums[0]!.events);
      expect(sums[0]!.rolled_up_tokens).toBe(sums[0]!.tokens);
      expect(sums[0]!.events).toBe(received.size + extra.length);
      api.child.kill('SIGTERM');
      ingester.child.kill('SIGTERM');
    },
  );
});
