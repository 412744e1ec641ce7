// The usage-ingest worker's loop: reads usage events from the Redis stream as a consumer group,
// stores them in the ledger (db/usage-ledger.ts: one transaction per batch, each event once, rollups
// from the rows actually inserted), then acknowledges and deletes the entries. A crash anywhere
// loses nothing and counts nothing twice: entries stay pending until stored and acknowledged; the
// pending entries of a dead consumer are taken over (XAUTOCLAIM) once idle for `claimIdleMs`, and
// storing them again inserts nothing. A malformed entry is copied to `<stream>:dead` with the
// reason and acknowledged, so it never blocks the stream.
import type { ChainableCommander, Redis } from 'ioredis';
import type { BaseLogger } from 'pino';
import { parseUsageEvent, usageEventField, type UsageEvent } from '../../core/usage-event.js';
import type { Db } from '../../db/client.js';
import { UsageLedger } from '../../db/usage-ledger.js';

export const consumerGroup = 'usage-ingest';

export function deadLetterStream(stream: string): string {
  return `${stream}:dead`;
}

export interface UsageIngesterOptions {
  /** A connection of its own: the blocking reads hold it. */
  redis: Redis;
  db: Db;
  logger: Pick<BaseLogger, 'debug' | 'info' | 'warn' | 'error'>;
  stream: string;
  /** This process's name in the consumer group. */
  consumer: string;
  batchSize: number;
  claimIdleMs: number;
  /** How long one read waits for new entries; bounds how long stop() waits. */
  blockMs?: number;
}

/** [entry id, [field, value, …]] as Redis returns stream entries (fields null if deleted meanwhile). */
type Entry = [id: string, fields: string[] | null];

const retryDelayMs = 1000;

function eventOf(fields: string[] | null): UsageEvent | { invalid: string } {
  const index = fields ? fields.indexOf(usageEventField) : -1;
  const json = index >= 0 && index % 2 === 0 ? fields?.[index + 1] : undefined;
  if (json === undefined) return { invalid: `no ${usageEventField} field` };
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return { invalid: `${usageEventField} is not JSON` };
  }
  return parseUsageEvent(value);
}

export class UsageIngester {
  private readonly ledger: UsageLedger;
  private readonly blockMs: number;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private nextClaimAt = 0;
  /** Events stored (new to the ledger) and entries set aside, since start. */
  readonly counts = { stored: 0, duplicates: 0, deadLettered: 0 };

  constructor(private readonly options: UsageIngesterOptions) {
    this.ledger = new UsageLedger(options.db);
    this.blockMs = options.blockMs ?? 2000;
  }

  /** Creates the consumer group (and the stream) if missing and starts the loop, which runs until stop(). */
  async start(): Promise<void> {
    await this.createGroup();
    this.loop = this.run();
  }

  private async createGroup(): Promise<void> {
    const { redis, stream } = this.options;
    try {
      await redis.xgroup('CREATE', stream, consumerGroup, '0', 'MKSTREAM');
    } catch (err) {
      if (!(err instanceof Error && err.message.startsWith('BUSYGROUP'))) throw err;
    }
  }

  /** Finishes the batch in hand, then resolves. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
  }

  private async run(): Promise<void> {
    const { logger, stream, consumer } = this.options;
    logger.info({ stream, consumer, group: consumerGroup }, 'usage ingest started');
    while (!this.stopping) {
      try {
        if (Date.now() >= this.nextClaimAt) {
          await this.claimStale();
          this.nextClaimAt = Date.now() + Math.max(100, this.options.claimIdleMs / 2);
        }
        const entries = await this.readNew();
        if (entries.length > 0) await this.store(entries);
      } catch (err) {
        // Postgres or Redis away: the entries stay pending and are claimed again once idle.
        logger.error({ err }, 'usage ingest batch failed; retrying');
        await new Promise((r) => setTimeout(r, retryDelayMs));
        // A Redis that restarted without its data lost the group too.
        if (err instanceof Error && err.message.startsWith('NOGROUP'))
          await this.createGroup().catch(() => undefined);
      }
    }
    logger.info({ ...this.counts }, 'usage ingest stopped');
  }

  /** Takes over entries delivered to any consumer (a dead one, or this one before a failure) and never acknowledged. */
  private async claimStale(): Promise<void> {
    const { redis, stream, consumer, claimIdleMs, batchSize } = this.options;
    let cursor = '0-0';
    do {
      const [next, entries] = (await redis.xautoclaim(
        stream,
        consumerGroup,
        consumer,
        claimIdleMs,
        cursor,
        'COUNT',
        batchSize,
      )) as [string, Entry[]];
      if (entries.length > 0) await this.store(entries);
      cursor = next;
    } while (cursor !== '0-0' && !this.stopping);
  }

  private async readNew(): Promise<Entry[]> {
    const { redis, stream, consumer, batchSize } = this.options;
    const reply = (await redis.xreadgroup(
      'GROUP',
      consumerGroup,
      consumer,
      'COUNT',
      batchSize,
      'BLOCK',
      this.blockMs,
      'STREAMS',
      stream,
      '>',
    )) as [stream: string, entries: Entry[]][] | null;
    return reply?.[0]?.[1] ?? [];
  }

  /** Stores a batch, then acknowledges and deletes its entries; malformed ones go to the dead letters. */
  private async store(entries: Entry[]): Promise<void> {
    const { redis, stream, logger } = this.options;
    const events: UsageEvent[] = [];
    const stored: string[] = [];
    const dead: { id: string; fields: string[] | null; reason: string }[] = [];
    for (const [id, fields] of entries) {
      const event = eventOf(fields);
      if ('invalid' in event) dead.push({ id, fields, reason: event.invalid });
      else {
        events.push(event);
        stored.push(id);
      }
    }
    if (dead.length > 0) await this.deadLetter(dead);
    if (stored.length === 0) return;
    const inserted = await this.ledger.append(events);
    await exec(
      redis
        .multi()
        .xack(stream, consumerGroup, ...stored)
        .xdel(stream, ...stored),
    );
    this.counts.stored += inserted;
    this.counts.duplicates += events.length - inserted;
    logger.debug({ entries: entries.length, inserted }, 'usage batch stored');
  }

  private async deadLetter(dead: { id: string; fields: string[] | null; reason: string }[]): Promise<void> {
    const { redis, stream, logger } = this.options;
    const ids = dead.map((d) => d.id);
    const multi = redis.multi();
    for (const { id, fields, reason } of dead) {
      logger.warn({ entryId: id, reason }, 'malformed usage entry moved to the dead letters');
      multi.xadd(
        deadLetterStream(stream),
        '*',
        'entryId',
        id,
        'reason',
        reason,
        'fields',
        JSON.stringify(fields),
      );
    }
    await exec(multi.xack(stream, consumerGroup, ...ids).xdel(stream, ...ids));
    this.counts.deadLettered += dead.length;
  }
}

/** Runs a MULTI; Redis reports a failed command inside it in the results, not as a rejection. */
async function exec(multi: ChainableCommander): Promise<void> {
  const results = await multi.exec();
  const failed = results?.find(([err]) => err);
  if (!results || failed) throw failed?.[0] ?? new Error('Redis discarded the transaction');
}
