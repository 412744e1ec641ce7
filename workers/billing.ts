// The billing worker process (task queue vlinders-billing): the hourly billing runs, their Stripe
// meter events, quota notices and reconciliation gauges. Telemetry first, so the modules it
// instruments load after it.
import { loadConfigOrExit } from '../runtime/config.js';
import { startTelemetry } from '../runtime/telemetry.js';

const config = loadConfigOrExit();
const serviceName = 'vlinders-worker-billing';
const telemetry = startTelemetry(config, serviceName, { prometheus: false });

const { createLogger } = await import('../runtime/logger.js');
const { installWorkerRuntime } = await import('../runtime/worker-runtime.js');
const { runBillingWorker } = await import('./bootstrap.js');

const logger = createLogger(config.LOG_LEVEL, config.OTEL_SERVICE_NAME ?? serviceName);
installWorkerRuntime(config);
try {
  await runBillingWorker(config, logger);
} catch (err) {
  logger.fatal({ err }, 'worker failed');
  process.exitCode = 1;
} finally {
  await telemetry.shutdown();
}
