import Type from 'typebox';
import { Timestamp, Uuid } from '../../common-schemas.js';

export const UsageQuery = Type.Object(
  {
    from: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'start (inclusive), rounded down to the hour or UTC day; default: 24 h before `to`',
      }),
    ),
    to: Type.Optional(
      Type.String({
        format: 'date-time',
        description:
          'end (exclusive), rounded up to the hour or UTC day; default: now. At most 93 days after `from`',
      }),
    ),
    granularity: Type.Optional(
      Type.Union([Type.Literal('hour'), Type.Literal('day')], {
        description: 'bucket size: hour (default) or day (UTC)',
      }),
    ),
    groupBy: Type.Optional(
      Type.Union([Type.Literal('model'), Type.Literal('key'), Type.Literal('team')], {
        description:
          'what each row is for: model (default), key (API key id) or team (team id; null: no team)',
      }),
    ),
    teamId: Type.Optional(
      Type.String({
        format: 'uuid',
        description: "only this team's usage (an API key bound to a team reads only its team's)",
      }),
    ),
  },
  { additionalProperties: false },
);

export const UsageRow = Type.Object({
  period: Timestamp,
  group: Type.Union([Type.String(), Type.Null()], {
    description: 'the model name, API key id or team id (null: requests of keys without a team)',
  }),
  requests: Type.Integer(),
  errors: Type.Integer({ description: 'requests answered with a status of 400 or more' }),
  cancelled: Type.Integer({ description: 'streams the client cancelled (billed for what was generated)' }),
  promptTokens: Type.Integer(),
  completionTokens: Type.Integer(),
  cachedTokens: Type.Integer(),
  totalTokens: Type.Integer({ description: 'prompt + completion tokens' }),
  estimated: Type.Integer({
    description: 'requests whose tokens were counted by the gateway (no upstream usage)',
  }),
});

export const UsageReport = Type.Object({
  orgId: Uuid,
  from: Timestamp,
  to: Timestamp,
  granularity: Type.Union([Type.Literal('hour'), Type.Literal('day')]),
  groupBy: Type.Union([Type.Literal('model'), Type.Literal('key'), Type.Literal('team')]),
  teamId: Type.Union([Uuid, Type.Null()]),
  rows: Type.Array(UsageRow, { description: 'one per period and group with any requests, in time order' }),
});
