// One "API replica" for replicas.test.ts: its own limiter on the shared Redis. It says "ready" once
// connected, fires its burst of concurrent admissions when a line arrives on stdin, prints how
// the admissions were answered as one JSON line, and exits.
// Usage: node --import tsx burst-process.ts <redisUrl> <orgId> <requestsPerMinute> <concurrentRequests> <count>
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { createLimiter } from '../../../../api/gateway/limits/limiter.js';
import { newOrg, request, silentLogger, testPlan } from './support.js';

const [redisUrl, orgId, requestsPerMinute, concurrentRequests, count] = process.argv.slice(2);
if (!redisUrl || !orgId || !requestsPerMinute || !concurrentRequests || !count) throw new Error('usage');

const redis = new Redis(redisUrl);
// Fail-closed: an admission Redis did not decide shows up as limits_unavailable, never as a pass.
const limiter = createLimiter({ redis, policy: 'fail-closed', logger: silentLogger, timeoutMs: 2_000 });
const plan = testPlan({
  requestsPerMinute: Number(requestsPerMinute),
  concurrentRequests: Number(concurrentRequests),
});
// Connected and the script loaded, on an org of its own.
await limiter.admit(request(newOrg(), plan));
process.stdout.write('ready\n');
await once(process.stdin, 'data');
process.stdin.destroy();

const answers = await Promise.all(
  Array.from({ length: Number(count) }, () => limiter.admit(request(orgId, plan))),
);
const codes: Record<string, number> = {};
for (const a of answers) {
  const code = a.admitted ? 'admitted' : a.code;
  codes[code] = (codes[code] ?? 0) + 1;
}
process.stdout.write(`${JSON.stringify(codes)}\n`);
await limiter.close();
await redis.quit();
