// A cluster's writer (`serve-cluster/<cluster>`) reached through the Temporal client: what the
// activities that change a cluster take as their port (activities do not import workflow
// definitions; workers do). A change the writer refuses fails for good: retrying is refused again.
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { ServeClusterPort } from '../activities/capacity/index.js';
import { workflowIds } from '../temporal.config.js';
import { serveClusterQueries, serveClusterUpdates } from '../workflows/definitions.js';

export function serveClusterClient(client: Client): ServeClusterPort {
  const writer = (cluster: string) => client.workflow.getHandle(workflowIds.serveCluster(cluster));
  return {
    async dashboardUrl(cluster) {
      return (await writer(cluster).query(serveClusterQueries.state)).dashboardUrl;
    },
    async setReplicas(cluster, setting, updateId) {
      try {
        await writer(cluster).executeUpdate(serveClusterUpdates.setReplicas, { args: [setting], updateId });
      } catch (err) {
        if (!(err instanceof WorkflowUpdateFailedError)) throw err;
        throw ApplicationFailure.create({
          type: 'VALIDATION',
          nonRetryable: true,
          message: `serve-cluster/${cluster} refused ${JSON.stringify(setting)}: ${err.cause?.message ?? err.message}`,
        });
      }
    },
  };
}
