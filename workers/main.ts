// The tenants worker process (onboarding, subscriptions, GDPR exports): telemetry first, so
// the modules it instruments load after it, then config, clients and the run loop.
import { loadConfigOrExit } from '../runtime/config.js';
import { startTelemetry } from '../runtime/telemetry.js';

const config = loadConfigOrExit();
const serviceName = 'vlinders-worker-tenants';
const telemetry = startTelemetry(config, serviceName, { prometheus: false });

const { createLogger } = await import('../runtime/logger.js');
const { installWorkerRuntime } = await import('../runtime/worker-runtime.js');
const { runTenantsWorker } = await import('./bootstrap.js');

const logger = createLogger(config.LOG_LEVEL, config.OTEL_SERVICE_NAME ?? serviceName);
// Temporal Core's runtime (its metrics on WORKER_METRICS_PORT) before any connection exists.
installWorkerRuntime(config);
try {
  await runTenantsWorker(config, logger);
} catch (err) {
  logger.fatal({ err }, 'worker failed');
  process.exitCode = 1;
} finally {
  await telemetry.shutdown();
}
