// Activities that talk to Ray Serve clusters, for the serving workflows. Only the cluster's writer
// (`serve-cluster/<cluster>`) calls applyServeConfig: a PUT replaces the cluster's whole state.
import { ApplicationFailure } from '@temporalio/common';
import type { ServeApplication, ServeConfig } from '../../core/serving.js';
import { ServeApi, ServeApiError, type ServeApplicationStatus } from './serve-api.js';

/** One application as the cluster runs it now. */
export interface LiveServeApplication {
  name: string;
  status: ServeApplicationStatus;
  message: string;
  /** Its config as last deployed (null when Serve did not get it from a config). */
  config: ServeApplication | null;
  /** The names of its deployments. */
  deployments: string[];
}

export function createServeActivities() {
  return {
    /** Makes `config` the cluster's whole desired state (`PUT /api/serve/applications/`). */
    async applyServeConfig(input: { dashboardUrl: string; config: ServeConfig }): Promise<void> {
      try {
        await new ServeApi(input.dashboardUrl).apply(input.config);
      } catch (err) {
        // Serve refused the config itself: sending it again cannot help.
        if (err instanceof ServeApiError && err.status < 500) {
          throw ApplicationFailure.create({
            type: 'SERVE_CONFIG_REFUSED',
            nonRetryable: true,
            message: err.message,
          });
        }
        throw err;
      }
    },

    /** The applications the cluster runs now. */
    async readServeApplications(input: { dashboardUrl: string }): Promise<LiveServeApplication[]> {
      const apps = await new ServeApi(input.dashboardUrl).applications();
      return [...apps.values()].map(({ name, status, message, config, runningReplicas }) => ({
        name,
        status,
        deployments: Object.keys(runningReplicas),
        // Ray's tracebacks can be long; the history keeps the end, where the cause is.
        message: message.slice(-2000),
        config,
      }));
    },
  };
}

export type ServeActivities = ReturnType<typeof createServeActivities>;
