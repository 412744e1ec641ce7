// app.limiter as the gateway gets it: shared through the suite's Redis, with its metrics on /metrics.
import { afterAll, describe, expect, it } from 'vitest';
import { planLimits } from '../../../../core/plans.js';
import { buildTestApp, type TestApp } from '../../../support/app.js';
import { newOrg, request } from './support.js';

const apps: TestApp[] = [];
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
});

describe('app.limiter', () => {
  it("uses the plan's limits across the app's replicas and reports Redis and its decisions on /metrics", async () => {
    apps.push(await buildTestApp(), await buildTestApp());
    const [one, two] = apps.map((a) => a.app);
    const free = planLimits('free');
    const org = newOrg();
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => (i % 2 ? one! : two!).limiter.admit(request(org, free))),
    );
    // The free plan: 2 requests in flight per org, whichever replica they reach.
    expect(answers.filter((a) => a.admitted)).toHaveLength(free.concurrentRequests);
    const metrics = await one!.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/^vlinders_limits_redis_available(\{[^}]*\})? 1$/m);
    expect(metrics.body).toMatch(/^vlinders_limits_decisions_total\{[^}]*backend="redis"[^}]*\} \d+$/m);
  });

  it('without REDIS_URL limits are in this process', async () => {
    const embedded = await buildTestApp({ REDIS_URL: '' });
    apps.push(embedded);
    expect(embedded.app.limiter.redisAvailable).toBe(false);
    const free = planLimits('free');
    const org = newOrg();
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => embedded.app.limiter.admit(request(org, free))),
    );
    expect(answers.filter((a) => a.admitted)).toHaveLength(free.concurrentRequests);
  });
});
