// How fast the inference limiter decides while Redis is away: the numbers the Redis-outage tests
// (test/integration/gateway/limits/redis-outage.test.ts) leave out so that they hold on a busy
// machine. Starts a redis-server of its own on a free loopback port (`redis-server` on the PATH),
// then measures, for one limiter each:
// - Redis up: admit + settle through Redis (the baseline);
// - fail-open, Redis paused (SIGSTOP): the first admission after the pause (bounded by the
//   limiter's timeout), then admissions decided in memory;
// - fail-closed, Redis killed: the first refusal, then the refusals that follow.
//   npx tsx bench/limits-outage.ts [--timeout-ms 100] [--admissions 20000]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { createLimiter, type AdmissionRequest, type Limiter } from '../api/gateway/limits/limiter.js';
import type { PlanLimits } from '../core/plans.js';

const { values } = parseArgs({
  options: {
    'timeout-ms': { type: 'string', default: '100' },
    admissions: { type: 'string', default: '20000' },
  },
});
const timeoutMs = Number(values['timeout-ms']);
const admissions = Number(values.admissions);
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
// Limits no admission reaches: every decision is the whole check, none a refusal.
const plan: PlanLimits = {
  requestsPerMinute: 1_000_000_000,
  tokensPerMinute: 1_000_000_000,
  concurrentRequests: 1_000_000_000,
  monthlyTokens: 1_000_000_000_000,
  maxTokensPerRequest: 4_096,
  models: null,
};
const request = (orgId: string): AdmissionRequest => ({
  orgId,
  keyId: 'bench-key',
  plan,
  key: { requestsPerMinute: null, tokensPerMinute: null },
  reserveTokens: 100,
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startRedis(dir: string): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; ; i += 1) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    const up = await probe
      .connect()
      .then(() => probe.ping())
      .then(() => true)
      .catch(() => false);
    probe.disconnect();
    if (up) return { child, url };
    if (i > 100) throw new Error('redis-server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Row {
  case: string;
  decisions: number;
  'first ms': number;
  'mean µs': number;
  'p50 µs': number;
  'p99 µs': number;
  'max µs': number;
}

/** Times one admission (plus its settlement when admitted), in ms. */
async function timed(limiter: Limiter, orgId: string): Promise<number> {
  const started = performance.now();
  const admission = await limiter.admit(request(orgId));
  const ms = performance.now() - started;
  if (admission.admitted) await limiter.settle(admission.reservation, 50);
  return ms;
}

async function measure(name: string, limiter: Limiter, expectBackend: 'redis' | 'memory' | 'refused') {
  const orgId = randomUUID();
  const first = await timed(limiter, orgId);
  const samples: number[] = [];
  for (let i = 0; i < admissions; i += 1) samples.push(await timed(limiter, orgId));
  // Checked after the timing: the case measured what it says.
  const last = await limiter.admit(request(orgId));
  const backend = last.admitted ? last.reservation.backend : 'refused';
  if (backend !== expectBackend) throw new Error(`${name}: decided by ${backend}, not ${expectBackend}`);
  samples.sort((a, b) => a - b);
  const us = (ms: number) => Math.round(ms * 10_000) / 10;
  const at = (q: number) => us(samples[Math.floor(q * (samples.length - 1))] ?? 0);
  const row: Row = {
    case: name,
    decisions: admissions,
    'first ms': Math.round(first * 10) / 10,
    'mean µs': us(samples.reduce((sum, s) => sum + s, 0) / samples.length),
    'p50 µs': at(0.5),
    'p99 µs': at(0.99),
    'max µs': us(samples.at(-1) ?? 0),
  };
  return row;
}

const dir = mkdtempSync(join(tmpdir(), 'vlinders-bench-limits-'));
const redisServer = await startRedis(dir);
const client = new Redis(redisServer.url, { maxRetriesPerRequest: 0 });
client.on('error', () => undefined);
const limiter = (policy: 'fail-open' | 'fail-closed') =>
  createLimiter({ redis: client, policy, logger: silent, timeoutMs, probeIntervalMs: 500 });
const open = limiter('fail-open');
const closed = limiter('fail-closed');
const results: Row[] = [];
try {
  // Warm-up: JIT and the script cache on both limiters.
  for (let i = 0; i < 2_000; i += 1) await Promise.all([timed(open, 'warm'), timed(closed, 'warm')]);
  results.push(await measure('Redis up: admit + settle through Redis', open, 'redis'));
  redisServer.child.kill('SIGSTOP');
  results.push(await measure('fail-open, Redis paused: in memory', open, 'memory'));
  redisServer.child.kill('SIGKILL');
  redisServer.child.kill('SIGCONT');
  results.push(await measure('fail-closed, Redis killed: refused', closed, 'refused'));
} finally {
  if (redisServer.child.exitCode === null) redisServer.child.kill('SIGKILL');
  await Promise.all([open.close(), closed.close()]).catch(() => undefined);
  client.disconnect();
  rmSync(dir, { recursive: true, force: true });
}
console.log(`limiter timeout ${timeoutMs} ms, ${admissions} decisions per case (each admit, then settle)`);
console.table(results);
