// The crash test of metering: the usage-ingest worker process is SIGKILLed while a batch is in
// flight (delivered, not acknowledged), then started again; the ledger ends with exactly one row per
// event fed into the stream (none lost, none twice) and the rollups equal the ledger's sums.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { usageEventField } from '../../../core/usage-event.js';
import type { Config } from '../../../runtime/config.js';
import { consumerGroup } from '../../../workers/usage-ingest/ingest.js';
import { testConfig } from '../../support/config.js';
import { repoRoot } from '../../support/services.js';
import { ledgerCount, rollupDifferences, rollupTotals, usageEvent, waitUntil } from './support.js';

const total = 20_000;
const stream = `test:usage-crash:${randomUUID()}`;
const orgIds = Array.from({ length: 5 }, () => randomUUID());
let admin: pg.Pool;
let redis: Redis;
const children: ChildProcess[] = [];

beforeAll(() => {
  admin = new pg.Pool({ connectionString: inject('adminDatabaseUrl'), max: 2 });
  redis = new Redis(inject('redisUrl'));
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.all([admin.end(), redis.quit()]);
});

function workerEnv(config: Config): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  for (const [key, value] of Object.entries(config)) if (value !== undefined) env[key] = String(value);
  return env;
}

interface Worker {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startWorker(env: NodeJS.ProcessEnv): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/usage-ingest/main.ts'], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

const stored = async () => (await ledgerCount(admin, orgIds)).rows;
const pending = async () => ((await redis.xpending(stream, consumerGroup)) as [number])[0];

describe('usage-ingest worker', () => {
  it('loses and duplicates nothing when killed with SIGKILL mid-batch and restarted', async () => {
    const env = workerEnv(
      testConfig({
        USAGE_STREAM: stream,
        USAGE_INGEST_BATCH_SIZE: '500',
        USAGE_INGEST_CLAIM_IDLE_MS: '1000',
        LOG_LEVEL: 'info',
      }),
    );
    const events = Array.from({ length: total }, (_, i) =>
      usageEvent({
        orgId: orgIds[i % orgIds.length]!,
        teamId: i % 3 === 0 ? null : orgIds[(i + 1) % orgIds.length]!,
        promptTokens: i % 1000,
        completionTokens: i % 77,
        status: i % 50 === 0 ? 500 : 200,
      }),
    );
    for (let i = 0; i < total; i += 1000) {
      const pipeline = redis.pipeline();
      for (const e of events.slice(i, i + 1000))
        pipeline.xadd(stream, '*', usageEventField, JSON.stringify(e));
      await pipeline.exec();
    }

    // Kill it while a batch is delivered but not acknowledged; a kill that lands between two
    // batches proves less, so it is tried again (each try stores more of the stream).
    let inFlightAtKill = 0;
    for (let attempt = 0; attempt < 3 && inFlightAtKill === 0; attempt++) {
      const worker = startWorker(env);
      const before = await stored();
      await waitUntil('a few batches stored and one in flight', async () => {
        if (worker.child.exitCode !== null) throw new Error(`worker exited:\n${worker.output()}`);
        return (await stored()) >= before + 2000 && (await pending()) > 0;
      });
      worker.child.kill('SIGKILL');
      await worker.exited;
      inFlightAtKill = await pending();
    }
    expect(inFlightAtKill).toBeGreaterThan(0);
    expect(await stored()).toBeLessThan(total);

    const restarted = startWorker(env);
    await waitUntil(
      'the stream to drain',
      async () => {
        if (restarted.child.exitCode !== null) throw new Error(`worker exited:\n${restarted.output()}`);
        return (await redis.xlen(stream)) === 0 && (await pending()) === 0;
      },
      120_000,
    );

    expect(await ledgerCount(admin, orgIds)).toEqual({ rows: total, ids: total });
    const ids = await admin.query<{ id: string }>('SELECT id FROM usage_events WHERE org_id = ANY($1)', [
      orgIds,
    ]);
    expect(new Set(ids.rows.map((r) => r.id))).toEqual(new Set(events.map((e) => e.id)));
    expect(await rollupDifferences(admin, orgIds)).toBe(0);
    expect(await rollupTotals(admin, orgIds)).toEqual({
      requests: total,
      promptTokens: events.reduce((n, e) => n + e.promptTokens, 0),
      completionTokens: events.reduce((n, e) => n + e.completionTokens, 0),
    });

    // SIGTERM: the worker finishes its batch and exits cleanly.
    restarted.child.kill('SIGTERM');
    expect(await restarted.exited).toBe(0);
  }, 180_000);
});
