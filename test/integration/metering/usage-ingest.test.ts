// Metering on real PostgreSQL and Redis: recorder → stream → ingester → ledger + rollups; every
// event stored once however often it is delivered; rollups equal the ledger's sums; a partition
// for a new month; malformed entries set aside; the recorder without Redis or with Redis away.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createUsageRecorder } from '../../../api/gateway/metering/usage-recorder.js';
import type { UsageEvent } from '../../../core/usage-event.js';
import { createDb, createPool, type Db } from '../../../db/client.js';
import { usageEvents } from '../../../db/schema/index.js';
import { withTenant } from '../../../db/tenant.js';
import { UsageLedger } from '../../../db/usage-ledger.js';
import { consumerGroup, deadLetterStream, UsageIngester } from '../../../workers/usage-ingest/ingest.js';
import { dbError } from '../../support/db-errors.js';
import { freePort } from '../../support/services.js';
import { ledgerCount, rollupDifferences, usageEvent, waitUntil } from './support.js';

const logger = pino({ level: 'silent' });
let pool: pg.Pool;
let db: Db;
let admin: pg.Pool;
let redis: Redis;
const running: UsageIngester[] = [];
const clients: Redis[] = [];

beforeAll(() => {
  pool = createPool({ url: inject('databaseUrl'), size: 4, applicationName: 'metering-test' });
  db = createDb(pool);
  admin = new pg.Pool({ connectionString: inject('adminDatabaseUrl'), max: 2 });
  redis = new Redis(inject('redisUrl'));
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop()));
  for (const client of clients.splice(0)) client.disconnect();
});
afterAll(async () => {
  await Promise.all([pool.end(), admin.end(), redis.quit()]);
});

/** A stream of the test's own, so no other test's consumer takes its entries. */
const newStream = () => `test:usage:${randomUUID()}`;

async function startIngester(stream: string, claimIdleMs = 200): Promise<UsageIngester> {
  const connection = new Redis(inject('redisUrl'));
  clients.push(connection);
  const ingester = new UsageIngester({
    redis: connection,
    db,
    logger,
    stream,
    consumer: `test-${randomUUID()}`,
    batchSize: 500,
    claimIdleMs,
    blockMs: 100,
  });
  await ingester.start();
  running.push(ingester);
  return ingester;
}

/** Waits until the stream holds no entry, delivered or not. */
async function drained(stream: string): Promise<void> {
  await waitUntil('the stream to drain', async () => (await redis.xlen(stream)) === 0);
  const [pending] = (await redis.xpending(stream, consumerGroup)) as [number];
  expect(pending).toBe(0);
}

function sums(events: UsageEvent[]) {
  return {
    requests: events.length,
    errors: events.filter((e) => e.status >= 400).length,
    cancelled: events.filter((e) => e.cancelled).length,
    promptTokens: events.reduce((n, e) => n + e.promptTokens, 0),
    completionTokens: events.reduce((n, e) => n + e.completionTokens, 0),
    cachedTokens: events.reduce((n, e) => n + e.cachedTokens, 0),
    estimated: events.filter((e) => e.estimated).length,
  };
}

async function rollupsOf(orgId: string) {
  const { rows } = await admin.query<ReturnType<typeof sums>>(
    `SELECT sum(requests)::int AS requests, sum(errors)::int AS errors, sum(cancelled)::int AS cancelled,
       sum(prompt_tokens)::int AS "promptTokens", sum(completion_tokens)::int AS "completionTokens",
       sum(cached_tokens)::int AS "cachedTokens", sum(estimated)::int AS estimated
     FROM usage_hourly WHERE org_id = $1`,
    [orgId],
  );
  return rows[0];
}

describe('usage ingest', () => {
  it('moves recorded events from the stream into the ledger and the hourly rollups', async () => {
    const stream = newStream();
    const [orgA, orgB] = [randomUUID(), randomUUID()];
    const teamId = randomUUID();
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    const events = Array.from({ length: 60 }, (_, i) =>
      usageEvent({
        orgId: i % 3 === 0 ? orgB : orgA,
        teamId: i % 2 === 0 ? teamId : null,
        occurredAt: i % 4 === 0 ? hourAgo : new Date().toISOString(),
        model: i % 5 === 0 ? 'mistral-7b' : 'llama-3-8b',
        promptTokens: i,
        completionTokens: 2 * i,
        cachedTokens: i % 7,
        status: i % 10 === 0 ? 502 : 200,
        cancelled: i % 6 === 0,
        estimated: i % 8 === 0,
        streamed: i % 2 === 1,
      }),
    );
    const recorder = createUsageRecorder({ redis, db, logger, stream });
    await Promise.all(events.map((e) => recorder.record(e)));
    expect(await redis.xlen(stream)).toBe(60);

    await startIngester(stream);
    await drained(stream);

    expect(await ledgerCount(admin, [orgA, orgB])).toEqual({ rows: 60, ids: 60 });
    const stored = await admin.query<{
      id: string;
      prompt_tokens: number;
      status: number;
      cancelled: boolean;
    }>('SELECT id, prompt_tokens, status, cancelled FROM usage_events WHERE org_id = ANY($1)', [
      [orgA, orgB],
    ]);
    const byId = new Map(stored.rows.map((r) => [r.id, r]));
    for (const e of events) {
      expect(byId.get(e.id)).toEqual({
        id: e.id,
        prompt_tokens: e.promptTokens,
        status: e.status,
        cancelled: e.cancelled,
      });
    }
    expect(await rollupsOf(orgA)).toEqual(sums(events.filter((e) => e.orgId === orgA)));
    expect(await rollupsOf(orgB)).toEqual(sums(events.filter((e) => e.orgId === orgB)));
    expect(await rollupDifferences(admin, [orgA, orgB])).toBe(0);
  });

  it('stores an event once however often it arrives (recorded twice, replayed, written directly)', async () => {
    const stream = newStream();
    const event = usageEvent();
    const recorder = createUsageRecorder({ redis, db, logger, stream });
    await recorder.record(event);
    await recorder.record(event);
    await new UsageLedger(db).append([event, event]);
    const ingester = await startIngester(stream);
    await drained(stream);
    await recorder.record(event);
    await drained(stream);

    expect(await ledgerCount(admin, [event.orgId])).toEqual({ rows: 1, ids: 1 });
    expect(await rollupsOf(event.orgId)).toEqual(sums([event]));
    expect(ingester.counts).toMatchObject({ stored: 0, duplicates: 3 });
  });

  it("takes over a dead consumer's entries, stored or not, and adds nothing twice", async () => {
    const stream = newStream();
    const orgId = randomUUID();
    const events = Array.from({ length: 50 }, (_, i) => usageEvent({ orgId, promptTokens: i }));
    await redis.xgroup('CREATE', stream, consumerGroup, '0', 'MKSTREAM');
    for (const e of events) await redis.xadd(stream, '*', 'event', JSON.stringify(e));
    // A consumer reads everything, commits the first 30 to the ledger, and dies before XACK.
    await redis.xreadgroup('GROUP', consumerGroup, 'ghost', 'COUNT', 100, 'STREAMS', stream, '>');
    await new UsageLedger(db).append(events.slice(0, 30));
    expect(await ledgerCount(admin, [orgId])).toEqual({ rows: 30, ids: 30 });

    const ingester = await startIngester(stream);
    await drained(stream);

    expect(await ledgerCount(admin, [orgId])).toEqual({ rows: 50, ids: 50 });
    expect(await rollupsOf(orgId)).toEqual(sums(events));
    expect(await rollupDifferences(admin, [orgId])).toBe(0);
    expect(ingester.counts).toMatchObject({ stored: 20, duplicates: 30 });
  });

  it('creates the partition of a month it has not seen', async () => {
    const month = 'usage_events_2003_07';
    const exists = async () =>
      (await admin.query<{ r: string | null }>('SELECT to_regclass($1)::text AS r', [month])).rows[0]?.r;
    expect(await exists()).toBeNull();
    const event = usageEvent({ occurredAt: '2003-07-31T23:59:59.999Z' });
    const stream = newStream();
    await createUsageRecorder({ redis, db, logger, stream }).record(event);
    await startIngester(stream);
    await drained(stream);

    expect(await exists()).toBe(month);
    const { rows: security } = await admin.query(
      'SELECT relrowsecurity AS enabled, relforcerowsecurity AS forced FROM pg_class WHERE oid = $1::regclass',
      [month],
    );
    expect(security).toEqual([{ enabled: true, forced: true }]);
    const { rows } = await admin.query(`SELECT id FROM ${month} WHERE org_id = $1`, [event.orgId]);
    expect(rows).toEqual([{ id: event.id }]);
    expect(await rollupsOf(event.orgId)).toEqual(sums([event]));
  });

  it('moves malformed entries to the dead letters, acknowledged, and stores the good ones', async () => {
    const stream = newStream();
    const good = usageEvent();
    await redis.xadd(stream, '*', 'event', '{"id": "cut off');
    await redis.xadd(stream, '*', 'payload', JSON.stringify(good));
    await redis.xadd(stream, '*', 'event', JSON.stringify({ ...usageEvent(), promptTokens: -5 }));
    await redis.xadd(
      stream,
      '*',
      'event',
      JSON.stringify(usageEvent({ occurredAt: '2999-01-01T00:00:00Z' })),
    );
    await redis.xadd(stream, '*', 'event', JSON.stringify(usageEvent({ model: 'nul\u0000byte' })));
    await redis.xadd(stream, '*', 'event', JSON.stringify(good));
    const ingester = await startIngester(stream);
    await drained(stream);

    const dead = (await redis.xrange(deadLetterStream(stream), '-', '+')) as [string, string[]][];
    const reasons = dead.map(([, fields]) => fields[fields.indexOf('reason') + 1]);
    expect(reasons).toEqual([
      'event is not JSON',
      'no event field',
      expect.stringContaining('/promptTokens must be >= 0'),
      expect.stringContaining('/occurredAt 2999-01-01T00:00:00Z is outside'),
      expect.stringContaining('/model must match pattern'),
    ]);
    expect(dead[1]?.[1]).toContain(JSON.stringify(['payload', JSON.stringify(good)]));
    expect(await ledgerCount(admin, [good.orgId])).toEqual({ rows: 1, ids: 1 });
    expect(ingester.counts).toMatchObject({ stored: 1, deadLettered: 5 });
  });

  it('recreates its consumer group when the stream vanished (Redis restarted without its data)', async () => {
    const stream = newStream();
    await startIngester(stream);
    await redis.del(stream);
    const event = usageEvent();
    await createUsageRecorder({ redis, db, logger, stream }).record(event);
    await drained(stream);
    expect(await ledgerCount(admin, [event.orgId])).toEqual({ rows: 1, ids: 1 });
  });

  it('stops after the batch in hand, leaving the rest of the stream for the next consumer', async () => {
    const stream = newStream();
    const ingester = await startIngester(stream);
    await ingester.stop();
    const event = usageEvent();
    await createUsageRecorder({ redis, db, logger, stream }).record(event);
    await new Promise((r) => setTimeout(r, 300));
    expect(await redis.xlen(stream)).toBe(1);
    await startIngester(stream);
    await drained(stream);
    expect(await ledgerCount(admin, [event.orgId])).toEqual({ rows: 1, ids: 1 });
  });
});

describe('usage recorder', () => {
  it('without Redis writes the event straight to the ledger and the rollups', async () => {
    const recorder = createUsageRecorder({ redis: undefined, db, logger });
    const event = usageEvent({ status: 429, completionTokens: 0 });
    await recorder.record(event);
    await recorder.record(event);
    await recorder.close();
    expect(await ledgerCount(admin, [event.orgId])).toEqual({ rows: 1, ids: 1 });
    expect(await rollupsOf(event.orgId)).toEqual(sums([event]));
  });

  it('writes to the ledger when the stream cannot take the event', async () => {
    const away = new Redis(`redis://127.0.0.1:${await freePort()}`, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    away.on('error', () => undefined); // refused connections are the point here
    clients.push(away);
    const recorder = createUsageRecorder({ redis: away, db, logger });
    const event = usageEvent();
    await recorder.record(event);
    await recorder.flush();
    expect(await ledgerCount(admin, [event.orgId])).toEqual({ rows: 1, ids: 1 });
  });
  it('without Redis buffers events off the request path and writes every one on a clean close', async () => {
    // No interval can pass during the test: only a full batch or the close writes.
    const recorder = createUsageRecorder({
      redis: undefined,
      db,
      logger,
      ledgerBatchSize: 1_000,
      flushIntervalMs: 600_000,
    });
    const orgIds = [randomUUID(), randomUUID(), randomUUID()];
    const events = Array.from({ length: 250 }, (_, i) =>
      usageEvent({ orgId: orgIds[i % 3]!, promptTokens: i }),
    );
    await Promise.all(events.map((e) => recorder.record(e)));
    expect(await ledgerCount(admin, orgIds)).toEqual({ rows: 0, ids: 0 });

    await recorder.close();
    expect(await ledgerCount(admin, orgIds)).toEqual({ rows: 250, ids: 250 });
    expect(await rollupDifferences(admin, orgIds)).toBe(0);
  });

  it('without Redis writes each full batch at once, without waiting for the interval', async () => {
    const recorder = createUsageRecorder({
      redis: undefined,
      db,
      logger,
      ledgerBatchSize: 10,
      flushIntervalMs: 600_000,
    });
    const orgId = randomUUID();
    const events = Array.from({ length: 15 }, (_, i) => usageEvent({ orgId, promptTokens: i }));
    // A full batch is written with neither the interval nor a close.
    await Promise.all(events.slice(0, 10).map((e) => recorder.record(e)));
    await waitUntil(
      'the full batch to be written',
      async () => (await ledgerCount(admin, [orgId])).rows === 10,
    );
    await Promise.all(events.slice(10).map((e) => recorder.record(e)));
    await recorder.close();
    expect(await ledgerCount(admin, [orgId])).toEqual({ rows: 15, ids: 15 });
    expect(await rollupsOf(orgId)).toEqual(sums(events));
  });

  it('refuses events once the buffer is full of events the ledger would not take', async () => {
    const nowhere = createPool({
      url: `postgres://nobody@127.0.0.1:${await freePort()}/none`,
      size: 1,
      applicationName: 'metering-test',
    });
    const recorder = createUsageRecorder({
      redis: undefined,
      db: createDb(nowhere),
      logger,
      flushIntervalMs: 600_000,
      maxBuffered: 2,
    });
    await recorder.record(usageEvent());
    await recorder.record(usageEvent());
    await expect(recorder.record(usageEvent())).rejects.toThrow(/usage buffer full/);
    await expect(recorder.flush()).rejects.toThrow();
    // The close gives up on what the ledger refuses (logged), rather than holding the shutdown.
    await recorder.close();
    await nowhere.end();
  });
});

describe('usage tables under row-level security', () => {
  it("show an org's scope only its own events and rollups, and refuse another org's rows", async () => {
    const [mine, theirs] = [usageEvent(), usageEvent()];
    await new UsageLedger(db).append([mine, theirs]);
    const seen = await withTenant(db, mine.orgId, (tx) =>
      tx.select({ id: usageEvents.id }).from(usageEvents),
    );
    expect(seen.map((r) => r.id)).toEqual([mine.id]);
    expect(
      await dbError(
        withTenant(db, mine.orgId, (tx) =>
          tx
            .insert(usageEvents)
            .values({ ...theirs, id: randomUUID(), occurredAt: new Date(theirs.occurredAt) }),
        ),
      ),
    ).toMatch(/row-level security/);
  });
});
