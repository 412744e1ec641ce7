// The capacity loop of one serving pool (`capacity/<pool>`): every interval it samples the pool's
// metrics, decides with core/capacity.ts, and applies the replicas through the cluster's writer
// (`serve-cluster/<cluster>`), or only records the recommendation in dry-run. Operators pause and
// resume it with signals, change its settings with a validated update, and read its last decisions
// with a query. It continues as new when its history grows, carrying its state.
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { CapacityActivities } from '../activities/capacity/index.js';
import {
  capacitySettingsRejection,
  decide,
  defaultCapacitySettings,
  retainObservations,
  type CapacityObservation,
  type CapacitySettings,
} from '../core/capacity.js';
import { activityPresets } from '../temporal.config.js';
import {
  capacityQueries,
  capacitySignals,
  capacityUpdates,
  type CapacityInput,
  type CapacityLoopState,
  type CapacityRecord,
} from './definitions.js';

const sample = proxyActivities<CapacityActivities>(activityPresets.sample);
const durable = proxyActivities<CapacityActivities>(activityPresets.durable);

/** Changes, recommendations and failures kept for the query (and carried across continue-as-new). */
const keptDecisions = 40;

const rejected = (message: string) =>
  ApplicationFailure.create({ type: 'VALIDATION', nonRetryable: true, message });

const failureMessage = (err: ActivityFailure) => err.cause?.message ?? err.message;

export async function capacity(input: CapacityInput): Promise<void> {
  const { pool } = input;
  const { workflowId } = workflowInfo();
  let settings: CapacitySettings = input.settings;
  const state: CapacityLoopState = input.state ?? {
    current: null,
    lastChangeAt: null,
    paused: false,
    observations: [],
    last: null,
    decisions: [],
    changes: 0,
  };
  // Set by a message: decide again now instead of at the end of the interval.
  let woken = false;

  setHandler(capacityQueries.state, () => ({ pool, settings, state }));
  setHandler(capacitySignals.pause, ({ reason }) => {
    log.info('capacity loop paused', { pool: pool.pool, reason });
    state.paused = true;
    woken = true;
  });
  setHandler(capacitySignals.resume, () => {
    log.info('capacity loop resumed', { pool: pool.pool });
    state.paused = false;
    woken = true;
  });
  setHandler(
    capacityUpdates.configure,
    (patch) => {
      settings = { ...settings, ...patch };
      woken = true;
      return settings;
    },
    {
      validator: (patch: Partial<CapacitySettings>) => {
        const unknown = Object.keys(patch).filter((key) => !(key in defaultCapacitySettings));
        if (unknown.length > 0) throw rejected(`unknown settings: ${unknown.join(', ')}`);
        const reason = capacitySettingsRejection({ ...settings, ...patch });
        if (reason !== null) throw rejected(reason);
      },
    },
  );

  function remember(record: CapacityRecord): void {
    state.last = record;
    if (record.outcome === 'held') return;
    state.decisions = [...state.decisions, record].slice(-keptDecisions);
    log.info('capacity decision', { pool: pool.pool, ...record });
  }

  async function observe(): Promise<CapacityObservation | null> {
    try {
      const observed = await sample.observePool(pool);
      // Workflow time, not the activity's clock: the windows are measured in the loop's time.
      return { ...observed, at: Date.now() };
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      log.warn('capacity sample failed', { pool: pool.pool, error: failureMessage(err) });
      return null;
    }
  }

  async function tick(): Promise<void> {
    const observation = await observe();
    const now = Date.now();
    state.observations = retainObservations(
      observation ? [...state.observations, observation] : state.observations,
      settings,
      now,
    );
    // Until the loop first sets them, and always in dry-run, the replicas are what Serve runs.
    if (observation && (state.current === null || settings.dryRun)) state.current = observation.replicas;
    if (state.current === null) return;

    const decision = decide({
      settings,
      current: state.current,
      lastChangeAt: state.lastChangeAt,
      observations: state.observations,
      now,
    });
    if (decision.desired === decision.current) return remember({ ...decision, outcome: 'held' });
    if (settings.dryRun) return remember({ ...decision, outcome: 'recommended' });
    try {
      await durable.setPoolReplicas({
        cluster: pool.cluster,
        application: pool.application,
        replicas: decision.desired,
        // The decision's time is unique to this tick and the same on replay.
        idempotencyKey: `${workflowId}/replicas/${now}`,
      });
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      return remember({ ...decision, outcome: 'failed', error: failureMessage(err) });
    }
    state.current = decision.desired;
    state.lastChangeAt = now;
    state.changes += 1;
    remember({ ...decision, outcome: 'applied' });
  }

  for (;;) {
    if (!state.paused) await tick();
    woken = false;
    await condition(() => woken, settings.intervalMs);

    const info = workflowInfo();
    if (
      info.continueAsNewSuggested ||
      (input.historyLimit !== undefined && info.historyLength >= input.historyLimit)
    ) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof capacity>({
        pool,
        settings,
        state,
        ...(input.historyLimit !== undefined && { historyLimit: input.historyLimit }),
      });
    }
  }
}
