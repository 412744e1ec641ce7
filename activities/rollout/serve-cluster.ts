// What a rollout asks of a Ray Serve cluster: changes through the cluster's one writer, the
// `serve-cluster/<cluster>` workflow (its updates return once the new desired state is PUT), and
// the application's status as Serve reports it. Activities may not import workflows/, so the
// updates are named here as workflows/definitions.ts defines them (`serveClusterUpdates`).
import type { Client } from '@temporalio/client';
import type { ServeApplication } from '../../core/serving.js';
import { workflowIds } from '../../temporal.config.js';
import { ServeApi } from '../ray/serve-api.js';

export interface ServeCluster {
  putApplication(cluster: string, application: ServeApplication): Promise<void>;
  removeApplication(cluster: string, application: string): Promise<void>;
  /** NOT_FOUND when Serve does not know the application (yet, or any more). */
  applicationStatus(dashboardUrl: string, application: string): Promise<{ status: string; message: string }>;
}

/** The production cluster: the writer workflow through the Temporal client, Serve's REST API. */
export function createServeCluster(temporal: Client): ServeCluster {
  const writer = (cluster: string) => temporal.workflow.getHandle(workflowIds.serveCluster(cluster));
  return {
    async putApplication(cluster, application) {
      await writer(cluster).executeUpdate('putApplication', { args: [application] });
    },
    async removeApplication(cluster, application) {
      await writer(cluster).executeUpdate('removeApplication', { args: [{ application }] });
    },
    async applicationStatus(dashboardUrl, application) {
      const app = (await new ServeApi(dashboardUrl).applications()).get(application);
      return app ? { status: app.status, message: app.message } : { status: 'NOT_FOUND', message: '' };
    },
  };
}
