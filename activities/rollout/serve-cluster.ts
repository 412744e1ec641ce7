// What a rollout asks of a Ray Serve cluster: changes through the cluster's one writer, the
// `serve-cluster/<cluster>` workflow (its updates return once the new desired state is PUT), and
// the application's status as Serve reports it. Activities may not import workflows/, so the writer
// and its updates are named here as workflows/definitions.ts defines them (`workflowTypes`,
// `serveClusterUpdates`).
import { WithStartWorkflowOperation, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
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

/**
 * The production cluster: the writer workflow through the Temporal client (started if it is not
 * running yet: a new writer first adopts what the cluster runs, so starting it drops nothing), and
 * Serve's REST API for status.
 */
export function createServeCluster(temporal: Client): ServeCluster {
  const update = async (cluster: ClusterRef, name: 'putApplication' | 'removeApplication', arg: unknown) => {
    try {
      await temporal.workflow.executeUpdateWithStart(name, {
        args: [arg],
        startWorkflowOperation: new WithStartWorkflowOperation('serveCluster', {
          workflowId: workflowIds.serveCluster(cluster.name),
          taskQueue: taskQueues.serving,
          args: [{ cluster: cluster.name, dashboardUrl: cluster.dashboardUrl }],
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      });
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
