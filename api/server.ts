// The API process: telemetry first, then config, clients, the app; listens and drains on signals.
import { startTelemetry } from '../runtime/telemetry.js';
import { loadConfigOrExit } from '../runtime/config.js';

const config = loadConfigOrExit();
const telemetry = startTelemetry(config, 'vlinders-api');

const { createDb, createPool } = await import('../db/client.js');
const { createLogger } = await import('../runtime/logger.js');
const { createTemporalClient } = await import('../runtime/temporal-client.js');
const { buildApp } = await import('./app.js');
const { Redis } = await import('ioredis');

const logger = createLogger(config.LOG_LEVEL, config.OTEL_SERVICE_NAME ?? 'vlinders-api');
const pool = createPool({
  url: config.DATABASE_URL,
  size: config.DATABASE_POOL_SIZE,
  appRole: config.DATABASE_APP_ROLE,
  applicationName: 'vlinders-api',
  queryTimeoutMs: config.DATABASE_QUERY_TIMEOUT_MS,
  connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
  onError: (err) => logger.warn({ err }, 'a database connection failed'),
});
const db = createDb(pool);
const redis = config.REDIS_URL
  ? new Redis(config.REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 2 })
  : undefined;
const temporal = await createTemporalClient(config, db);

const { readFile } = await import('node:fs/promises');
const tls =
  config.TLS_CERT_PATH && config.TLS_KEY_PATH
    ? { cert: await readFile(config.TLS_CERT_PATH), key: await readFile(config.TLS_KEY_PATH) }
    : undefined;
const app = await buildApp({ config, pool, db, temporal, redis }, { logger, tls });

let closing = false;
async function shutdown(signal: string) {
  if (closing) return;
  closing = true;
  logger.info({ signal }, 'shutting down: draining in-flight requests');
  const force = setTimeout(() => {
    logger.error('shutdown grace period passed; exiting');
    process.exit(1);
  }, config.SHUTDOWN_GRACE_MS);
  force.unref();
  await app.close();
  await Promise.allSettled([pool.end(), redis?.quit(), temporal.connection.close(), telemetry.shutdown()]);
  logger.info('stopped');
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

await app.listen({ host: config.HOST, port: config.PORT });
