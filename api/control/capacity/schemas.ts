// The capacity loops (`capacity/<pool>`) for platform operators: their state, pause, resume and
// settings. The settings and decisions are core/capacity.ts's, times as ISO strings.
import Type, { type TSchema } from 'typebox';
import { namePattern, Timestamp } from '../../common-schemas.js';

export const PoolParams = Type.Object(
  { pool: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$', description: 'capacity/<pool>' }) },
  { additionalProperties: false },
);

const Replicas = (description: string) => Type.Integer({ minimum: 0, description });
const Ms = (description: string) => Type.Integer({ minimum: 0, description: `${description}, milliseconds` });
const Share = (description: string) => Type.Number({ description });

const settingsFields = {
  minReplicas: Replicas('the replicas the loop keeps at least (≥ 1)'),
  maxReplicas: Replicas('and at most'),
  targetOngoingPerReplica: Type.Number({ description: 'requests a replica holds at its goal' }),
  targetWaitingPerReplica: Type.Number({ description: 'requests waiting per replica tolerated' }),
  kvCacheCeiling: Share('KV-cache use (0..1] at which a replica counts as full'),
  gpuUtilizationGoal: Share('GPU utilisation (0..1] at which a replica counts as full'),
  scaleUpAbove: Share('scale up when demand exceeds this multiple of the replicas'),
  scaleDownBelow: Share('scale down when demand stays below this multiple'),
  scaleUpWindowMs: Ms('every sample in this window must ask for more'),
  scaleDownWindowMs: Ms('every sample in this window must ask for less'),
  scaleUpCooldownMs: Ms('no scale-up this soon after a change'),
  scaleDownCooldownMs: Ms('no scale-down this soon after a change'),
  coldStartMs: Ms('how long a new replica takes to serve'),
  intervalMs: Ms('how often the loop samples (≥ 1000)'),
  scaleToZero: Type.Union(
    [Type.Object({ idleMs: Ms('idle this long, then zero') }, { additionalProperties: false }), Type.Null()],
    { description: 'off when null' },
  ),
  dryRun: Type.Boolean({ description: 'decide and record, apply nothing' }),
};

export const CapacitySettings = Type.Object(settingsFields);

export const ConfigureBody = Type.Partial(Type.Object(settingsFields, { additionalProperties: false }), {
  additionalProperties: false,
  minProperties: 1,
  description: 'the settings to change; the loop checks them as a whole and refuses them with its reason',
});

export const PauseBody = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 500, pattern: namePattern }) },
  { additionalProperties: false },
);

export const ResumeBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);

const Decision = Type.Object({
  at: Timestamp,
  current: Type.Integer({ description: 'the replicas when it decided' }),
  desired: Type.Integer(),
  reason: Type.String({ description: 'scale-up, scale-down, within-band, cooldown, warming-up, stale, …' }),
  detail: Type.String({ description: 'the numbers behind the reason' }),
  demand: Type.Union([
    Type.Object({ replicas: Type.Number(), signal: Type.String() }, { description: 'of the newest sample' }),
    Type.Null(),
  ]),
  outcome: Type.Enum(['applied', 'recommended', 'failed', 'held'], {
    description: 'recommended: dry-run; failed: the cluster writer refused it; held: no change',
  }),
  error: Type.Union([Type.String(), Type.Null()], { description: 'why the writer refused it' }),
});

const OrNull = <T extends TSchema>(schema: T, description: string) =>
  Type.Union([schema, Type.Null()], { description: `${description}; null when the state was not read` });

export const CapacityPool = Type.Object({
  pool: Type.String(),
  workflowId: Type.String({ description: 'capacity/<pool>, in the Temporal UI' }),
  running: Type.Boolean({ description: 'whether the loop workflow runs' }),
  workflowStatus: Type.String({ description: "Temporal's status: RUNNING, TERMINATED, FAILED, …" }),
  startedAt: Timestamp,
  stateError: Type.Union([Type.String(), Type.Null()], {
    description: 'why a running loop did not answer its state query (no serving worker)',
  }),
  cluster: OrNull(Type.String(), 'the cluster whose writer applies the replicas'),
  application: OrNull(Type.String(), 'the Serve application'),
  model: OrNull(Type.String(), 'the model it serves'),
  mode: OrNull(Type.Enum(['live', 'dry-run']), 'dry-run: decisions are recorded as recommendations'),
  paused: OrNull(Type.Boolean(), 'paused loops take no samples and decide nothing'),
  replicas: OrNull(Type.Integer(), 'the replicas the loop last set (in dry-run: what Serve runs)'),
  desired: OrNull(Type.Integer(), 'what its newest decision wants'),
  recommendation: OrNull(Decision, 'the newest recommendation (dry-run)'),
  lastDecision: OrNull(Decision, 'the newest decision, a hold included'),
  decisions: Type.Array(Decision, {
    description:
      'the last changes, recommendations and failures, newest last (empty when the state was not read)',
  }),
  changes: OrNull(Type.Integer(), 'replica changes applied over the loop’s life'),
  settings: OrNull(CapacitySettings, 'its settings'),
});

export const CapacityPoolList = Type.Object({
  items: Type.Array(CapacityPool, { description: 'by pool name' }),
});
