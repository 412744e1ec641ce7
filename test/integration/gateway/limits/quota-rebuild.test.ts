// The monthly quota outlives Redis's memory: a counter Redis lost (deleted, or Redis restarted
// without persistence) is rebuilt from the ledger's rollups on real PostgreSQL, and tokens admitted
// in memory while Redis was away reach Redis's counter when it returns.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { limitKeys } from '../../../../api/gateway/limits/admissions.js';
import {
  createLimiter,
  monthOf,
  type Limiter,
  type MonthUsage,
  type RedisDownPolicy,
} from '../../../../api/gateway/limits/limiter.js';
import { monthUsageFromRollups } from '../../../../api/gateway/limits/month-usage.js';
import { createDb, createPool, type Db } from '../../../../db/client.js';
import { UsageLedger } from '../../../../db/usage-ledger.js';
import { startRedis } from '../../../support/services.js';
import { usageEvent } from '../../metering/support.js';
import { newOrg, request, reservationOf, silentLogger, testPlan } from './support.js';

let pool: pg.Pool;
let db: Db;
let dataRoot: string;
let ownRedis: Awaited<ReturnType<typeof startRedis>>;
const clients: Redis[] = [];
const limiters: Limiter[] = [];

beforeAll(async () => {
  pool = createPool({ url: inject('databaseUrl'), size: 2, applicationName: 'quota-rebuild-test' });
  db = createDb(pool);
  dataRoot = mkdtempSync(join(tmpdir(), 'vlinders-quota-'));
  ownRedis = await startRedis(dataRoot);
});

afterAll(async () => {
  if (ownRedis.child.exitCode === null) ownRedis.child.kill('SIGCONT');
  await Promise.all(limiters.map((l) => l.close()));
  for (const client of clients) client.disconnect();
  await ownRedis.stop();
  await pool.end();
  rmSync(dataRoot, { recursive: true, force: true });
});

function redisAt(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 0 });
  redis.on('error', () => undefined);
  clients.push(redis);
  return redis;
}

function limiterOn(
  url: string,
  options: { policy?: RedisDownPolicy; monthUsage?: MonthUsage | null } = {},
): Limiter {
  const limiter = createLimiter({
    redis: redisAt(url),
    policy: options.policy ?? 'fail-open',
    logger: silentLogger,
    timeoutMs: 100,
    probeIntervalMs: 100,
    monthUsage: options.monthUsage === null ? undefined : (options.monthUsage ?? monthUsageFromRollups(db)),
  });
  limiters.push(limiter);
  return limiter;
}

/** Metered usage of this month for the org, through the ledger (which adds it to the rollups). */
async function meter(orgId: string, tokens: { prompt: number; completion: number }) {
  await new UsageLedger(db).append([
    usageEvent({ orgId, promptTokens: tokens.prompt, completionTokens: tokens.completion }),
  ]);
}

const monthlyKey = (orgId: string) => limitKeys(orgId, '', monthOf(Date.now()).month).monthly;
const counter = async (redis: Redis, orgId: string) => Number(await redis.get(monthlyKey(orgId)));
const quota = testPlan({ monthlyTokens: 1_000 });

describe('monthly quota rebuilt from the rollups', () => {
  it('an org that used 990 of 1,000 tokens stays refused after its counter is deleted from Redis', async () => {
    const redis = redisAt(inject('redisUrl'));
    const limiter = limiterOn(inject('redisUrl'));
    const org = newOrg();
    await meter(org, { prompt: 490, completion: 500 });

    const refused = await limiter.admit(request(org, quota, { reserveTokens: 20 }));
    expect(refused).toMatchObject({ admitted: false, code: 'quota_exceeded' });
    if (refused.admitted) return;
    expect(refused.message).toMatch(/more than the 10 left of this organization's monthly quota of 1000/);
    expect(await counter(redis, org)).toBe(990);

    await redis.del(monthlyKey(org));
    expect(await limiter.admit(request(org, quota, { reserveTokens: 20 }))).toMatchObject({
      admitted: false,
      code: 'quota_exceeded',
    });
    // The 10 tokens left are still there to use, and then none.
    expect((await limiter.admit(request(org, quota, { reserveTokens: 10 }))).admitted).toBe(true);
    expect(await limiter.admit(request(org, quota, { reserveTokens: 1 }))).toMatchObject({
      admitted: false,
      code: 'quota_exceeded',
    });

    // Without the rollups to read, the same loss would have let the org start the month again.
    await redis.del(monthlyKey(org));
    const forgetful = limiterOn(inject('redisUrl'), { monthUsage: null });
    expect((await forgetful.admit(request(org, quota, { reserveTokens: 500 }))).admitted).toBe(true);
  });

  it('reads the rollups once per lost counter, however many requests arrive at once, and not while it exists', async () => {
    let reads = 0;
    const rollups = monthUsageFromRollups(db);
    const limiter = limiterOn(inject('redisUrl'), {
      monthUsage: (orgId, start) => {
        reads += 1;
        return rollups(orgId, start);
      },
    });
    const org = newOrg();
    await meter(org, { prompt: 100, completion: 100 });
    const plan = testPlan({ monthlyTokens: 1_000 });
    const burst = await Promise.all(
      Array.from({ length: 20 }, () => limiter.admit(request(org, plan, { reserveTokens: 50 }))),
    );
    // 200 from the rollups + 16 × 50 = 1,000.
    expect(burst.filter((a) => a.admitted)).toHaveLength(16);
    for (let i = 0; i < 5; i += 1) await limiter.admit(request(org, plan));
    expect(reads).toBe(1);
  });

  it('a Redis restarted without persistence: the org over its quota is still refused once Redis is back', async () => {
    const limiter = limiterOn(ownRedis.url, { policy: 'fail-closed' });
    const org = newOrg();
    await meter(org, { prompt: 300, completion: 400 });
    const reservation = reservationOf(await limiter.admit(request(org, quota, { reserveTokens: 300 })));
    await limiter.settle(reservation, 300);
    // The 300 also reach the ledger, as metering would put them there.
    await meter(org, { prompt: 100, completion: 200 });
    expect(await limiter.admit(request(org, quota, { reserveTokens: 1 }))).toMatchObject({
      admitted: false,
      code: 'quota_exceeded',
    });

    await ownRedis.stop();
    expect(await limiter.admit(request(org, quota, { reserveTokens: 1 }))).toMatchObject({
      code: 'limits_unavailable',
    });
    ownRedis = await startRedis(dataRoot, ownRedis.port);
    await vi.waitFor(() => expect(limiter.redisAvailable).toBe(true), { timeout: 15_000, interval: 100 });
    expect(await redisAt(ownRedis.url).exists(monthlyKey(org))).toBe(0);

    expect(await limiter.admit(request(org, quota, { reserveTokens: 1 }))).toMatchObject({
      admitted: false,
      code: 'quota_exceeded',
    });
    expect(await counter(redisAt(ownRedis.url), org)).toBe(1_000);
  }, 30_000);

  it('when the rollups cannot be read: fail-closed refuses with limits_unavailable, fail-open counts the month from 0', async () => {
    const broken: MonthUsage = () => Promise.reject(new Error('database unreachable'));
    const org = newOrg();
    await meter(org, { prompt: 990, completion: 0 });
    const closed = limiterOn(inject('redisUrl'), { policy: 'fail-closed', monthUsage: broken });
    expect(await closed.admit(request(org, quota, { reserveTokens: 20 }))).toMatchObject({
      admitted: false,
      code: 'limits_unavailable',
    });
    const open = limiterOn(inject('redisUrl'), { policy: 'fail-open', monthUsage: broken });
    expect((await open.admit(request(org, quota, { reserveTokens: 20 }))).admitted).toBe(true);
  });
});

describe('the monthly quota in memory', () => {
  it('while Redis is away (fail-open) starts from the rollups: the org over its quota stays refused', async () => {
    const limiter = limiterOn(ownRedis.url, { policy: 'fail-open' });
    const org = newOrg();
    await meter(org, { prompt: 490, completion: 500 });
    ownRedis.child.kill('SIGSTOP');
    try {
      const refused = await limiter.admit(request(org, quota, { reserveTokens: 20 }));
      expect(limiter.redisAvailable).toBe(false);
      expect(refused).toMatchObject({ admitted: false, code: 'quota_exceeded' });
      const admitted = reservationOf(await limiter.admit(request(org, quota, { reserveTokens: 10 })));
      expect(admitted.backend).toBe('memory');
    } finally {
      ownRedis.child.kill('SIGCONT');
    }
    await vi.waitFor(() => expect(limiter.redisAvailable).toBe(true), { timeout: 15_000, interval: 100 });
  }, 30_000);

  it('without Redis at all (embedded) starts from the rollups, so a restarted API does not renew the quota', async () => {
    const org = newOrg();
    await meter(org, { prompt: 490, completion: 500 });
    const embedded = createLimiter({
      redis: undefined,
      policy: 'fail-open',
      logger: silentLogger,
      monthUsage: monthUsageFromRollups(db),
    });
    limiters.push(embedded);
    expect(await embedded.admit(request(org, quota, { reserveTokens: 20 }))).toMatchObject({
      admitted: false,
      code: 'quota_exceeded',
    });
    expect((await embedded.admit(request(org, quota, { reserveTokens: 10 }))).admitted).toBe(true);
  });
});

describe('tokens admitted in memory during an outage', () => {
  it('reach the Redis counter when Redis answers again, settled ones by their use, unsettled ones when settled', async () => {
    const redis = redisAt(ownRedis.url);
    const limiter = limiterOn(ownRedis.url, { policy: 'fail-open' });
    const org = newOrg();
    const plan = testPlan({ monthlyTokens: 1_000 });
    await limiter.settle(reservationOf(await limiter.admit(request(org, plan, { reserveTokens: 100 }))), 100);
    expect(await counter(redis, org)).toBe(100);

    ownRedis.child.kill('SIGSTOP');
    const first = reservationOf(await limiter.admit(request(org, plan, { reserveTokens: 300 })));
    expect(first.backend).toBe('memory');
    await limiter.settle(first, 300);
    await limiter.settle(reservationOf(await limiter.admit(request(org, plan, { reserveTokens: 200 }))), 150);
    const open = reservationOf(await limiter.admit(request(org, plan, { reserveTokens: 100 })));
    ownRedis.child.kill('SIGCONT');

    await vi.waitFor(() => expect(limiter.redisAvailable).toBe(true), { timeout: 15_000, interval: 100 });
    // 100 before, 300 + 150 used, 100 still reserved.
    expect(await counter(redis, org)).toBe(650);
    await limiter.settle(open, 40);
    expect(await counter(redis, org)).toBe(590);

    // What a client notices: 410 tokens of the month left, not 900.
    expect(await limiter.admit(request(org, plan, { reserveTokens: 411 }))).toMatchObject({
      admitted: false,
      code: 'quota_exceeded',
    });
    expect((await limiter.admit(request(org, plan, { reserveTokens: 410 }))).admitted).toBe(true);
  }, 30_000);
});
