// The gateway's end of metering: one usage event per request.
// With Redis, `record` appends the event to a stream (XADD, resolved once Redis acknowledged it; as
// durable as Redis is configured to be, see README "Metering") and the usage-ingest worker moves it
// to Postgres in batches. The stream is never trimmed by length: entries leave it only once stored.
// Without Redis (the embedded single instance), or when an append fails, the event goes to an
// in-process buffer that is written to the ledger off the request path, in batches (when a batch is
// full or `flushIntervalMs` after the first buffered event), through the same code the worker uses,
// and completely on close. A process killed meanwhile loses what was buffered and not yet written:
// at most the events of one interval, or of the batches in hand (docs/metering.md). The ledger keeps
// each id once, so an event that reached both ways (Redis applied an append whose answer was lost)
// is still counted once.
import type { Redis } from 'ioredis';
import type { BaseLogger } from 'pino';
import { usageEventField, type UsageEvent } from '../../../core/usage-event.js';
import type { Db } from '../../../db/client.js';
import { UsageLedger } from '../../../db/usage-ledger.js';

export type { UsageEvent } from '../../../core/usage-event.js';

export const defaultUsageStream = 'vlinders:usage';
/** How long the stream is skipped after a failed append. */
const streamRetryMs = 1_000;
/** How long a failed ledger write waits before the buffered events are tried again. */
const ledgerRetryMs = 1_000;

export interface UsageRecorder {
  /**
   * Resolves once the event is in the stream, or in the buffer for the ledger; rejects if neither
   * took it (the buffer is full because the ledger has been failing).
   */
  record(event: UsageEvent): Promise<void>;
  /**
   * The event as an entry of the stream, for a caller that appends it together with other Redis
   * work in one round trip (the limit settlement); undefined while the stream is not in use.
   */
  streamEntry(event: UsageEvent): { stream: string; field: string; value: string } | undefined;
  /** Writes every buffered event to the ledger; rejects if the ledger refused a batch (kept for a retry). */
  flush(): Promise<void>;
  /** Waits for the records in flight, then writes everything buffered. */
  close(): Promise<void>;
}

export interface UsageRecorderOptions {
  redis: Redis | undefined;
  db: Db;
  logger: Pick<BaseLogger, 'warn' | 'error'>;
  /** The stream the usage-ingest worker reads (USAGE_STREAM). */
  stream?: string;
  /** Events per ledger write; a full batch is written at once. */
  ledgerBatchSize?: number;
  /** The longest a buffered event waits before it is written. */
  flushIntervalMs?: number;
  /** Buffered events beyond which `record` rejects (the ledger failing for a long time). */
  maxBuffered?: number;
}

export function createUsageRecorder(options: UsageRecorderOptions): UsageRecorder {
  const { redis, logger } = options;
  const stream = options.stream ?? defaultUsageStream;
  const batchSize = options.ledgerBatchSize ?? 1_000;
  const flushIntervalMs = options.flushIntervalMs ?? 200;
  const maxBuffered = options.maxBuffered ?? 100_000;
  const ledger = new UsageLedger(options.db);
  const inFlight = new Set<Promise<void>>();
  const buffer: UsageEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> | undefined;
  // After a refused write, full batches wait for the retry too: requests do not each try the
  // database again while it fails.
  let ledgerRetryAt = 0;
  // After a failed append the stream is skipped for a while: requests meanwhile do not each wait
  // for Redis to fail them again.
  let streamSkippedUntil = 0;

  function flushIn(ms: number): void {
    timer ??= setTimeout(() => {
      timer = undefined;
      // A failure is logged and retried by write itself.
      flush().catch(() => undefined);
    }, ms);
  }

  function buffered(event: UsageEvent): void {
    if (buffer.length >= maxBuffered) throw new Error('usage buffer full: the ledger is not taking events');
    buffer.push(event);
    // The timer too for a full batch: a flush that joins a write just ending may leave it behind.
    flushIn(flushIntervalMs);
    if (buffer.length >= batchSize && Date.now() >= ledgerRetryAt) flush().catch(() => undefined);
  }

  /** Writes batches until the buffer is empty; events of a refused batch go back to its front. */
  async function write(): Promise<void> {
    clearTimeout(timer);
    timer = undefined;
    while (buffer.length > 0) {
      const batch = buffer.splice(0, batchSize);
      try {
        await ledger.append(batch);
      } catch (err) {
        buffer.unshift(...batch);
        ledgerRetryAt = Date.now() + ledgerRetryMs;
        logger.error({ err, buffered: buffer.length }, 'usage events not written to the ledger; retrying');
        flushIn(ledgerRetryMs);
        throw err;
      }
    }
  }

  // One writer at a time: a flush asked for while one runs shares it (its loop takes the events
  // buffered meanwhile too).
  function flush(): Promise<void> {
    writing ??= write().finally(() => {
      writing = undefined;
    });
    return writing;
  }

  async function append(event: UsageEvent): Promise<void> {
    if (!redis || Date.now() < streamSkippedUntil) {
      buffered(event);
      return;
    }
    try {
      await redis.xadd(stream, '*', usageEventField, JSON.stringify(event));
    } catch (err) {
      if (Date.now() >= streamSkippedUntil)
        logger.warn({ err, eventId: event.id }, 'usage stream unavailable; writing events to the ledger');
      streamSkippedUntil = Date.now() + streamRetryMs;
      buffered(event);
    }
  }

  return {
    record(event) {
      const pending = append(event).finally(() => inFlight.delete(pending));
      inFlight.add(pending);
      return pending;
    },
    streamEntry(event) {
      if (!redis || Date.now() < streamSkippedUntil) return undefined;
      return { stream, field: usageEventField, value: JSON.stringify(event) };
    },
    flush,
    async close() {
      await Promise.allSettled([...inFlight]);
      // A write that started before the last events were buffered may have ended without them.
      while (buffer.length > 0 || writing) {
        try {
          await flush();
        } catch {
          logger.error({ lost: buffer.length }, 'usage events lost on close: the ledger refused them');
          buffer.length = 0;
        }
      }
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
