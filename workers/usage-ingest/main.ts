// The usage-ingest worker process (npm run usage:ingest): moves usage events from the Redis stream
// into the Postgres ledger and rollups. Any number may run; each is a consumer of the same group.
// SIGTERM/SIGINT finish the batch in hand, then the process exits.
import { hostname } from 'node:os';
import { loadConfigOrExit } from '../../runtime/config.js';
import { startTelemetry } from '../../runtime/telemetry.js';

// Telemetry first, so the modules it instruments (pg, ioredis) load after it.
const config = loadConfigOrExit();
const serviceName = 'vlinders-usage-ingest';
const telemetry = startTelemetry(config, serviceName, { prometheus: false });

const { Redis } = await import('ioredis');
const { createDb, createPool } = await import('../../db/client.js');
const { createLogger } = await import('../../runtime/logger.js');
const { UsageIngester } = await import('./ingest.js');

const logger = createLogger(config.LOG_LEVEL, config.OTEL_SERVICE_NAME ?? serviceName);
if (!config.REDIS_URL) {
  logger.fatal('REDIS_URL is not set: without Redis the API writes usage to Postgres itself');
  process.exit(1);
}
const pool = createPool({
  url: config.DATABASE_URL,
  size: 2,
  appRole: config.DATABASE_APP_ROLE,
  applicationName: serviceName,
  queryTimeoutMs: config.DATABASE_WORKER_TIMEOUT_MS,
  connectTimeoutMs: config.DATABASE_WORKER_TIMEOUT_MS,
  onError: (err) => logger.warn({ err }, 'a database connection failed'),
});
const redis = new Redis(config.REDIS_URL);
const ingester = new UsageIngester({
  redis,
  db: createDb(pool),
  logger,
  stream: config.USAGE_STREAM,
  consumer: `${hostname()}-${process.pid}`,
  batchSize: config.USAGE_INGEST_BATCH_SIZE,
  claimIdleMs: config.USAGE_INGEST_CLAIM_IDLE_MS,
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping usage ingest after the batch in hand');
  await ingester.stop();
  await Promise.allSettled([redis.quit(), pool.end(), telemetry.shutdown()]);
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

await ingester.start();
