// The serving worker process (task queue vlinders-serving): each Ray Serve cluster's config writer,
// model rollouts and the capacity loops. Telemetry first, so the modules it instruments load after it.
import { loadConfigOrExit } from '../runtime/config.js';
import { startTelemetry } from '../runtime/telemetry.js';

const config = loadConfigOrExit();
const serviceName = 'vlinders-worker-serving';
const telemetry = startTelemetry(config, serviceName, { prometheus: false });

const { createLogger } = await import('../runtime/logger.js');
const { installWorkerRuntime } = await import('../runtime/worker-runtime.js');
const { runServingWorker } = await import('./bootstrap.js');

const logger = createLogger(config.LOG_LEVEL, config.OTEL_SERVICE_NAME ?? serviceName);
installWorkerRuntime(config);
try {
  await runServingWorker(config, logger);
} catch (err) {
  logger.fatal({ err }, 'worker failed');
  process.exitCode = 1;
} finally {
  await telemetry.shutdown();
}
