// A tenant's own workflows reached through the Temporal client: what a GDPR erasure takes as its
// port (activities do not import workflow definitions; workers do). It cancels the subscription
// through its lifecycle workflow, so Stripe and the workflow's state agree, and terminates the
// tenant's running workflows before its codec key is destroyed.
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { TenantWorkflows } from '../activities/gdpr/erasure.js';
import { workflowIds } from '../temporal.config.js';
import { subscriptionUpdates } from '../workflows/definitions.js';

export function tenantWorkflowsClient(client: Client): TenantWorkflows {
  return {
    async cancelSubscription(orgId) {
      const lifecycle = client.workflow.getHandle(workflowIds.subscription(orgId));
      try {
        // An update is only sent to a running lifecycle (one that ended has nothing to cancel).
        if ((await lifecycle.describe()).status.name !== 'RUNNING') return false;
        await lifecycle.executeUpdate(subscriptionUpdates.cancel, { args: [{ orgId, atPeriodEnd: false }] });
        return true;
      } catch (err) {
        // No lifecycle (billing off, or it ended), or one that refuses: already cancelled.
        if (err instanceof WorkflowNotFoundError || err instanceof WorkflowUpdateFailedError) return false;
        throw err;
      }
    },

    async terminate(ids, reason) {
      let terminated = 0;
      for (const id of ids) {
        try {
          await client.workflow.getHandle(id).terminate(reason);
          terminated++;
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        }
      }
      return terminated;
    },
  };
}
