// The operators' billing reconciliation (GET /api/admin/billing/reconciliation).
import Type from 'typebox';
import { Timestamp, Uuid } from '../../common-schemas.js';

export const ReconciliationQuery = Type.Object(
  {
    from: Type.String({
      format: 'date-time',
      description: 'first window (inclusive), rounded down to the hour',
    }),
    to: Type.String({
      format: 'date-time',
      description: 'last window (exclusive), rounded up to the hour; at most 7 days after `from`',
    }),
    orgId: Type.Optional(Type.String({ format: 'uuid', description: "only this tenant's windows" })),
    flagged: Type.Optional(
      Type.Union([Type.Literal('true'), Type.Literal('false')], {
        description: 'true: only the windows and balances that do not add up',
      }),
    ),
  },
  { additionalProperties: false },
);

const MeterTokens = Type.Object({
  inputTokens: Type.Integer({ description: 'prompt tokens (cached included)' }),
  outputTokens: Type.Integer({ description: 'completion tokens' }),
});

export const ReconciliationWindow = Type.Object({
  orgId: Uuid,
  windowStart: Timestamp,
  metered: Type.Object(MeterTokens.properties, { description: 'tokens the rollups hold for this hour' }),
  reported: Type.Object(MeterTokens.properties, { description: "what this window's run reported to Stripe" }),
  late: Type.Object(MeterTokens.properties, {
    description: 'the part of reported from earlier hours (usage that arrived after its window ran)',
  }),
  unreported: Type.Object(MeterTokens.properties, {
    description: "this hour's tokens not reported yet (the next run reports them, flagged late)",
  }),
  unsentMeterEvents: Type.Integer({ description: "this window's reports Stripe has not accepted yet" }),
  closed: Type.Boolean({ description: "whether the window's run was due (its hour + the watermark passed)" }),
  flags: Type.Array(Type.Union([Type.Literal('unreported'), Type.Literal('unsent')]), {
    description: 'what does not add up in a closed window',
  }),
});

export const ReconciliationBalance = Type.Object({
  orgId: Uuid,
  cursor: Type.Object(MeterTokens.properties, { description: 'tokens the rollups mark reported, all hours' }),
  reported: Type.Object(MeterTokens.properties, {
    description: "tokens in the tenant's reports, all windows",
  }),
  difference: Type.Object(MeterTokens.properties, {
    description: 'cursor − reported: not zero means a token was reported twice or never',
  }),
  flagged: Type.Boolean(),
});

export const Reconciliation = Type.Object(
  {
    from: Timestamp,
    to: Timestamp,
    windows: Type.Array(ReconciliationWindow),
    balances: Type.Array(ReconciliationBalance, { description: 'one per tenant with windows in the range' }),
    flagged: Type.Integer({ description: 'windows and balances flagged' }),
  },
  { description: 'Metered against reported, per tenant and window' },
);
