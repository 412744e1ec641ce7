// The Temporal Core runtime of a worker process: its SDK metrics (task slots, poll and schedule
// latencies, workflow and activity outcomes) on a Prometheus endpoint at WORKER_METRICS_PORT, with
// the metrics the process records on the runtime's meter (the billing reconciliation's gauges).
// Install once per process, before the first NativeConnection or Worker is created.
import { Runtime, type Logger } from '@temporalio/worker';
import type { Config } from './config.js';

export interface WorkerRuntimeOptions {
  /** Receives the SDK's log messages (workflow and activity loggers included). */
  logger?: Logger;
}

/** The address the metrics endpoint binds; exported so up.sh and tests print the same URL. */
export function workerMetricsAddress(config: Config): string {
  return `${config.HOST}:${config.WORKER_METRICS_PORT}`;
}

export function installWorkerRuntime(config: Config, options: WorkerRuntimeOptions = {}): Runtime {
  return Runtime.install({
    ...(options.logger ? { logger: options.logger } : {}),
    telemetryOptions: {
      metrics: {
        prometheus: {
          bindAddress: workerMetricsAddress(config),
          // Prometheus naming conventions: counters end in _total, durations are seconds with the unit.
          countersTotalSuffix: true,
          unitSuffix: true,
          useSecondsForDurations: true,
        },
        globalTags: { service: config.OTEL_SERVICE_NAME ?? 'vlinders-worker' },
      },
    },
  });
}
