// Rollouts of model versions: started as `rollout/<model>/<version>` workflows on the serving task
// queue, controlled through the workflow's validated updates (the workflow decides what applies:
// approving when nothing waits, pausing a rollout that drains… answer 409 with its reason).
// Every start and control is audited as a platform row.
import type { Client } from '@temporalio/client';
import { WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import { and, eq, inArray, ne } from 'drizzle-orm';
import {
  rolloutOptionProblems,
  rolloutPlan,
  rolloutStartStages,
  type RolloutOptions,
} from '../../../core/rollout.js';
import type { Db } from '../../../db/client.js';
import { modelDeployments, models } from '../../../db/schema/index.js';
import { taskQueues, workflowIds } from '../../../temporal.config.js';
import {
  rolloutQueries,
  rolloutUpdates,
  workflowTypes,
  type RolloutInput,
  type RolloutProgress,
} from '../../../workflows/definitions.js';
import { recordAudit, type UserActor } from '../../audit.js';
import { AppError } from '../../errors.js';

interface Deps {
  db: Db;
  temporal: Client;
}

/** How long a control waits for the workflow (a worker must pick the update up). */
const updateDeadlineMs = 15_000;

async function modelName(db: Db, modelId: string): Promise<string> {
  const [row] = await db.select({ name: models.name }).from(models).where(eq(models.id, modelId));
  if (!row) throw new AppError('NOT_FOUND', 'The model does not exist.');
  return row.name;
}

async function audit(db: Db, actor: UserActor, action: string, details: Record<string, unknown>) {
  await db.transaction((tx) =>
    recordAudit(tx, actor, { orgId: null, action, targetType: 'model_rollout', targetId: null, details }),
  );
}

export async function startRollout(
  deps: Deps,
  actor: UserActor,
  modelId: string,
  body: { version: string } & RolloutOptions,
): Promise<{ workflowId: string; model: string; version: string }> {
  const { version, ...options } = body;
  const problems = rolloutOptionProblems(options);
  if (problems.length > 0) throw new AppError('VALIDATION', problems.join(' '), { problems });
  const model = await modelName(deps.db, modelId);
  const [row] = await deps.db
    .select({ stage: modelDeployments.stage, clusterId: modelDeployments.clusterId })
    .from(modelDeployments)
    .where(and(eq(modelDeployments.modelId, modelId), eq(modelDeployments.version, version)));
  if (!row) throw new AppError('NOT_FOUND', `The model has no version ${version}.`);
  if (row.clusterId === null)
    throw new AppError(
      'VALIDATION',
      `Version ${version} has no Serve application: register it on a cluster (POST …/versions).`,
      { field: 'version' },
    );
  if (!rolloutStartStages.includes(row.stage))
    throw new AppError(
      'CONFLICT',
      `Version ${version} is ${row.stage}; only a registered or failed version rolls out.`,
    );
  const [other] = await deps.db
    .select({ version: modelDeployments.version })
    .from(modelDeployments)
    .where(
      and(
        eq(modelDeployments.modelId, modelId),
        ne(modelDeployments.version, version),
        inArray(modelDeployments.stage, ['deploying', 'canary']),
      ),
    );
  if (other) throw new AppError('CONFLICT', `Version ${other.version} of the model is being rolled out.`);

  const input: RolloutInput = { modelId, model, version, plan: rolloutPlan(options) };
  const workflowId = workflowIds.rollout(model, version);
  try {
    await deps.temporal.workflow.start(workflowTypes.rollout, {
      taskQueue: taskQueues.serving,
      workflowId,
      args: [input],
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError)
      throw new AppError('CONFLICT', `A rollout of version ${version} is running.`);
    throw err;
  }
  await audit(deps.db, actor, 'model.rollout.request', { model, version, workflowId, plan: input.plan });
  return { workflowId, model, version };
}

function notFound(version: string) {
  return new AppError('NOT_FOUND', `No rollout of version ${version} was started.`);
}

export async function rolloutProgress(
  deps: Deps,
  modelId: string,
  version: string,
): Promise<RolloutProgress> {
  const handle = deps.temporal.workflow.getHandle(
    workflowIds.rollout(await modelName(deps.db, modelId), version),
  );
  try {
    return await handle.query(rolloutQueries.progress);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw notFound(version);
    throw err;
  }
}

export type RolloutControl =
  | { action: 'pause'; reason?: string | undefined }
  | { action: 'resume' }
  | { action: 'approve'; step?: number | undefined }
  | { action: 'abort'; reason?: string | undefined };

export async function controlRollout(
  deps: Deps,
  actor: UserActor,
  modelId: string,
  version: string,
  control: RolloutControl,
): Promise<RolloutProgress> {
  const model = await modelName(deps.db, modelId);
  const handle = deps.temporal.workflow.getHandle(workflowIds.rollout(model, version));
  const send = (): Promise<RolloutProgress> => {
    switch (control.action) {
      case 'pause':
        return handle.executeUpdate(rolloutUpdates.pause, {
          args: [{ ...(control.reason && { reason: control.reason }) }],
        });
      case 'resume':
        return handle.executeUpdate(rolloutUpdates.resume);
      case 'approve':
        return handle.executeUpdate(rolloutUpdates.approve, {
          args: [{ ...(control.step !== undefined && { step: control.step }) }],
        });
      case 'abort':
        return handle.executeUpdate(rolloutUpdates.abort, {
          args: [{ ...(control.reason && { reason: control.reason }) }],
        });
    }
  };
  let progress: RolloutProgress;
  try {
    progress = await deps.temporal.withDeadline(Date.now() + updateDeadlineMs, send);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw notFound(version);
    if (err instanceof WorkflowUpdateFailedError)
      throw new AppError('CONFLICT', err.cause?.message ?? 'The rollout refused the change.');
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError)
      throw new AppError('UNAVAILABLE', 'The rollout did not answer in time; try again.');
    throw err;
  }
  await audit(deps.db, actor, `model.rollout.${control.action}`, { model, version, ...control });
  return progress;
}
