// Limits hold across replicas: two OS processes, each with its own limiter on the shared Redis,
// fire 100 concurrent admissions each at the same org at the same moment.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { repoRoot } from '../../../support/services.js';

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

interface Replica {
  child: ChildProcess;
  lines: AsyncIterator<string>;
}

async function startReplica(args: string[]): Promise<Replica> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/integration/gateway/limits/burst-process.ts', ...args],
    { cwd: repoRoot, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  children.push(child);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  expect(first.value).toBe('ready');
  return { child, lines };
}

/** Admission codes counted over both replicas. */
async function burstFromTwoReplicas(requestsPerMinute: number, concurrent: number) {
  const args = [inject('redisUrl'), randomUUID(), String(requestsPerMinute), String(concurrent), '100'];
  const replicas = await Promise.all([startReplica(args), startReplica(args)]);
  for (const { child } of replicas) child.stdin!.write('go\n');
  const totals: Record<string, number> = {};
  for (const { child, lines } of replicas) {
    const result = await lines.next();
    for (const [code, n] of Object.entries(JSON.parse(String(result.value)) as Record<string, number>))
      totals[code] = (totals[code] ?? 0) + n;
    if (child.exitCode === null) await once(child, 'exit');
  }
  return totals;
}

describe('limits across two API processes', () => {
  it('200 concurrent requests against 50 per minute admit exactly 50', async () => {
    expect(await burstFromTwoReplicas(50, 10_000)).toEqual({ admitted: 50, rate_limit_exceeded: 150 });
  }, 60_000);

  it('200 concurrent requests against 50 in flight admit exactly 50', async () => {
    expect(await burstFromTwoReplicas(10_000, 50)).toEqual({
      admitted: 50,
      concurrency_limit_exceeded: 150,
    });
  }, 60_000);
});
