// The limits a client meets, against the suite's real Redis and against the in-memory twin (the
// embedded default and the fail-open fallback): both must answer the same.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createLimiter, monthOf, type Limiter } from '../../../../api/gateway/limits/limiter.js';
import { newOrg, request, reservationOf, silentLogger, testPlan } from './support.js';

const clients: Redis[] = [];
const limiters: Limiter[] = [];
afterAll(async () => {
  await Promise.all(limiters.map((l) => l.close()));
  await Promise.all(clients.map((c) => c.quit()));
});

// Buckets refill continuously, so what a header says depends on the time between admissions: the
// bounds below grow with the time measured (a busy machine only widens them), none assumes speed.
const since = (started: number) => (performance.now() - started) / 1000;
/** A reset header ("39.5s", "1m0s", "250ms") in seconds. */
function resetSeconds(header: string | undefined): number {
  const match = /^(?:(\d+)m)?(\d+(?:\.\d+)?)(ms|s)$/.exec(header ?? '');
  if (!match) throw new Error(`not a reset header: ${header}`);
  const [, minutes = '0', amount = '0', unit] = match;
  return Number(minutes) * 60 + Number(amount) / (unit === 'ms' ? 1000 : 1);
}

function limiterOn(backend: 'redis' | 'memory', inflightTtlMs?: number): Limiter {
  const redis = backend === 'redis' ? new Redis(inject('redisUrl')) : undefined;
  if (redis) clients.push(redis);
  const limiter = createLimiter({ redis, policy: 'fail-closed', logger: silentLogger, inflightTtlMs });
  limiters.push(limiter);
  return limiter;
}

describe.each(['redis', 'memory'] as const)('limits in %s', (backend) => {
  const limiter = limiterOn(backend);

  it('admits exactly the requests per minute of a concurrent burst, then refuses with OpenAI-style headers', async () => {
    const org = newOrg();
    const plan = testPlan({ requestsPerMinute: 50 });
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 200 }, () => limiter.admit(request(org, plan))));
    const elapsed = since(started);
    // 50, plus one per 1.2 s the burst took to arrive (none on an idle machine).
    expect(answers.filter((a) => a.admitted).length).toBeGreaterThanOrEqual(50);
    expect(answers.filter((a) => a.admitted).length).toBeLessThanOrEqual(50 + Math.floor(elapsed / 1.2));
    const refused = answers.find((a) => !a.admitted);
    if (!refused || refused.admitted) throw new Error('expected a refusal');
    expect(refused.code).toBe('rate_limit_exceeded');
    expect(refused.message).toMatch(/requests per minute on this API key: limit 50/);
    // One request comes back every 60/50 s.
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(2);
    expect(refused.headers['x-ratelimit-limit-requests']).toBe('50');
    expect(refused.headers['x-ratelimit-remaining-requests']).toBe('0');
    // Full again in 60 s, less what refilled during the burst.
    const reset = resetSeconds(refused.headers['x-ratelimit-reset-requests']);
    expect(reset).toBeLessThanOrEqual(60);
    expect(reset).toBeGreaterThan(60 - elapsed - 1.2);
  });

  it('counts remaining requests down in the headers of admitted requests', async () => {
    const org = newOrg();
    const plan = testPlan({ requestsPerMinute: 5, tokensPerMinute: 6_000 });
    const remaining: string[] = [];
    const started = performance.now();
    for (let i = 0; i < 3; i += 1) {
      const admission = await limiter.admit(request(org, plan, { reserveTokens: 1_000 }));
      expect(admission.admitted).toBe(true);
      remaining.push(admission.headers['x-ratelimit-remaining-requests']!);
    }
    expect(remaining).toEqual(['4', '3', '2']);
    const last = await limiter.admit(request(org, plan, { reserveTokens: 1_000 }));
    const elapsed = since(started);
    expect(last.headers['x-ratelimit-limit-tokens']).toBe('6000');
    // 2,000 left, plus 100 a second refilled meanwhile.
    expect(Number(last.headers['x-ratelimit-remaining-tokens'])).toBeGreaterThanOrEqual(2_000);
    expect(Number(last.headers['x-ratelimit-remaining-tokens'])).toBeLessThan(2_050 + 100 * elapsed);
    // 4,000 tokens of 6,000 per minute take 40 s to come back, less what refilled meanwhile.
    const reset = resetSeconds(last.headers['x-ratelimit-reset-tokens']);
    expect(reset).toBeLessThanOrEqual(40);
    expect(reset).toBeGreaterThan(39 - elapsed);
  });

  it('reserves tokens at admission and gives back what settlement says was not used', async () => {
    const org = newOrg();
    const plan = testPlan({ tokensPerMinute: 3_000 });
    const started = performance.now();
    const reservation = reservationOf(await limiter.admit(request(org, plan, { reserveTokens: 1_000 })));
    const during = await limiter.admit(request(org, plan));
    expect(Number(during.headers['x-ratelimit-remaining-tokens'])).toBeLessThan(2_010 + 50 * since(started));
    await limiter.settle(reservation, 200);
    const after = await limiter.admit(request(org, plan));
    // 800 tokens back (plus what refilled meanwhile: 50 per second).
    expect(Number(after.headers['x-ratelimit-remaining-tokens'])).toBeGreaterThanOrEqual(2_800);
    expect(Number(after.headers['x-ratelimit-remaining-tokens'])).toBeLessThan(2_850 + 50 * since(started));
  });

  it('refuses a request whose reservation does not fit the tokens per minute left', async () => {
    const org = newOrg();
    const plan = testPlan({ tokensPerMinute: 1_500 });
    const started = performance.now();
    expect((await limiter.admit(request(org, plan, { reserveTokens: 1_000 }))).admitted).toBe(true);
    const refused = await limiter.admit(request(org, plan, { reserveTokens: 1_000 }));
    expect(refused).toMatchObject({ admitted: false, code: 'tokens_limit_exceeded' });
    if (refused.admitted) return;
    // 500 more tokens come back in 20 s, less what refilled meanwhile.
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(19 - since(started));
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(20);
    const never = await limiter.admit(request(org, plan, { reserveTokens: 2_000 }));
    expect(never).toMatchObject({ admitted: false, code: 'tokens_limit_exceeded' });
    if (!never.admitted) expect(never.message).toMatch(/lower max_tokens/);
  });

  it('enforces the monthly quota with what was reserved, and settlement corrects it', async () => {
    const org = newOrg();
    const plan = testPlan({ monthlyTokens: 2_500 });
    const monthLeftBefore = monthOf(Date.now()).msToMonthEnd / 1000;
    const first = reservationOf(await limiter.admit(request(org, plan, { reserveTokens: 1_000 })));
    reservationOf(await limiter.admit(request(org, plan, { reserveTokens: 1_000 })));
    const refused = await limiter.admit(request(org, plan, { reserveTokens: 1_000 }));
    expect(refused).toMatchObject({ admitted: false, code: 'quota_exceeded' });
    if (refused.admitted) return;
    expect(refused.message).toMatch(/more than the 500 left of this organization's monthly quota of 2500/);
    // Until the month ends, as it stood between the start of the test and now.
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(Math.ceil(monthLeftBefore) + 1);
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(monthOf(Date.now()).msToMonthEnd / 1000 - 1);
    await limiter.settle(first, 100);
    // 1,100 used: a reservation of 1,000 fits again, and then 400 are left.
    reservationOf(await limiter.admit(request(org, plan, { reserveTokens: 1_000 })));
    const full = await limiter.admit(request(org, plan, { reserveTokens: 401 }));
    expect(full).toMatchObject({ admitted: false, code: 'quota_exceeded' });
    reservationOf(await limiter.admit(request(org, plan, { reserveTokens: 400 })));
    const spent = await limiter.admit(request(org, plan, { reserveTokens: 1 }));
    if (spent.admitted) throw new Error('admitted past the quota');
    expect(spent.message).toMatch(/has used its monthly quota of 2500 tokens/);
  });

  it("applies a key's own lower limits to that key only, and the plan's to the org", async () => {
    const org = newOrg();
    const plan = testPlan({ requestsPerMinute: 4 });
    const limited = { keyId: 'narrow', key: { requestsPerMinute: 2 } };
    for (let i = 0; i < 2; i += 1)
      expect((await limiter.admit(request(org, plan, limited))).admitted).toBe(true);
    const refused = await limiter.admit(request(org, plan, limited));
    expect(refused).toMatchObject({ admitted: false, code: 'rate_limit_exceeded' });
    expect(refused.headers['x-ratelimit-limit-requests']).toBe('2');
    if (!refused.admitted) expect(refused.message).toMatch(/on this API key: limit 2\b/);
    // Another key of the org still has the plan's limit, shared with the org's other keys.
    const wide = { keyId: 'wide', key: { requestsPerMinute: 1_000 } };
    for (let i = 0; i < 2; i += 1)
      expect((await limiter.admit(request(org, plan, wide))).admitted).toBe(true);
    const orgRefusal = await limiter.admit(request(org, plan, wide));
    expect(orgRefusal).toMatchObject({ admitted: false, code: 'rate_limit_exceeded' });
    if (!orgRefusal.admitted) expect(orgRefusal.message).toMatch(/on this organization: limit 4\b/);
  });

  it('limits requests in flight per org; settling frees a slot once, however often it is called', async () => {
    const org = newOrg();
    const plan = testPlan({ concurrentRequests: 2 });
    const first = reservationOf(await limiter.admit(request(org, plan)));
    reservationOf(await limiter.admit(request(org, plan, { keyId: 'other' })));
    const refused = await limiter.admit(request(org, plan));
    expect(refused).toMatchObject({
      admitted: false,
      code: 'concurrency_limit_exceeded',
      retryAfterSeconds: 1,
    });
    await limiter.settle(first, 0);
    await limiter.settle(first, 0);
    expect((await limiter.admit(request(org, plan))).admitted).toBe(true);
    expect(await limiter.admit(request(org, plan))).toMatchObject({ code: 'concurrency_limit_exceeded' });
  });

  it('admits exactly the concurrency limit out of a concurrent burst', async () => {
    const org = newOrg();
    const plan = testPlan({ concurrentRequests: 50 });
    const answers = await Promise.all(Array.from({ length: 200 }, () => limiter.admit(request(org, plan))));
    expect(answers.filter((a) => a.admitted)).toHaveLength(50);
  });

  it('gives back the in-flight slot of an admission never settled after the safety TTL', async () => {
    // Long enough that the refusal below comes before it ends on a busy machine; the slot must then
    // come back by itself (never settled), well within the deadline.
    const short = limiterOn(backend, 2_000);
    const org = newOrg();
    const plan = testPlan({ concurrentRequests: 1 });
    reservationOf(await short.admit(request(org, plan)));
    expect((await short.admit(request(org, plan))).admitted).toBe(false);
    await expect
      .poll(async () => (await short.admit(request(org, plan))).admitted, { timeout: 20_000, interval: 250 })
      .toBe(true);
  });
});
