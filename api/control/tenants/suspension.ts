// Operators suspend and resume a tenant through its subscription workflow (`subscription/<orgId>`),
// the one owner of the org's subscription status: its validated updates operatorSuspend and
// operatorResume decide (already suspended, canceled… is a 409 with the workflow's reason), write
// the entitlements the gateway enforces, mail the owners and record the change in the org's audit
// log as the operator's. The API only translates the outcome.
import type { Client } from '@temporalio/client';
import { WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import type { Static } from 'typebox';
import type { Db } from '../../../db/client.js';
import { workflowIds } from '../../../temporal.config.js';
import { subscriptionUpdates } from '../../../workflows/definitions.js';
import type { UserActor } from '../../audit.js';
import { AppError } from '../../errors.js';
import type { Tenant } from './schemas.js';
import { getTenant } from './tenants.js';

interface Deps {
  db: Db;
  temporal: Client;
}

/** How long a request waits for the workflow (a tenants worker must pick the update up and run it). */
const updateDeadlineMs = 15_000;

async function update(
  deps: Deps,
  orgId: string,
  send: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<unknown>,
) {
  // 404 for an org that does not exist, before anything is asked of Temporal.
  await getTenant(deps.db, orgId, new Date());
  const handle = deps.temporal.workflow.getHandle(workflowIds.subscription(orgId));
  try {
    await deps.temporal.withDeadline(Date.now() + updateDeadlineMs, () => send(handle));
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure)
      throw new AppError('CONFLICT', err.cause.message);
    if (err instanceof WorkflowNotFoundError)
      throw new AppError(
        'CONFLICT',
        'This organization has no running subscription lifecycle (no billing account), which owns its status.',
      );
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError)
      throw new AppError('UNAVAILABLE', 'The subscription did not answer in time; try again.');
    if (err instanceof WorkflowUpdateFailedError)
      throw new AppError('UNAVAILABLE', 'The change could not be applied; try again.');
    throw err;
  }
  return getTenant(deps.db, orgId, new Date());
}

export function suspendTenant(
  deps: Deps,
  actor: UserActor,
  orgId: string,
  reason: string,
): Promise<Static<typeof Tenant>> {
  return update(deps, orgId, (handle) =>
    handle.executeUpdate(subscriptionUpdates.operatorSuspend, {
      args: [{ orgId, operatorId: actor.userId, reason }],
    }),
  );
}

export function resumeTenant(
  deps: Deps,
  actor: UserActor,
  orgId: string,
  reason: string | undefined,
): Promise<Static<typeof Tenant>> {
  return update(deps, orgId, (handle) =>
    handle.executeUpdate(subscriptionUpdates.operatorResume, {
      args: [{ orgId, operatorId: actor.userId, ...(reason !== undefined && { reason }) }],
    }),
  );
}
