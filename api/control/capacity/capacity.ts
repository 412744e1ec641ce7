// The capacity loops, one workflow per pool (`capacity/<pool>`, on the serving task queue): found
// through Temporal's visibility (the pools exist only as their workflows), read with the `state`
// query, paused and resumed with the loop's signals and reconfigured with its validated update
// `configure` (a refusal is a 400 with the loop's reason). Controls are audited as platform rows.
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { Static } from 'typebox';
import type { Db } from '../../../db/client.js';
import { workflowIds } from '../../../temporal.config.js';
import {
  capacityQueries,
  capacitySignals,
  capacityUpdates,
  workflowTypes,
  type CapacityRecord,
  type CapacitySettings,
  type CapacityView,
} from '../../../workflows/definitions.js';
import { recordAudit, type UserActor } from '../../audit.js';
import { AppError } from '../../errors.js';
import type { CapacityPool } from './schemas.js';

type PoolView = Static<typeof CapacityPool>;
type DecisionView = PoolView['decisions'][number];

interface Deps {
  db: Db;
  temporal: Client;
}

/** How long a read or a control waits for the loop (the serving worker must answer). */
const answerDeadlineMs = 5_000;
const updateDeadlineMs = 15_000;
const prefix = workflowIds.capacity('');

interface Execution {
  workflowId: string;
  status: string;
  startTime: Date;
}

function decision(record: CapacityRecord): DecisionView {
  return {
    at: new Date(record.at).toISOString(),
    current: record.current,
    desired: record.desired,
    reason: record.reason,
    detail: record.detail,
    demand: record.demand,
    outcome: record.outcome,
    error: record.error ?? null,
  };
}

function view(execution: Execution, state: CapacityView | null, stateError: string | null): PoolView {
  const loop = state?.state;
  const recommendation = loop?.decisions.findLast((d) => d.outcome === 'recommended');
  return {
    pool: execution.workflowId.slice(prefix.length),
    workflowId: execution.workflowId,
    running: execution.status === 'RUNNING',
    workflowStatus: execution.status,
    startedAt: execution.startTime.toISOString(),
    stateError,
    cluster: state?.pool.cluster ?? null,
    application: state?.pool.application ?? null,
    model: state?.pool.model ?? null,
    mode: state ? (state.settings.dryRun ? 'dry-run' : 'live') : null,
    paused: loop?.paused ?? null,
    replicas: loop?.current ?? null,
    desired: loop?.last?.desired ?? null,
    recommendation: recommendation ? decision(recommendation) : null,
    lastDecision: loop?.last ? decision(loop.last) : null,
    decisions: loop?.decisions.map(decision) ?? [],
    changes: loop?.changes ?? null,
    settings: state?.settings ?? null,
  };
}

function queryState(temporal: Client, workflowId: string): Promise<CapacityView> {
  return temporal.withDeadline(Date.now() + answerDeadlineMs, () =>
    temporal.workflow.getHandle(workflowId).query(capacityQueries.state),
  );
}

/** The pool's view; a running loop that does not answer its query is shown without its state. */
async function read(temporal: Client, execution: Execution): Promise<PoolView> {
  if (execution.status !== 'RUNNING') return view(execution, null, null);
  try {
    return view(execution, await queryState(temporal, execution.workflowId), null);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return view({ ...execution, status: 'UNKNOWN' }, null, null);
    const reason = err instanceof Error ? err.message : String(err);
    return view(execution, null, `The loop did not answer its state query: ${reason}`);
  }
}

function executionOf(description: WorkflowExecutionDescription): Execution {
  return {
    workflowId: description.workflowId,
    status: description.status.name,
    startTime: description.startTime,
  };
}

async function describe(temporal: Client, pool: string): Promise<Execution> {
  try {
    return executionOf(await temporal.workflow.getHandle(workflowIds.capacity(pool)).describe());
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new AppError('NOT_FOUND', `No capacity loop was started for pool ${pool}.`);
    throw err;
  }
}

/** Every pool's loop: its newest run (a continued-as-new run is not one), by pool name. */
export async function listPools(temporal: Client): Promise<PoolView[]> {
  const newest = new Map<string, Execution>();
  const query = `WorkflowType = '${workflowTypes.capacity}' AND ExecutionStatus != 'ContinuedAsNew'`;
  for await (const run of temporal.workflow.list({ query })) {
    if (!run.workflowId.startsWith(prefix)) continue;
    const known = newest.get(run.workflowId);
    if (!known || known.startTime < run.startTime)
      newest.set(run.workflowId, {
        workflowId: run.workflowId,
        status: run.status.name,
        startTime: run.startTime,
      });
  }
  const executions = [...newest.values()].sort((a, b) => a.workflowId.localeCompare(b.workflowId));
  return Promise.all(executions.map((execution) => read(temporal, execution)));
}

export async function getPool(temporal: Client, pool: string): Promise<PoolView> {
  return read(temporal, await describe(temporal, pool));
}

/** The running loop's state; a stopped loop takes no control (409). */
async function runningState(
  temporal: Client,
  pool: string,
): Promise<{ execution: Execution; state: CapacityView }> {
  const execution = await describe(temporal, pool);
  if (execution.status !== 'RUNNING')
    throw new AppError('CONFLICT', `The capacity loop of pool ${pool} is not running (${execution.status}).`);
  try {
    return { execution, state: await queryState(temporal, execution.workflowId) };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new AppError('CONFLICT', `The capacity loop of pool ${pool} ended.`);
    throw new AppError('UNAVAILABLE', 'The capacity loop did not answer; try again.');
  }
}

async function audit(
  db: Db,
  actor: UserActor,
  action: string,
  pool: string,
  details: Record<string, unknown>,
) {
  await db.transaction((tx) =>
    recordAudit(tx, actor, { orgId: null, action, targetType: 'capacity_pool', targetId: pool, details }),
  );
}

/**
 * Pauses or resumes the loop (signals: the loop cannot refuse them, so a loop already in that state
 * is a 409 here). Answers the state once the loop has taken the signal (queries see earlier signals).
 */
export async function setPaused(
  deps: Deps,
  actor: UserActor,
  pool: string,
  control: { paused: true; reason: string } | { paused: false; reason?: string | undefined },
): Promise<PoolView> {
  const { execution, state } = await runningState(deps.temporal, pool);
  if (state.state.paused === control.paused)
    throw new AppError(
      'CONFLICT',
      `The capacity loop of pool ${pool} is ${control.paused ? 'already paused' : 'not paused'}.`,
    );
  const handle = deps.temporal.workflow.getHandle(execution.workflowId);
  if (control.paused) await handle.signal(capacitySignals.pause, { reason: control.reason });
  else await handle.signal(capacitySignals.resume);
  await audit(deps.db, actor, control.paused ? 'capacity.pause' : 'capacity.resume', pool, {
    reason: control.reason ?? null,
  });
  return read(deps.temporal, execution);
}

export async function configurePool(
  deps: Deps,
  actor: UserActor,
  pool: string,
  patch: Partial<CapacitySettings>,
): Promise<PoolView> {
  const { execution } = await runningState(deps.temporal, pool);
  const handle = deps.temporal.workflow.getHandle(execution.workflowId);
  try {
    await deps.temporal.withDeadline(Date.now() + updateDeadlineMs, () =>
      handle.executeUpdate(capacityUpdates.configure, { args: [patch] }),
    );
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError)
      throw new AppError('VALIDATION', err.cause?.message ?? 'The capacity loop refused the settings.');
    if (err instanceof WorkflowNotFoundError)
      throw new AppError('CONFLICT', `The capacity loop of pool ${pool} ended.`);
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError)
      throw new AppError('UNAVAILABLE', 'The capacity loop did not answer in time; try again.');
    throw err;
  }
  await audit(deps.db, actor, 'capacity.configure', pool, { settings: patch });
  return read(deps.temporal, execution);
}
