// A model version's rollout (`rollout/<model>/<version>`): deploy it as its own Serve application
// through the cluster's writer, wait until it runs and answers, then shift the gateway's weights
// step by step, each step held while the gates (core/rollout.ts) read the gateway's metrics of the
// new version against the current one. A failing gate, a failed deploy or an operator's abort rolls
// back: the current versions get their weights back and the new application is removed. On success
// the versions it replaces drain (no new requests, in-flight ones finish) and are unloaded.
import { ActivityFailure, condition, log, proxyActivities, setHandler, sleep } from '@temporalio/workflow';
import type { RolloutActivities } from '../activities/rollout/index.js';
import {
  controllable,
  evaluateGates,
  stepWeights,
  type DeploymentWeight,
  type HealthSample,
  type RolloutStep,
} from '../core/rollout.js';
import { activityPresets } from '../temporal.config.js';
import {
  rolloutQueries,
  rolloutUpdates,
  type RolloutInput,
  type RolloutProgress,
  type RolloutResult,
} from './definitions.js';

const registry = proxyActivities<RolloutActivities>(activityPresets.database);
const cluster = proxyActivities<RolloutActivities>(activityPresets.external);
/** Rolling back and unloading must finish: retried without a deadline. */
const undo = proxyActivities<RolloutActivities>(activityPresets.compensation);

/** How often a deploying application's status is read. */
const readyPollMs = 5_000;
const maxEvents = 50;
const noRequests: HealthSample = { requests: 0, errors: 0, ttftSamples: 0, ttftP95Ms: null };

export async function rollout(input: RolloutInput): Promise<RolloutResult> {
  const { plan } = input;
  const progress: RolloutProgress = {
    model: input.model,
    version: input.version,
    phase: 'deploying',
    paused: false,
    step: -1,
    percent: 0,
    awaitingApproval: null,
    plan,
    lastGate: null,
    reason: null,
    events: [],
  };
  let abortReason: string | null = null;
  let approvedStep = -1;

  const note = (what: string) => {
    progress.events.push({ at: new Date().toISOString(), what });
    if (progress.events.length > maxEvents) progress.events.shift();
    log.info(`rollout ${input.model}/${input.version}: ${what}`);
  };
  const refuseUnlessControllable = () => {
    if (abortReason !== null) throw new Error('The rollout is being aborted.');
    if (!controllable(progress.phase))
      throw new Error(`The rollout is ${progress.phase}: it can no longer be changed.`);
  };

  setHandler(rolloutQueries.progress, () => progress);
  setHandler(
    rolloutUpdates.pause,
    ({ reason }) => {
      progress.paused = true;
      note(`paused${reason ? `: ${reason}` : ''}`);
      return progress;
    },
    {
      validator: (_request) => {
        refuseUnlessControllable();
        if (progress.paused) throw new Error('The rollout is already paused.');
      },
    },
  );
  setHandler(
    rolloutUpdates.resume,
    () => {
      progress.paused = false;
      note('resumed');
      return progress;
    },
    {
      validator: () => {
        refuseUnlessControllable();
        if (!progress.paused) throw new Error('The rollout is not paused.');
      },
    },
  );
  setHandler(
    rolloutUpdates.approve,
    () => {
      approvedStep = progress.awaitingApproval ?? approvedStep;
      note(`step ${approvedStep + 1} approved`);
      return progress;
    },
    {
      validator: ({ step }) => {
        refuseUnlessControllable();
        if (progress.awaitingApproval === null) throw new Error('No step is waiting for approval.');
        if (step !== undefined && step !== progress.awaitingApproval)
          throw new Error(`Step ${progress.awaitingApproval} is waiting for approval, not step ${step}.`);
      },
    },
  );
  setHandler(
    rolloutUpdates.abort,
    ({ reason }) => {
      abortReason = `aborted by an operator${reason ? `: ${reason}` : ''}`;
      note(abortReason);
      return progress;
    },
    { validator: (_request) => refuseUnlessControllable() },
  );

  const aborted = () => abortReason !== null;

  const target = await registry.beginRollout({
    modelId: input.modelId,
    version: input.version,
  });
  const { canary } = target;
  const current: DeploymentWeight[] = target.current.map((c) => ({ id: c.id, weight: c.weight }));
  const currentIds = current.map((c) => c.id);
  // With no version serving yet there is nothing to compare with or split: straight to 100 %.
  const steps: RolloutStep[] = current.length > 0 ? plan.steps : plan.steps.slice(-1);
  progress.plan = { ...plan, steps };
  note(
    current.length > 0
      ? `replacing ${target.current.map((c) => c.version).join(', ')} in ${steps.length} steps`
      : 'no version serves the model yet: one step to 100 %',
  );

  /** Waits while nothing shows in the given deployments' traffic for the quiet period (bounded). */
  async function drain(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const started = Date.now();
    await sleep(Math.min(plan.drainQuietSeconds, plan.drainTimeoutSeconds) * 1000);
    for (;;) {
      const recent = await registry.recentRequests({ ids, seconds: plan.drainQuietSeconds });
      if (recent === 0) return;
      if (Date.now() - started >= plan.drainTimeoutSeconds * 1000) {
        note(`drain timed out with ${recent} requests in the last ${plan.drainQuietSeconds} s`);
        return;
      }
      await sleep(plan.checkIntervalSeconds * 1000);
    }
  }

  async function rollBack(reason: string, trafficShifted: boolean): Promise<RolloutResult> {
    const phase = aborted() ? 'aborted' : 'rolled-back';
    progress.phase = 'rolling-back';
    progress.reason = reason;
    progress.awaitingApproval = null;
    note(`rolling back: ${reason}`);
    await undo.rollBackTraffic({
      modelId: input.modelId,
      canaryId: canary.id,
      current,
      reason,
    });
    progress.percent = 0;
    // Requests the new version had begun finish before its application goes.
    if (trafficShifted) await drain([canary.id]);
    await undo.removeApplication({ cluster: canary.cluster, application: canary.application.name });
    progress.phase = phase;
    note(phase === 'aborted' ? 'aborted: the current version serves everything' : 'rolled back');
    return { phase, reason };
  }

  /** Null once the application runs and answers; otherwise why not. */
  async function awaitReady(): Promise<string | null> {
    const deadline = Date.now() + plan.readyTimeoutSeconds * 1000;
    let last = 'not deployed yet';
    for (;;) {
      if (aborted()) return abortReason;
      const status = await cluster.applicationStatus({
        dashboardUrl: canary.cluster.dashboardUrl,
        application: canary.application.name,
      });
      if (status.status === 'DEPLOY_FAILED') return `deploy failed: ${status.message.slice(-1000)}`;
      if (status.status === 'RUNNING') {
        const probe = await cluster.probeVersion({ url: canary.url, upstreamModel: canary.upstreamModel });
        if (probe.ok) return null;
        last = `RUNNING, but ${probe.detail}`;
      } else {
        last = status.status;
      }
      if (Date.now() >= deadline) return `not ready after ${plan.readyTimeoutSeconds} s (${last})`;
      await condition(aborted, readyPollMs);
    }
  }

  let trafficShifted = false;
  try {
    note(`deploying Serve application ${canary.application.name} on ${canary.cluster.name}`);
    await cluster.deployApplication({ cluster: canary.cluster, application: canary.application });
    const notReady = await awaitReady();
    if (notReady !== null) return await rollBack(notReady, false);
    note('running and answering');
    progress.phase = 'canary';

    let rolloutSince: string | null = null;
    for (const [i, step] of steps.entries()) {
      if (step.requireApproval && approvedStep < i) {
        progress.awaitingApproval = i;
        note(`step ${i + 1} (${step.percent} %) waits for approval`);
        await condition(() => approvedStep >= i || aborted());
        progress.awaitingApproval = null;
      }
      await condition(() => !progress.paused || aborted());
      if (aborted()) return await rollBack(abortReason ?? 'aborted', trafficShifted);

      const weights = stepWeights(step.percent, current);
      const { at } = await registry.setTrafficSplit({
        modelId: input.modelId,
        canaryId: canary.id,
        canaryWeight: weights.canary,
        current: weights.current,
        percent: step.percent,
      });
      trafficShifted = true;
      rolloutSince ??= at;
      progress.step = i;
      progress.percent = step.percent;
      progress.lastGate = null;
      note(`step ${i + 1}: ${step.percent} % of the traffic`);

      const stepStarted = Date.now();
      let lastVerdict = '';
      for (;;) {
        await condition(aborted, plan.checkIntervalSeconds * 1000);
        if (aborted()) return await rollBack(abortReason ?? 'aborted', trafficShifted);
        // The current versions since the rollout began (the baseline), and in this step (the split).
        const [canaryHealth, currentHealth, currentInStep] = await Promise.all([
          registry.deploymentHealth({ ids: [canary.id], since: at }),
          current.length > 0
            ? registry.deploymentHealth({ ids: currentIds, since: rolloutSince })
            : Promise.resolve(noRequests),
          current.length > 0 && step.percent < 100
            ? registry.deploymentHealth({ ids: currentIds, since: at })
            : Promise.resolve(noRequests),
        ]);
        const gate = evaluateGates(
          plan.gates,
          canaryHealth,
          currentHealth,
          {
            heldSeconds: Math.floor((Date.now() - stepStarted) / 1000),
            holdSeconds: step.holdSeconds,
            // A paused rollout is not failed for want of traffic: the operator is holding it.
            maxHoldSeconds: progress.paused ? Number.POSITIVE_INFINITY : plan.maxHoldSeconds,
          },
          { percent: step.percent, othersInStep: currentInStep.requests },
        );
        progress.lastGate = gate;
        if (gate.verdict !== lastVerdict) note(`gates ${gate.verdict}: ${gate.reason}`);
        lastVerdict = gate.verdict;
        if (gate.verdict === 'fail')
          return await rollBack(`step ${i + 1} (${step.percent} %): ${gate.reason}`, trafficShifted);
        if (gate.verdict === 'pass' && !progress.paused) break;
      }
    }
  } catch (err) {
    // An activity that failed for good (a writer that never answered, the database gone for its
    // whole retry window): the version cannot be judged, so it does not stay.
    if (err instanceof ActivityFailure)
      return await rollBack(
        `${err.activityType ?? 'a step'} failed: ${err.cause?.message ?? err.message}`,
        trafficShifted,
      );
    throw err;
  }

  progress.phase = 'draining';
  progress.percent = 100;
  await registry.promote({
    modelId: input.modelId,
    canaryId: canary.id,
    currentIds,
  });
  note(`serving everything; draining ${target.current.map((c) => c.version).join(', ') || 'nothing'}`);
  await drain(currentIds);
  for (const old of target.current)
    if (old.cluster !== null && old.application !== null)
      await undo.removeApplication({ cluster: old.cluster, application: old.application });
  await undo.retireVersions({ modelId: input.modelId, ids: currentIds });
  progress.phase = 'succeeded';
  note('succeeded');
  return { phase: 'succeeded', reason: null };
}
