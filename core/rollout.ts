// A model version's lifecycle and the rules of its rollout (`rollout/<model>/<version>`), as pure
// functions: the plan (steps and gates, with defaults), the gateway weights for a step, and the
// gates' verdict on the gateway's own per-deployment metrics. The workflow only wires timers,
// operators' messages and activities to these.

/**
 * A version's stage. registered → deploying (its Serve application is being deployed) → canary
 * (takes a share of the traffic) → serving → draining (no new requests; in-flight ones finish) →
 * retired (unloaded). A rollout that fails a gate, cannot deploy or is aborted leaves it failed.
 */
export const versionStages = [
  'registered',
  'deploying',
  'canary',
  'serving',
  'draining',
  'retired',
  'failed',
] as const;
export type VersionStage = (typeof versionStages)[number];

/** Stages a rollout may start from: a version not yet deployed, or one whose rollout failed. */
export const rolloutStartStages: readonly VersionStage[] = ['registered', 'failed'];

/** The gateway's weights are integers out of this total (model_deployments.weight ≤ 1000). */
export const weightTotal = 1000;

export interface RolloutStep {
  /** The new version's share of the traffic, in percent (1–100). */
  percent: number;
  /** How long the step holds, gates passing, before the next one. */
  holdSeconds: number;
  /** The step waits for an operator's approval before its weights are set. */
  requireApproval: boolean;
}

/**
 * What the new version must show at each step, measured by the gateway over the step (the new
 * version) and since the rollout began shifting traffic (the current version). Errors are answers
 * with a 5xx status that the client did not cause by leaving.
 */
export interface RolloutGates {
  /** No verdict before the new version has answered this many requests in the step. */
  minRequests: number;
  /** Its error ratio may exceed the current version's by at most this much (0.02 = 2 points). */
  maxErrorRatioIncrease: number;
  /** Its TTFT p95 may be at most the current version's times this, plus the slack. */
  maxTtftP95Ratio: number;
  ttftP95SlackMs: number;
}

export interface RolloutPlan {
  steps: RolloutStep[];
  gates: RolloutGates;
  /** How often gates are read while a step holds. */
  checkIntervalSeconds: number;
  /** A step that has not seen minRequests by then fails (not enough traffic to judge). */
  maxHoldSeconds: number;
  /** How long the new application may take to reach RUNNING and answer. */
  readyTimeoutSeconds: number;
  /** The old version is unloaded once it has had no request for this long… */
  drainQuietSeconds: number;
  /** …or after this long in any case. */
  drainTimeoutSeconds: number;
}

/** What an operator may set when starting a rollout; everything is optional. */
export interface RolloutOptions {
  steps?: { percent: number; holdSeconds?: number; requireApproval?: boolean }[];
  gates?: Partial<RolloutGates>;
  checkIntervalSeconds?: number;
  maxHoldSeconds?: number;
  readyTimeoutSeconds?: number;
  drainQuietSeconds?: number;
  drainTimeoutSeconds?: number;
}

export const defaultRolloutPlan: RolloutPlan = {
  steps: [1, 10, 50, 100].map((percent) => ({ percent, holdSeconds: 300, requireApproval: false })),
  gates: { minRequests: 20, maxErrorRatioIncrease: 0.02, maxTtftP95Ratio: 1.5, ttftP95SlackMs: 100 },
  checkIntervalSeconds: 15,
  maxHoldSeconds: 3600,
  readyTimeoutSeconds: 1800,
  drainQuietSeconds: 60,
  drainTimeoutSeconds: 900,
};

const day = 86_400;

/** The problems with `options`, each naming its field; empty when the plan is sound. */
export function rolloutOptionProblems(options: RolloutOptions): string[] {
  const problems: string[] = [];
  const seconds = (field: string, value: number | undefined, min: number, max: number) => {
    if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= max))
      problems.push(`${field} must be a whole number of seconds from ${min} to ${max}.`);
  };
  if (options.steps !== undefined) {
    if (options.steps.length === 0 || options.steps.length > 20)
      problems.push('steps must have 1 to 20 entries.');
    let previous = 0;
    for (const [i, step] of options.steps.entries()) {
      if (!(Number.isInteger(step.percent) && step.percent >= 1 && step.percent <= 100))
        problems.push(`steps[${i}].percent must be a whole number from 1 to 100.`);
      else if (step.percent <= previous)
        problems.push(`steps[${i}].percent must be greater than the step before (${previous}).`);
      else previous = step.percent;
      seconds(`steps[${i}].holdSeconds`, step.holdSeconds, 0, 7 * day);
    }
    if (options.steps.length > 0 && options.steps.at(-1)?.percent !== 100)
      problems.push('the last step must be 100 percent.');
  }
  const gates = options.gates ?? {};
  if (gates.minRequests !== undefined && !(Number.isInteger(gates.minRequests) && gates.minRequests >= 0))
    problems.push('gates.minRequests must be a whole number, 0 or more.');
  if (
    gates.maxErrorRatioIncrease !== undefined &&
    !(gates.maxErrorRatioIncrease >= 0 && gates.maxErrorRatioIncrease <= 1)
  )
    problems.push('gates.maxErrorRatioIncrease must be from 0 to 1.');
  if (gates.maxTtftP95Ratio !== undefined && !(gates.maxTtftP95Ratio >= 1 && gates.maxTtftP95Ratio <= 100))
    problems.push('gates.maxTtftP95Ratio must be from 1 to 100.');
  if (gates.ttftP95SlackMs !== undefined && !(gates.ttftP95SlackMs >= 0 && gates.ttftP95SlackMs <= 600_000))
    problems.push('gates.ttftP95SlackMs must be from 0 to 600000.');
  seconds('checkIntervalSeconds', options.checkIntervalSeconds, 1, 3600);
  seconds('maxHoldSeconds', options.maxHoldSeconds, 1, 30 * day);
  seconds('readyTimeoutSeconds', options.readyTimeoutSeconds, 10, day);
  seconds('drainQuietSeconds', options.drainQuietSeconds, 0, day);
  seconds('drainTimeoutSeconds', options.drainTimeoutSeconds, 0, 7 * day);
  if (problems.length === 0) {
    const plan = rolloutPlan(options);
    if (plan.steps.some((s) => s.holdSeconds > plan.maxHoldSeconds))
      problems.push('maxHoldSeconds must be at least the longest step hold.');
  }
  return problems;
}

/** The plan for `options` (checked first with rolloutOptionProblems), defaults filled in. */
export function rolloutPlan(options: RolloutOptions): RolloutPlan {
  const defaultHold = defaultRolloutPlan.steps[0]?.holdSeconds ?? 0;
  return {
    ...defaultRolloutPlan,
    ...definedOnly({
      checkIntervalSeconds: options.checkIntervalSeconds,
      maxHoldSeconds: options.maxHoldSeconds,
      readyTimeoutSeconds: options.readyTimeoutSeconds,
      drainQuietSeconds: options.drainQuietSeconds,
      drainTimeoutSeconds: options.drainTimeoutSeconds,
    }),
    steps: options.steps
      ? options.steps.map((s) => ({
          percent: s.percent,
          holdSeconds: s.holdSeconds ?? defaultHold,
          requireApproval: s.requireApproval ?? false,
        }))
      : defaultRolloutPlan.steps,
    gates: { ...defaultRolloutPlan.gates, ...definedOnly(options.gates ?? {}) },
  };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export interface DeploymentWeight {
  id: string;
  weight: number;
}

/**
 * The gateway weights at `percent`: the new version gets that share of `weightTotal`, the current
 * versions share the rest in proportion to the weights they had when the rollout began (largest
 * remainder, so the weights add up to `weightTotal` exactly).
 */
export function stepWeights(
  percent: number,
  current: readonly DeploymentWeight[],
): { canary: number; current: DeploymentWeight[] } {
  const total = current.reduce((sum, d) => sum + d.weight, 0);
  if (current.length === 0 || total === 0)
    return { canary: weightTotal, current: current.map((d) => ({ id: d.id, weight: 0 })) };
  const canary = Math.round((percent / 100) * weightTotal);
  const rest = weightTotal - canary;
  const exact = current.map((d) => (d.weight / total) * rest);
  const weights = exact.map(Math.floor);
  let left = rest - weights.reduce((a, b) => a + b, 0);
  const byRemainder = exact
    .map((e, i) => ({ i, r: e - Math.floor(e) }))
    .sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of byRemainder) {
    if (left <= 0) break;
    weights[i] = (weights[i] ?? 0) + 1;
    left -= 1;
  }
  return { canary, current: current.map((d, i) => ({ id: d.id, weight: weights[i] ?? 0 })) };
}

/** The gateway's metrics of a group of deployments over a window (deployment_health()). */
export interface HealthSample {
  requests: number;
  errors: number;
  /** Requests with a time to first token (streamed ones). */
  ttftSamples: number;
  ttftP95Ms: number | null;
}

export type GateVerdict = 'pass' | 'fail' | 'wait';

export interface GateResult {
  verdict: GateVerdict;
  /** Why, in words an operator reads in the progress and the audit log. */
  reason: string;
  canary: HealthSample;
  current: HealthSample;
}

const ratio = (h: HealthSample) => (h.requests === 0 ? 0 : h.errors / h.requests);
const percent = (r: number) => `${(r * 100).toFixed(1)}%`;

export interface GateTime {
  heldSeconds: number;
  holdSeconds: number;
  maxHoldSeconds: number;
}

/** The step's split: the new version's weight in percent, and what the others answered in the step. */
export interface GateShare {
  percent: number;
  othersInStep: number;
}

/**
 * How long a step runs before its split is judged: the gateway replicas pick up new weights within
 * about a second (one registry poll, more on a busy machine), and requests already in flight finish
 * under the old split, so a step's first seconds mix both.
 */
export const splitSettleSeconds = 10;

/**
 * The gates' verdict on a step. Fails as soon as the new version is worse than the current one
 * beyond the gates' margins; passes once the step has held long enough with enough requests and
 * nothing failing; waits otherwise, and fails for lack of traffic once the longest hold is spent.
 *
 * The gateway retries a 5xx on another version and routes around an ejected upstream, so a
 * failing new version shows first as requests it did not answer: it fails when it answered far
 * fewer than its weight says (under half of what was expected and three standard deviations
 * short, so chance alone almost never trips it), once the split has settled.
 */
export function evaluateGates(
  gates: RolloutGates,
  canary: HealthSample,
  current: HealthSample,
  time: GateTime,
  share: GateShare = { percent: 100, othersInStep: 0 },
): GateResult {
  const result = (verdict: GateVerdict, reason: string): GateResult => ({ verdict, reason, canary, current });
  if (share.percent < 100 && time.heldSeconds >= splitSettleSeconds) {
    const total = canary.requests + share.othersInStep;
    const p = share.percent / 100;
    const expected = total * p;
    const shortfall = 3 * Math.sqrt(total * p * (1 - p));
    if (
      expected >= Math.max(gates.minRequests, 1) &&
      canary.requests < expected / 2 &&
      canary.requests < expected - shortfall
    )
      return result(
        'fail',
        `answered ${canary.requests} of ${total} requests where ${share.percent} % is ${Math.round(expected)}: ` +
          'the gateway routed around it (its answers failed, or it was ejected)',
      );
  }
  if (canary.requests < gates.minRequests) {
    if (time.heldSeconds >= time.maxHoldSeconds)
      return result(
        'fail',
        `not enough traffic to judge: ${canary.requests} of ${gates.minRequests} requests in ${time.heldSeconds} s`,
      );
    return result('wait', `${canary.requests} of ${gates.minRequests} requests seen`);
  }
  const allowedErrors = ratio(current) + gates.maxErrorRatioIncrease;
  if (ratio(canary) > allowedErrors)
    return result(
      'fail',
      `error ratio ${percent(ratio(canary))} (${canary.errors}/${canary.requests}) above ${percent(allowedErrors)} ` +
        `(current version ${percent(ratio(current))} + ${percent(gates.maxErrorRatioIncrease)})`,
    );
  if (canary.ttftP95Ms !== null && current.ttftP95Ms !== null) {
    const allowedTtft = current.ttftP95Ms * gates.maxTtftP95Ratio + gates.ttftP95SlackMs;
    if (canary.ttftP95Ms > allowedTtft)
      return result(
        'fail',
        `TTFT p95 ${Math.round(canary.ttftP95Ms)} ms above ${Math.round(allowedTtft)} ms ` +
          `(current version ${Math.round(current.ttftP95Ms)} ms × ${gates.maxTtftP95Ratio} + ${gates.ttftP95SlackMs} ms)`,
      );
  }
  if (time.heldSeconds < time.holdSeconds)
    return result('wait', `gates pass; holding ${time.heldSeconds} of ${time.holdSeconds} s`);
  return result(
    'pass',
    `${canary.requests} requests, error ratio ${percent(ratio(canary))}` +
      (canary.ttftP95Ms === null ? '' : `, TTFT p95 ${Math.round(canary.ttftP95Ms)} ms`),
  );
}

/** The rollout's phase, as operators see it in the progress query and the API. */
export type RolloutPhase =
  'deploying' | 'canary' | 'draining' | 'succeeded' | 'rolling-back' | 'rolled-back' | 'aborted';

/** Phases in which operators' controls (pause, resume, approve, abort) still apply. */
export function controllable(phase: RolloutPhase): boolean {
  return phase === 'deploying' || phase === 'canary';
}
