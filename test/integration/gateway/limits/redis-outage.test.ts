// Redis goes away under load and comes back: a Redis server of this file's own, paused (SIGSTOP: the
// connection stays up and nothing answers) or killed and restarted on the same port.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { metrics as sdkMetrics } from '@opentelemetry/sdk-node';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLimiter,
  type AdmissionRequest,
  type Limiter,
  type RedisDownPolicy,
} from '../../../../api/gateway/limits/limiter.js';
import { startRedis } from '../../../support/services.js';
import { newOrg, request, reservationOf, testPlan } from './support.js';

const timeoutMs = 100;
// What tells "no call hangs" from a hang: a paused Redis never answers, so without the limiter's
// timeout a call would wait for the test's own. 50 times the timeout leaves room for a busy machine;
// how fast the decisions really are is bench/limits-outage.ts's to measure, not this test's.
const hangMs = 5_000;
// Deadline for a replica to notice Redis going or coming back (probes every 200 ms).
const noticeMs = 20_000;

let dataRoot: string;
let server: Awaited<ReturnType<typeof startRedis>>;
const clients: Redis[] = [];
const limiters: Limiter[] = [];

beforeAll(async () => {
  dataRoot = mkdtempSync(join(tmpdir(), 'vlinders-limits-'));
  server = await startRedis(dataRoot);
});

afterAll(async () => {
  if (server.child.exitCode === null) server.child.kill('SIGCONT');
  await Promise.all(limiters.map((l) => l.close()));
  for (const client of clients) client.disconnect();
  await server.stop();
  rmSync(dataRoot, { recursive: true, force: true });
});

function recordingLogger() {
  const lines: string[] = [];
  const log = (level: string) => (first: unknown, second?: unknown) =>
    lines.push(`${level} ${typeof first === 'string' ? first : String(second)}`);
  return { lines, logger: { info: log('info'), warn: log('warn'), error: log('error') } };
}

function metricsReader() {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new sdkMetrics.MeterProvider({ readers: [exporter] });
  return {
    meter: provider.getMeter('limits-test'),
    scrape: async () => new PrometheusSerializer().serialize((await exporter.collect()).resourceMetrics),
  };
}

function replica(policy: RedisDownPolicy, extra: { metrics?: ReturnType<typeof metricsReader> } = {}) {
  const redis = new Redis(server.url, { maxRetriesPerRequest: 0 });
  redis.on('error', () => undefined);
  clients.push(redis);
  const { lines, logger } = recordingLogger();
  const limiter = createLimiter({
    redis,
    policy,
    logger,
    metrics: extra.metrics?.meter,
    timeoutMs,
    probeIntervalMs: 200,
  });
  limiters.push(limiter);
  return { limiter, logs: lines };
}

/** Admits and measures how long the answer took. */
async function timedAdmit(limiter: Limiter, req: AdmissionRequest) {
  const started = performance.now();
  const admission = await limiter.admit(req);
  return { admission, ms: performance.now() - started };
}

/** Admissions at a steady pace until stopped; remembers the slowest. */
function load(limiter: Limiter) {
  const plan = testPlan();
  const org = newOrg();
  let running = true;
  let slowest = 0;
  let calls = 0;
  const done = (async () => {
    while (running) {
      const { admission, ms } = await timedAdmit(limiter, request(org, plan));
      slowest = Math.max(slowest, ms);
      calls += 1;
      if (admission.admitted) await limiter.settle(admission.reservation, 0);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    calls: () => calls,
    stop: async () => {
      running = false;
      await done;
      return { slowest, calls };
    },
  };
}

async function until(what: string, probe: () => boolean | Promise<boolean>, withinMs: number) {
  const deadline = Date.now() + withinMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const gauge = (text: string) => /^vlinders_limits_redis_available(?:\{[^}]*\})? (\d)/m.exec(text)?.[1];

async function admittedOf(limiter: Limiter, req: AdmissionRequest, times: number): Promise<number> {
  let admitted = 0;
  for (let i = 0; i < times; i += 1) if ((await limiter.admit(req)).admitted) admitted += 1;
  return admitted;
}

describe('Redis outage', () => {
  it('fail-open: paused Redis → each replica enforces the limits in memory, no call hangs; back to shared limits when it answers again', async () => {
    const metrics = metricsReader();
    const a = replica('fail-open', { metrics });
    const b = replica('fail-open');
    const plan = testPlan({ requestsPerMinute: 10 });

    // Before: shared limits, an admission of A's to be settled during the outage.
    const held = newOrg();
    const heldPlan = testPlan({ concurrentRequests: 1 });
    const heldReservation = reservationOf(await a.limiter.admit(request(held, heldPlan)));
    expect(gauge(await metrics.scrape())).toBe('1');

    const traffic = load(b.limiter);
    await until('traffic flows', () => traffic.calls() > 0, noticeMs);
    server.child.kill('SIGSTOP');

    // The first admission after the pause waits for the timeout, no longer, and is admitted.
    const pausedOrg = newOrg();
    const strict = testPlan({ concurrentRequests: 1 });
    const first = await timedAdmit(a.limiter, request(pausedOrg, strict));
    expect(first.admission.admitted).toBe(true);
    expect(first.ms).toBeLessThan(hangMs);
    expect(a.limiter.redisAvailable).toBe(false);
    expect(gauge(await metrics.scrape())).toBe('0');
    await a.limiter.settle(heldReservation, 0);

    // In memory, per replica: each enforces the whole limit on its own.
    const outageOrg = newOrg();
    expect(await admittedOf(a.limiter, request(outageOrg, plan), 16)).toBe(10);
    await until('replica B notices', () => !b.limiter.redisAvailable, noticeMs);
    expect(await admittedOf(b.limiter, request(outageOrg, plan), 15)).toBe(10);

    // Long enough for the limiter to give up on the silent connection and open another.
    await new Promise((r) => setTimeout(r, 1_500));
    // The traffic went on through the outage.
    const callsDuringOutage = traffic.calls();
    await until('traffic flows during the outage', () => traffic.calls() > callsDuringOutage, noticeMs);
    server.child.kill('SIGCONT');
    await until('replica A back on Redis', () => a.limiter.redisAvailable, noticeMs);
    await until('replica B back on Redis', () => b.limiter.redisAvailable, noticeMs);
    const { slowest } = await traffic.stop();
    expect(slowest).toBeLessThan(hangMs);
    expect(gauge(await metrics.scrape())).toBe('1');
    expect(await metrics.scrape()).toMatch(
      /vlinders_limits_decisions_total\{[^}]*backend="memory"[^}]*\} \d+/,
    );

    // Shared again: 10 per minute across both replicas.
    const afterOrg = newOrg();
    const viaA = await admittedOf(a.limiter, request(afterOrg, plan), 6);
    const viaB = await admittedOf(b.limiter, request(afterOrg, plan), 6);
    expect([viaA, viaB]).toEqual([6, 4]);
    // The settlement made during the outage reached Redis: the held slot is free.
    expect((await b.limiter.admit(request(held, heldPlan))).admitted).toBe(true);
    // The admission that timed out at the pause (then executed by Redis) was released as well.
    expect((await b.limiter.admit(request(pausedOrg, strict))).admitted).toBe(true);
    // One line per transition, not one per request.
    expect(a.logs.filter((l) => l.includes('unreachable'))).toHaveLength(1);
    expect(a.logs.filter((l) => l.includes('reachable again'))).toHaveLength(1);
  }, 90_000);

  it('fail-closed: killed Redis → refused with limits_unavailable at once; restarted on the same port → admitted again', async () => {
    const metrics = metricsReader();
    const closed = replica('fail-closed', { metrics });
    const open = replica('fail-open');
    const plan = testPlan({ requestsPerMinute: 3 });
    const org = newOrg();
    expect((await closed.limiter.admit(request(org, plan))).admitted).toBe(true);
    expect((await open.limiter.admit(request(org, plan))).admitted).toBe(true);

    const traffic = load(open.limiter);
    await server.stop();
    const refused = await timedAdmit(closed.limiter, request(org, plan));
    expect(refused.admission).toMatchObject({
      admitted: false,
      code: 'limits_unavailable',
      retryAfterSeconds: 1,
    });
    expect(refused.ms).toBeLessThan(hangMs);
    const again = await closed.limiter.admit(request(org, plan));
    expect(again).toMatchObject({ admitted: false, code: 'limits_unavailable' });
    expect(gauge(await metrics.scrape())).toBe('0');
    // Meanwhile fail-open keeps admitting, in memory.
    await until('fail-open replica notices', () => !open.limiter.redisAvailable, noticeMs);
    expect((await open.limiter.admit(request(newOrg(), plan))).admitted).toBe(true);

    await new Promise((r) => setTimeout(r, 500));
    server = await startRedis(dataRoot, server.port);
    await until('fail-closed replica back on Redis', () => closed.limiter.redisAvailable, noticeMs);
    await until('fail-open replica back on Redis', () => open.limiter.redisAvailable, noticeMs);
    const { slowest } = await traffic.stop();
    expect(slowest).toBeLessThan(hangMs);
    expect(gauge(await metrics.scrape())).toBe('1');
    // A restarted Redis starts empty: the shared limit counts from zero again, across both.
    const fresh = newOrg();
    expect(await admittedOf(closed.limiter, request(fresh, plan), 2)).toBe(2);
    expect(await admittedOf(open.limiter, request(fresh, plan), 2)).toBe(1);
  }, 90_000);
});
