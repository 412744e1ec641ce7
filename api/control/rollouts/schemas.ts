// Model rollouts (platform operators): start one, read its progress, pause, resume, approve, abort.
import Type from 'typebox';
import { Uuid } from '../../common-schemas.js';

const Version = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' });
const Seconds = (maximum: number, description: string) => Type.Integer({ minimum: 0, maximum, description });

export const RolloutParams = Type.Object(
  { modelId: Uuid, version: Version },
  { additionalProperties: false },
);

const Step = Type.Object(
  {
    percent: Type.Integer({
      minimum: 1,
      maximum: 100,
      description: "the new version's share of the traffic",
    }),
    holdSeconds: Type.Optional(Seconds(604_800, 'how long the step holds with gates passing (300)')),
    requireApproval: Type.Optional(
      Type.Boolean({ description: 'wait for an approval before the step begins' }),
    ),
  },
  { additionalProperties: false },
);

const Gates = Type.Object(
  {
    minRequests: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'requests before any verdict (20)' }),
    ),
    maxErrorRatioIncrease: Type.Optional(
      Type.Number({ minimum: 0, maximum: 1, description: "above the current version's error ratio (0.02)" }),
    ),
    maxTtftP95Ratio: Type.Optional(
      Type.Number({ minimum: 1, maximum: 100, description: "times the current version's TTFT p95 (1.5)" }),
    ),
    ttftP95SlackMs: Type.Optional(
      Type.Number({ minimum: 0, maximum: 600_000, description: 'plus this (100)' }),
    ),
  },
  { additionalProperties: false },
);

export const StartRolloutBody = Type.Object(
  {
    version: Version,
    steps: Type.Optional(
      Type.Array(Step, {
        minItems: 1,
        maxItems: 20,
        description: 'increasing, ending at 100 (1, 10, 50, 100)',
      }),
    ),
    gates: Type.Optional(Gates),
    checkIntervalSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600, description: '(15)' })),
    maxHoldSeconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 2_592_000,
        description: 'a step without enough traffic by then fails (3600)',
      }),
    ),
    readyTimeoutSeconds: Type.Optional(
      Type.Integer({ minimum: 10, maximum: 86_400, description: 'to reach RUNNING and answer (1800)' }),
    ),
    drainQuietSeconds: Type.Optional(
      Seconds(86_400, 'the old version is unloaded after this long without requests (60)'),
    ),
    drainTimeoutSeconds: Type.Optional(Seconds(604_800, 'or after this long in any case (900)')),
  },
  { additionalProperties: false },
);

export const PauseBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);
export const AbortBody = PauseBody;
export const ApproveBody = Type.Object(
  {
    step: Type.Optional(Type.Integer({ minimum: 0, maximum: 19, description: 'the step waiting (0-based)' })),
  },
  { additionalProperties: false },
);

export const RolloutStarted = Type.Object({
  workflowId: Type.String({ description: 'rollout/<model>/<version>, in the Temporal UI' }),
  model: Type.String(),
  version: Type.String(),
});

const Health = Type.Object({
  requests: Type.Integer(),
  errors: Type.Integer(),
  ttftSamples: Type.Integer(),
  ttftP95Ms: Type.Union([Type.Number(), Type.Null()]),
});

export const RolloutProgress = Type.Object({
  model: Type.String(),
  version: Type.String(),
  phase: Type.Union([
    Type.Literal('deploying'),
    Type.Literal('canary'),
    Type.Literal('draining'),
    Type.Literal('succeeded'),
    Type.Literal('rolling-back'),
    Type.Literal('rolled-back'),
    Type.Literal('aborted'),
  ]),
  paused: Type.Boolean(),
  step: Type.Integer({ description: 'the step in force (0-based), -1 before the first' }),
  percent: Type.Number({ description: "the new version's share of the traffic now" }),
  awaitingApproval: Type.Union([Type.Integer(), Type.Null()]),
  plan: Type.Object({
    steps: Type.Array(
      Type.Object({ percent: Type.Integer(), holdSeconds: Type.Integer(), requireApproval: Type.Boolean() }),
    ),
    gates: Type.Object({
      minRequests: Type.Integer(),
      maxErrorRatioIncrease: Type.Number(),
      maxTtftP95Ratio: Type.Number(),
      ttftP95SlackMs: Type.Number(),
    }),
    checkIntervalSeconds: Type.Integer(),
    maxHoldSeconds: Type.Integer(),
    readyTimeoutSeconds: Type.Integer(),
    drainQuietSeconds: Type.Integer(),
    drainTimeoutSeconds: Type.Integer(),
  }),
  lastGate: Type.Union([
    Type.Object({
      verdict: Type.Union([Type.Literal('pass'), Type.Literal('fail'), Type.Literal('wait')]),
      reason: Type.String(),
      canary: Health,
      current: Health,
    }),
    Type.Null(),
  ]),
  reason: Type.Union([Type.String(), Type.Null()]),
  events: Type.Array(Type.Object({ at: Type.String(), what: Type.String() })),
});
