// Plan changes and cancellations go through the tenant's subscription workflow as Temporal updates:
// the workflow's validator decides (an unknown plan, fewer seats than members) and its handler
// changes Stripe and the entitlements. The API only translates the outcome: a rejection is a 400
// with the workflow's reason, no running workflow a 409, no answer in time a 503.
import type { Client } from '@temporalio/client';
import { WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import { enforcedStatus } from '../../core/billing.js';
import type { Db } from '../../db/client.js';
import { workflowIds } from '../../temporal.config.js';
import {
  subscriptionUpdates,
  type CancelRequest,
  type ChangePlanRequest,
  type SubscriptionState,
} from '../../workflows/definitions.js';
import { AppError } from '../errors.js';
import { memberCount, type BillingAccountView } from './accounts.js';

/** How long a request waits for the workflow (a worker must pick the update up and run it). */
const updateDeadlineMs = 15_000;

/** The workflow's state after the change, in the shape GET …/billing answers. */
function view(state: SubscriptionState): BillingAccountView {
  return {
    orgId: state.orgId,
    plan: state.plan,
    status: enforcedStatus(state.status, Boolean(state.operatorSuspension)),
    seats: state.seats,
    trialEndsAt: state.trialEndsAt,
    currentPeriodStart: state.currentPeriodStart,
    currentPeriodEnd: state.currentPeriodEnd,
    cancelAtPeriodEnd: state.cancelAtPeriodEnd,
  };
}

async function update(
  temporal: Client,
  orgId: string,
  run: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<SubscriptionState>,
): Promise<BillingAccountView> {
  const handle = temporal.workflow.getHandle(workflowIds.subscription(orgId));
  try {
    return view(await temporal.withDeadline(Date.now() + updateDeadlineMs, () => run(handle)));
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure)
      throw new AppError('VALIDATION', err.cause.message);
    if (err instanceof WorkflowNotFoundError)
      throw new AppError(
        'CONFLICT',
        'This organization has no running subscription: subscribe through POST billing/checkout.',
      );
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError)
      throw new AppError('UNAVAILABLE', 'The subscription did not answer in time; try again.');
    if (err instanceof WorkflowUpdateFailedError)
      throw new AppError('UNAVAILABLE', 'The change could not be applied; try again.');
    throw err;
  }
}

export async function changePlan(
  deps: { db: Db; temporal: Client },
  orgId: string,
  change: { plan: string; seats: number },
): Promise<BillingAccountView> {
  const request: ChangePlanRequest = { orgId, ...change, members: await memberCount(deps.db, orgId) };
  return update(deps.temporal, orgId, (handle) =>
    handle.executeUpdate(subscriptionUpdates.changePlan, { args: [request] }),
  );
}

export async function cancelSubscription(
  temporal: Client,
  orgId: string,
  atPeriodEnd: boolean,
): Promise<BillingAccountView> {
  const request: CancelRequest = { orgId, atPeriodEnd };
  return update(temporal, orgId, (handle) =>
    handle.executeUpdate(subscriptionUpdates.cancel, { args: [request] }),
  );
}
