// Starts a tenant's onboarding workflow. The id is deterministic, so a retried request never
// starts a twin: Temporal refuses a second running workflow with the same id.
import { TypedSearchAttributes, defineSearchAttributeKey } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { searchAttributes, taskQueues, workflowIds } from '../../../temporal.config.js';
import { workflowTypes, type OnboardingInput } from '../../../workflows/definitions.js';

const orgIdKey = defineSearchAttributeKey(searchAttributes.orgId, 'KEYWORD');

/** The search attributes of a tenant's workflows: operators filter by org in the Temporal UI. */
export function tenantSearchAttributes(orgId: string): TypedSearchAttributes {
  return new TypedSearchAttributes([{ key: orgIdKey, value: orgId }]);
}

export async function startOnboarding(temporal: Client, input: OnboardingInput): Promise<string> {
  const handle = await temporal.workflow.start(workflowTypes.onboarding, {
    taskQueue: taskQueues.tenants,
    workflowId: workflowIds.onboarding(input.orgId),
    args: [input],
    typedSearchAttributes: tenantSearchAttributes(input.orgId),
  });
  return handle.workflowId;
}
