// Sustained ingest rate of usage events into Postgres (target: 10,000 rows/s on a 2-core machine,
// with 1,000 orgs in each batch). Fills a fresh Redis stream with N events, then runs the usage-ingest
// consumer (the same class the worker runs) until the stream is empty: rows/s = N / wall time, ledger
// and rollups both written. Also times the ledger alone (batches appended straight to Postgres, no
// Redis). Prints the load average before and after: the machine is usually shared.
// Point it at a scratch database and Redis:
//   npx tsx bench/usage-ingest.ts --database-url postgres://… [--app-role vlinders_app] [--migrate]
//     --redis-url redis://… [--events 200000] [--orgs 50] [--batch 1000]
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { usageEventField, type UsageEvent } from '../core/usage-event.js';
import { createDb, createPool } from '../db/client.js';
import { migrateDatabase } from '../db/migrate.js';
import { UsageLedger } from '../db/usage-ledger.js';
import { consumerGroup, UsageIngester } from '../workers/usage-ingest/ingest.js';

const { values } = parseArgs({
  options: {
    'database-url': { type: 'string' },
    'app-role': { type: 'string' },
    'redis-url': { type: 'string' },
    migrate: { type: 'boolean', default: false },
    events: { type: 'string', default: '200000' },
    orgs: { type: 'string', default: '50' },
    batch: { type: 'string', default: '1000' },
  },
});
const url = values['database-url'];
const redisUrl = values['redis-url'];
if (!url || !redisUrl) {
  process.stderr.write(
    'usage: npx tsx bench/usage-ingest.ts --database-url postgres://… --redis-url redis://…\n',
  );
  process.exit(2);
}
if (values.migrate) await migrateDatabase(url);

const total = Number(values.events);
const batchSize = Number(values.batch);
const orgs = Array.from({ length: Number(values.orgs) }, () => ({
  orgId: randomUUID(),
  teams: [randomUUID(), null],
  keys: Array.from({ length: 4 }, () => randomUUID()),
}));
const models = ['llama-3-8b', 'llama-3-70b', 'mistral-7b'];

function event(i: number): UsageEvent {
  const org = orgs[i % orgs.length]!;
  return {
    id: randomUUID(),
    // Spread over the last 6 hours, so the rollups see many buckets.
    occurredAt: new Date(Date.now() - (i % 360) * 60_000).toISOString(),
    orgId: org.orgId,
    teamId: org.teams[i % 2]!,
    keyId: org.keys[i % org.keys.length]!,
    model: models[i % models.length]!,
    deploymentId: 'bench-deployment',
    promptTokens: 100 + (i % 900),
    completionTokens: 20 + (i % 300),
    cachedTokens: i % 64,
    estimated: i % 50 === 0,
    timeToFirstTokenMs: 30 + (i % 40),
    durationMs: 200 + (i % 800),
    status: i % 100 === 0 ? 500 : 200,
    streamed: i % 2 === 0,
    cancelled: i % 200 === 0,
    requestId: `bench-${i}`,
  };
}

const pool = createPool({ url, size: 2, appRole: values['app-role'], applicationName: 'vlinders-bench' });
const db = createDb(pool);
const redis = new Redis(redisUrl);
const logger = pino({ level: 'warn' });

interface Row {
  case: string;
  events: number;
  seconds: number;
  'rows/s': number;
}
const row = (name: string, events: number, ms: number): Row => ({
  case: name,
  events,
  seconds: Math.round(ms / 10) / 100,
  'rows/s': Math.round((events / ms) * 1000),
});

const loadBefore = loadavg();

// 1. The ledger alone: batches appended straight to Postgres.
const ledger = new UsageLedger(db);
const direct = Array.from({ length: total }, (_, i) => event(i));
await ledger.append(direct.slice(0, batchSize)); // warm-up: partitions, plans, connections
let start = performance.now();
for (let i = batchSize; i < total; i += batchSize) await ledger.append(direct.slice(i, i + batchSize));
const ledgerRow = row(`ledger only, batches of ${batchSize}`, total - batchSize, performance.now() - start);

// 2. Stream → consumer → Postgres, the stream filled beforehand so the consumer never waits.
const stream = `bench:usage:${randomUUID()}`;
await redis.xgroup('CREATE', stream, consumerGroup, '0', 'MKSTREAM');
for (let i = 0; i < total; i += 1000) {
  const pipeline = redis.pipeline();
  for (let j = i; j < Math.min(i + 1000, total); j++)
    pipeline.xadd(stream, '*', usageEventField, JSON.stringify(event(j)));
  await pipeline.exec();
}
const consumerRedis = new Redis(redisUrl);
const ingester = new UsageIngester({
  redis: consumerRedis,
  db,
  logger,
  stream,
  consumer: 'bench',
  batchSize,
  claimIdleMs: 60_000,
  blockMs: 100,
});
start = performance.now();
await ingester.start();
while ((await redis.xlen(stream)) > 0) await new Promise((r) => setTimeout(r, 20));
const streamRow = row(
  `Redis stream → ingester → Postgres, batches of ${batchSize}`,
  total,
  performance.now() - start,
);
await ingester.stop();
if (ingester.counts.stored !== total) throw new Error(`stored ${ingester.counts.stored} of ${total} events`);

await redis.del(stream);
await Promise.all([redis.quit(), consumerRedis.quit(), pool.end()]);
const load = (l: number[]) => l.map((n) => n.toFixed(2)).join(' ');
console.log(
  `${total} events, ${orgs.length} orgs, ${new Date().toISOString()}, ` +
    `load average (1, 5, 15 min) before ${load(loadBefore)}, after ${load(loadavg())}`,
);
console.table([ledgerRow, streamRow]);
