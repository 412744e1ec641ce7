// The gateway's end of metering: one usage event per request, durable before the request is done.
// With Redis, `record` appends the event to a stream (XADD, resolved once Redis acknowledged it; as
// durable as Redis is configured to be, see README "Metering") and the usage-ingest worker moves it
// to Postgres in batches. The stream is never trimmed by length: entries leave it only once stored.
// Without Redis (the embedded single instance), or when an append fails, the event goes straight to
// the ledger through the same code the worker uses; the ledger keeps each id once, so an event that
// reached both ways (Redis applied an append whose answer was lost) is still counted once.
import type { Redis } from 'ioredis';
import type { BaseLogger } from 'pino';
import { usageEventField, type UsageEvent } from '../../../core/usage-event.js';
import type { Db } from '../../../db/client.js';
import { UsageLedger } from '../../../db/usage-ledger.js';

export type { UsageEvent } from '../../../core/usage-event.js';

export const defaultUsageStream = 'vlinders:usage';
/** How long the stream is skipped after a failed append. */
const streamRetryMs = 1_000;

export interface UsageRecorder {
  /** Resolves once the event is durable (in the stream or in the ledger); rejects if neither took it. */
  record(event: UsageEvent): Promise<void>;
  /** Waits for the records in flight. */
  close(): Promise<void>;
}

export interface UsageRecorderOptions {
  redis: Redis | undefined;
  db: Db;
  logger: Pick<BaseLogger, 'warn'>;
  /** The stream the usage-ingest worker reads (USAGE_STREAM). */
  stream?: string;
}

export function createUsageRecorder(options: UsageRecorderOptions): UsageRecorder {
  const { redis, logger } = options;
  const stream = options.stream ?? defaultUsageStream;
  const ledger = new UsageLedger(options.db);
  const inFlight = new Set<Promise<void>>();
  // After a failed append the stream is skipped for a while: requests meanwhile do not each wait
  // for Redis to fail them again.
  let streamSkippedUntil = 0;

  async function append(event: UsageEvent): Promise<void> {
    if (!redis || Date.now() < streamSkippedUntil) {
      await ledger.append([event]);
      return;
    }
    try {
      await redis.xadd(stream, '*', usageEventField, JSON.stringify(event));
    } catch (err) {
      if (Date.now() >= streamSkippedUntil)
        logger.warn({ err, eventId: event.id }, 'usage stream unavailable; writing events to the ledger');
      streamSkippedUntil = Date.now() + streamRetryMs;
      await ledger.append([event]);
    }
  }

  return {
    record(event) {
      const pending = append(event).finally(() => inFlight.delete(pending));
      inFlight.add(pending);
      return pending;
    },
    async close() {
      await Promise.allSettled([...inFlight]);
    },
  };
}
