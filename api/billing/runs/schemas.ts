// The operators' list of billing runs (GET /api/admin/billing/runs).
import Type from 'typebox';
import { Timestamp } from '../../common-schemas.js';

// Query strings arrive as text and the validator does not coerce types, so numbers are patterns.
export const BillingRunQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.String({ pattern: '^(100|[1-9][0-9]?)$', description: 'page size, 1 to 100 (default 24)' }),
    ),
    cursor: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'nextCursor of the previous page: only the windows that start before it',
      }),
    ),
  },
  { additionalProperties: false },
);

const CountWhenFinished = (description: string) =>
  Type.Union([Type.Integer(), Type.Null()], { description: `${description}; null until the run finished` });

export const BillingRun = Type.Object({
  windowStart: Timestamp,
  windowEnd: Timestamp,
  workflowId: Type.String({ description: 'billing/<window>, in the Temporal UI' }),
  status: Type.Enum(['running', 'completed', 'incomplete', 'stopped'], {
    description:
      'completed: every tenant billed; incomplete: finished, some tenants not billed (the next run reports their usage); ' +
      'stopped: its workflow closed without finishing (terminated, timed out): backfill the window',
  }),
  tenants: CountWhenFinished('tenants the run went through, those it could not bill included'),
  failedTenants: CountWhenFinished('tenants it could not bill (also null for runs recorded before 0026)'),
  meterEvents: CountWhenFinished("the window's meter events"),
  lateTokens: CountWhenFinished('tokens reported in this window from earlier hours'),
  startedAt: Timestamp,
  finishedAt: Type.Union([Timestamp, Type.Null()]),
});

export const BillingRunPage = Type.Object({
  items: Type.Array(BillingRun, { description: 'newest window first' }),
  nextCursor: Type.Union([Timestamp, Type.Null()], { description: 'null on the last page' }),
});
