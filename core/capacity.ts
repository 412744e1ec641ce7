// The capacity loop's rules as pure functions: a pool's settings, the replicas it has now, when
// they last changed and a window of observations give the replicas it should have, and why. The
// workflow (workflows/capacity.ts) samples metrics, calls `decide`, and applies or only records.
//
// Demand is expressed in replicas: each signal says how many replicas it would take to bring it to
// its per-replica target (KEDA's rule, value / threshold), and the pool needs the most any signal
// asks for. Noise is absorbed three ways: a band (scale up above `scaleUpAbove` × current, down
// below `scaleDownBelow` × current, and land mid-band after a scale-down so the next sample does
// not cross back), stabilisation windows (up only if every sample in the short up-window asks for
// more; down only if every sample in the longer down-window asks for less), and cooldowns after a
// change. Times are epoch milliseconds.

/** A serving pool: one Serve application (a model version) on a cluster, and where its metrics are. */
export interface CapacityPool {
  /** The pool's name (the workflow id is capacity/<pool>). */
  pool: string;
  /** The cluster whose writer (`serve-cluster/<cluster>`) applies the replicas. */
  cluster: string;
  /** The Serve application whose replicas the loop sets. */
  application: string;
  /** The model id the application serves: vLLM's `model_name` label. */
  model: string;
  /** Prometheus endpoints of the cluster's Ray nodes (ray_vllm_*, ray_serve_*), every one scraped. */
  metricsUrls: string[];
  /** DCGM exporters of the pool's GPUs, and the labels that pick the pool's GPUs out of them. */
  gpuMetrics?: { urls: string[]; labels?: Record<string, string> };
}

/** What the loop asks the cluster's writer for. */
export interface SetPoolReplicasInput {
  cluster: string;
  application: string;
  replicas: number;
  /** The writer's update id, unique per decision: a retried attempt is the same update. */
  idempotencyKey: string;
}

export interface ScaleToZero {
  /** The pool scales to zero after this long with no request running, waiting or in flight. */
  idleMs: number;
}

export interface CapacitySettings {
  /** The replicas the loop keeps at least (≥ 1; zero only through `scaleToZero`) and at most. */
  minReplicas: number;
  maxReplicas: number;
  /** Requests a replica holds (running + waiting) at its goal, like Serve's target_ongoing_requests. */
  targetOngoingPerReplica: number;
  /** Requests waiting per replica (vLLM's queue and Serve's) tolerated before more are wanted. */
  targetWaitingPerReplica: number;
  /** KV-cache use (0..1, mean over replicas) at which a replica counts as full. */
  kvCacheCeiling: number;
  /** GPU utilisation (0..1) at which a replica counts as full, where DCGM metrics are present. */
  gpuUtilizationGoal: number;
  /** Scale up when demand exceeds this multiple of the current replicas (1: demand exceeds capacity). */
  scaleUpAbove: number;
  /** Scale down when demand stays below this multiple of the current replicas. */
  scaleDownBelow: number;
  /** Every sample in this window must ask for more before the pool grows (short: react fast). */
  scaleUpWindowMs: number;
  /** Every sample in this window must ask for less before the pool shrinks (long: be sure). */
  scaleDownWindowMs: number;
  /** No scale-up this soon after a change, no scale-down this soon after a change. */
  scaleUpCooldownMs: number;
  scaleDownCooldownMs: number;
  /**
   * How long a new replica takes to serve (model load). After a scale-up the loop waits this long
   * for the replicas to come up before asking for more, and scale-to-zero must idle at least this long.
   */
  coldStartMs: number;
  /** How often the loop samples; no sample for 3 intervals means the metrics are stale. */
  intervalMs: number;
  /** Off (null) by default: the first request after zero waits for a cold start. */
  scaleToZero: ScaleToZero | null;
  /** Decide and record, but apply nothing. */
  dryRun: boolean;
}

const second = 1000;
const minute = 60 * second;

export const defaultCapacitySettings: CapacitySettings = {
  minReplicas: 1,
  maxReplicas: 4,
  targetOngoingPerReplica: 16,
  targetWaitingPerReplica: 4,
  kvCacheCeiling: 0.9,
  // The seed's goal: keep GPUs above 85 % busy, adding a replica only when they are past it.
  gpuUtilizationGoal: 0.85,
  scaleUpAbove: 1,
  scaleDownBelow: 0.6,
  scaleUpWindowMs: 30 * second,
  scaleDownWindowMs: 3 * minute,
  scaleUpCooldownMs: 1 * minute,
  scaleDownCooldownMs: 5 * minute,
  coldStartMs: 2 * minute,
  intervalMs: 15 * second,
  scaleToZero: null,
  dryRun: false,
};

/** One sample of a pool. A metric no replica reports (none running, no exporter) is null. */
export interface CapacityObservation {
  at: number;
  /** Replicas Serve reports running. */
  replicas: number;
  /** Requests the pool holds: at its replicas (running or in the engine's queue) and queued in Serve. */
  ongoing: number | null;
  /** The part of them not running yet: vLLM's queues plus Serve's (the only signal at zero replicas). */
  waiting: number | null;
  /** KV-cache use, 0..1, mean over replicas (vLLM). */
  kvCacheUse: number | null;
  /** GPU utilisation, 0..1, mean over the pool's GPUs (DCGM); null without GPUs. */
  gpuUtilization: number | null;
  /** Requests the gateway has in flight to the pool; null where it is not readable. */
  gatewayInflight: number | null;
}

export type DemandSignal = 'ongoing' | 'waiting' | 'gateway' | 'kv-cache' | 'gpu';

export interface Demand {
  /** Replicas it would take to bring the busiest signal to its target. */
  replicas: number;
  signal: DemandSignal;
}

export type CapacityReason =
  | 'scale-up'
  | 'scale-down'
  | 'scale-to-zero'
  /** Demand arrived at a pool scaled to zero. */
  | 'wake'
  /** The replicas are outside the settings' bounds (the settings changed). */
  | 'bounds'
  | 'within-band'
  | 'cooldown'
  /** The replicas of the last scale-up are still starting. */
  | 'starting'
  | 'at-max'
  | 'at-min'
  | 'idle-at-zero'
  /** Not enough samples to cover a window yet, or a window holds a sample with no signal. */
  | 'warming-up'
  | 'stale';

export interface CapacityDecision {
  at: number;
  current: number;
  desired: number;
  reason: CapacityReason;
  /** For people: the numbers behind the reason. */
  detail: string;
  /** Demand of the newest sample, if any. */
  demand: Demand | null;
}

export interface CapacityInputs {
  settings: CapacitySettings;
  /** The replicas the pool is set to now (0: scaled to zero). */
  current: number;
  /** When the loop last changed the replicas; null if it never did. */
  lastChangeAt: number | null;
  /** Samples, oldest first (see `retainObservations`). */
  observations: CapacityObservation[];
  now: number;
}

/** Why these settings cannot be used, or null. */
export function capacitySettingsRejection(s: CapacitySettings): string | null {
  const whole = (n: number) => Number.isInteger(n) && n >= 0;
  if (!whole(s.minReplicas) || s.minReplicas < 1) return 'minReplicas must be a whole number ≥ 1';
  if (!whole(s.maxReplicas) || s.maxReplicas < s.minReplicas) return 'maxReplicas must be ≥ minReplicas';
  if (!(s.targetOngoingPerReplica > 0)) return 'targetOngoingPerReplica must be > 0';
  if (!(s.targetWaitingPerReplica > 0)) return 'targetWaitingPerReplica must be > 0';
  if (!(s.kvCacheCeiling > 0 && s.kvCacheCeiling <= 1)) return 'kvCacheCeiling must be in (0, 1]';
  if (!(s.gpuUtilizationGoal > 0 && s.gpuUtilizationGoal <= 1)) return 'gpuUtilizationGoal must be in (0, 1]';
  if (!(s.scaleDownBelow > 0 && s.scaleDownBelow < s.scaleUpAbove))
    return 'scaleDownBelow must be > 0 and below scaleUpAbove (the band is the hysteresis)';
  for (const key of [
    'scaleUpWindowMs',
    'scaleDownWindowMs',
    'scaleUpCooldownMs',
    'scaleDownCooldownMs',
    'coldStartMs',
  ] as const) {
    if (!whole(s[key])) return `${key} must be a whole number of milliseconds ≥ 0`;
  }
  if (!whole(s.intervalMs) || s.intervalMs < second) return 'intervalMs must be at least 1000';
  if (s.scaleToZero) {
    if (!whole(s.scaleToZero.idleMs)) return 'scaleToZero.idleMs must be a whole number of milliseconds';
    // Unloading a model for less time than it takes to load it back costs more than it saves.
    if (s.scaleToZero.idleMs < s.coldStartMs) return 'scaleToZero.idleMs must be at least coldStartMs';
  }
  return null;
}

/** What a sample asks for, in replicas; null when it carries no signal at all. */
export function demandOf(o: CapacityObservation, s: CapacitySettings): Demand | null {
  const asks: Demand[] = [];
  if (o.ongoing !== null) asks.push({ replicas: o.ongoing / s.targetOngoingPerReplica, signal: 'ongoing' });
  if (o.waiting !== null) asks.push({ replicas: o.waiting / s.targetWaitingPerReplica, signal: 'waiting' });
  if (o.gatewayInflight !== null)
    asks.push({ replicas: o.gatewayInflight / s.targetOngoingPerReplica, signal: 'gateway' });
  // Use fractions are per replica: scaled by the replicas that reported them.
  if (o.kvCacheUse !== null && o.replicas > 0)
    asks.push({ replicas: (o.replicas * o.kvCacheUse) / s.kvCacheCeiling, signal: 'kv-cache' });
  if (o.gpuUtilization !== null && o.replicas > 0)
    asks.push({ replicas: (o.replicas * o.gpuUtilization) / s.gpuUtilizationGoal, signal: 'gpu' });
  if (asks.length === 0) return null;
  return asks.reduce((a, b) => (b.replicas > a.replicas ? b : a));
}

/** No request held, waiting or in flight (and at least one of them known). */
function idle(o: CapacityObservation): boolean {
  const known = [o.ongoing, o.waiting, o.gatewayInflight].filter((n): n is number => n !== null);
  return known.length > 0 && known.every((n) => n === 0);
}

/** The samples the rules can still use: those inside the longest window (plus one interval). */
export function retainObservations(
  observations: CapacityObservation[],
  s: CapacitySettings,
  now: number,
): CapacityObservation[] {
  const longest = Math.max(s.scaleUpWindowMs, s.scaleDownWindowMs, s.scaleToZero?.idleMs ?? 0);
  return observations.filter((o) => o.at >= now - longest - s.intervalMs);
}

/**
 * The samples of the window [now - windowMs, now], or null when the samples do not cover it yet
 * (the loop started or resumed less than a window ago).
 */
function windowOf(inputs: CapacityInputs, windowMs: number): CapacityObservation[] | null {
  const from = inputs.now - windowMs;
  const first = inputs.observations[0];
  if (!first || first.at > from + inputs.settings.intervalMs) return null;
  // Half an interval of slack: samples come an interval plus the sampling's own time apart, and
  // the one taken just before the window's start still describes its first moments.
  const samples = inputs.observations.filter((o) => o.at >= from - inputs.settings.intervalMs / 2);
  return samples.length > 0 ? samples : null;
}

const round = (n: number) => Math.round(n * 100) / 100;

export function decide(inputs: CapacityInputs): CapacityDecision {
  const { settings: s, current, lastChangeAt, now } = inputs;
  const newest = inputs.observations.at(-1);
  const demand = newest ? demandOf(newest, s) : null;
  const decision = (desired: number, reason: CapacityReason, detail: string): CapacityDecision => ({
    at: now,
    current,
    desired,
    reason,
    detail,
    demand: demand && { ...demand, replicas: round(demand.replicas) },
  });
  const hold = (reason: CapacityReason, detail: string) => decision(current, reason, detail);
  const since = lastChangeAt === null ? Infinity : now - lastChangeAt;

  // Bounds first, data or not: a settings change takes effect at once.
  if (current === 0 && !s.scaleToZero) return decision(s.minReplicas, 'bounds', 'scale-to-zero is off');
  if (current !== 0 && current < s.minReplicas)
    return decision(s.minReplicas, 'bounds', `below minReplicas ${s.minReplicas}`);
  if (current > s.maxReplicas) return decision(s.maxReplicas, 'bounds', `above maxReplicas ${s.maxReplicas}`);

  if (!newest || newest.at < now - 3 * s.intervalMs) return hold('stale', 'no recent sample');

  if (current === 0) {
    // Only Serve's handle queue (and the gateway) can show demand here: no replica reports.
    if (demand && demand.replicas > 0) {
      const desired = Math.min(s.maxReplicas, Math.max(s.minReplicas, Math.ceil(demand.replicas)));
      return decision(
        desired,
        'wake',
        `demand ${round(demand.replicas)} (${demand.signal}); cold start about ${s.coldStartMs / second} s`,
      );
    }
    return hold('idle-at-zero', 'no demand');
  }

  const upWindow = windowOf(inputs, s.scaleUpWindowMs);
  const downWindow = windowOf(inputs, s.scaleDownWindowMs);
  const demandsIn = (window: CapacityObservation[] | null) => {
    const demands = window?.map((o) => demandOf(o, s)) ?? [];
    return demands.length > 0 && demands.every((d) => d !== null) ? demands.map((d) => d.replicas) : null;
  };

  // Up: the least any sample of the up-window asked for is still above the band.
  const up = demandsIn(upWindow);
  if (up && Math.min(...up) > current * s.scaleUpAbove) {
    const need = Math.min(...up);
    const detail = `demand ≥ ${round(need)} replicas (${demand?.signal}) over ${s.scaleUpWindowMs / second} s`;
    if (current >= s.maxReplicas) return hold('at-max', detail);
    if (newest.replicas < current && since < s.coldStartMs)
      return hold('starting', `${newest.replicas} of ${current} replicas running; ${detail}`);
    if (since < s.scaleUpCooldownMs) return hold('cooldown', `scale-up cooldown; ${detail}`);
    return decision(Math.min(s.maxReplicas, Math.max(current + 1, Math.ceil(need))), 'scale-up', detail);
  }

  // Down: the most any sample of the down-window asked for is still below the band.
  const down = demandsIn(downWindow);
  if (down && Math.max(...down) < current * s.scaleDownBelow) {
    const need = Math.max(...down);
    const detail = `demand ≤ ${round(need)} replicas over ${s.scaleDownWindowMs / second} s`;
    if (s.scaleToZero) {
      const idleWindow = windowOf(inputs, s.scaleToZero.idleMs);
      if (idleWindow?.every(idle)) {
        if (since < s.scaleDownCooldownMs) return hold('cooldown', `scale-down cooldown; idle`);
        return decision(
          0,
          'scale-to-zero',
          `idle for ${s.scaleToZero.idleMs / second} s; waking costs about ${s.coldStartMs / second} s`,
        );
      }
    }
    // Land in the middle of the band, so the next sample does not ask to scale straight back up.
    const middle = (s.scaleUpAbove + s.scaleDownBelow) / 2;
    const desired = Math.max(s.minReplicas, Math.ceil(need / middle));
    if (desired >= current) return hold(current <= s.minReplicas ? 'at-min' : 'within-band', detail);
    if (since < s.scaleDownCooldownMs) return hold('cooldown', `scale-down cooldown; ${detail}`);
    return decision(desired, 'scale-down', detail);
  }

  if (!up || !down) return hold('warming-up', 'the windows are not covered by samples with a signal yet');
  return hold('within-band', `demand ${round(demand?.replicas ?? 0)} replicas (${demand?.signal})`);
}
