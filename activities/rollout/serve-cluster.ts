// What a rollout asks of a Ray Serve cluster: changes through the cluster's one writer, the
// `serve-cluster/<cluster>` workflow (its updates return once the new desired state is PUT), and
// the application's status as Serve reports it. Activities may not import workflows/, so the writer
// and its updates are named here as workflows/definitions.ts defines them (`workflowTypes`,
// `serveClusterUpdates`).
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { ServeApplication } from '../../core/serving.js';
import { taskQueues, workflowIds } from '../../temporal.config.js';
import { ServeApi } from '../ray/serve-api.js';

/** A serving cluster as the registry knows it. */
export interface ClusterRef {
  name: string;
  dashboardUrl: string;
}

export interface ServeCluster {
  putApplication(cluster: ClusterRef, application: ServeApplication): Promise<void>;
  removeApplication(cluster: ClusterRef, application: string): Promise<void>;
  /** NOT_FOUND when Serve does not know the application (yet, or any more). */
  applicationStatus(dashboardUrl: string, application: string): Promise<{ status: string; message: string }>;
}

/** How long a new writer may take to run its first workflow task (it adopts the cluster's applications). */
const writerStartMs = 60_000;

/**
 * The production cluster: the writer workflow through the Temporal client, and Serve's REST API
 * for status. A writer that is not running yet is started first (it begins by adopting what the
 * cluster runs) and asked for the change once its first task has run. The writer itself holds
 * changes until it has adopted; waiting here too keeps an older writer (before that guard) from
 * PUTting a state without the applications it had not adopted yet, which would drop them.
 */
export function createServeCluster(temporal: Client): ServeCluster {
  async function writer(cluster: ClusterRef) {
    const handle = await temporal.workflow.start('serveCluster', {
      workflowId: workflowIds.serveCluster(cluster.name),
      taskQueue: taskQueues.serving,
      args: [{ cluster: cluster.name, dashboardUrl: cluster.dashboardUrl }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    // Started, scheduled, started, completed: its first task has run (and took its adoption turn).
    const deadline = Date.now() + writerStartMs;
    while ((await handle.describe()).historyLength < 4) {
      if (Date.now() > deadline) throw new Error(`serve-cluster/${cluster.name} did not start in time`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return handle;
  }

  const update = async (cluster: ClusterRef, name: 'putApplication' | 'removeApplication', arg: unknown) => {
    const handle = await writer(cluster);
    try {
      await handle.executeUpdate(name, { args: [arg] });
    } catch (err) {
      // The writer refused the change (its validator, or Serve refused the config): asking again
      // cannot help, so the rollout rolls back at once instead of retrying for an hour.
      if (err instanceof WorkflowUpdateFailedError)
        throw ApplicationFailure.create({
          type: 'SERVE_CONFIG_REFUSED',
          nonRetryable: true,
          message: `serve-cluster/${cluster.name} refused ${name}: ${err.cause?.message ?? err.message}`,
        });
      throw err;
    }
  };
  return {
    async putApplication(cluster, application) {
      await update(cluster, 'putApplication', application);
    },
    async removeApplication(cluster, application) {
      await update(cluster, 'removeApplication', { application });
    },
    async applicationStatus(dashboardUrl, application) {
      const app = (await new ServeApi(dashboardUrl).applications()).get(application);
      return app ? { status: app.status, message: app.message } : { status: 'NOT_FOUND', message: '' };
    },
  };
}
