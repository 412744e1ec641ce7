// One usage event per inference request: what the gateway sends to the ledger. The schema checks
// events read back from the stream, so a malformed one is set aside instead of blocking the rest.
// Unknown fields are ignored, so a newer producer does not break an older consumer mid-rollout.
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';

const Uuid = Type.String({ format: 'uuid' });
const Count = Type.Integer({ minimum: 0, maximum: 2_147_483_647 });
// No NUL: PostgreSQL text cannot hold it, and one such event would fail its whole batch forever.
const Name = Type.String({ minLength: 1, maxLength: 256, pattern: '^[^\\u0000]+$' });

export const UsageEventSchema = Type.Object({
  /** Unique per request: the ledger stores each id once, however often it is delivered. */
  id: Uuid,
  /** When the request started (ISO 8601); fixed when the event is created. */
  occurredAt: Type.String({ format: 'date-time' }),
  orgId: Uuid,
  teamId: Type.Union([Uuid, Type.Null()]),
  keyId: Uuid,
  model: Name,
  deploymentId: Type.Union([Name, Type.Null()]),
  promptTokens: Count,
  completionTokens: Count,
  cachedTokens: Count,
  /** The upstream reported no usage, so the gateway counted the tokens itself. */
  estimated: Type.Boolean(),
  timeToFirstTokenMs: Type.Union([Count, Type.Null()]),
  durationMs: Count,
  /** The HTTP status sent to the client. */
  status: Type.Integer({ minimum: 100, maximum: 599 }),
  streamed: Type.Boolean(),
  cancelled: Type.Boolean(),
  /** The API request's id (the x-request-id the client got back). */
  requestId: Type.String({ minLength: 1, maxLength: 128 }),
});

export type UsageEvent = Static<typeof UsageEventSchema>;

const validator = Compile(UsageEventSchema);
const earliest = Date.parse('2000-01-01T00:00:00Z');
/** Clock skew tolerated between the gateway and the consumer. */
const maxFutureMs = 24 * 3_600_000;

/** The event, or why it is not one. `now` bounds `occurredAt` (a far-future month is a bug, not usage). */
export function parseUsageEvent(value: unknown, now = Date.now()): UsageEvent | { invalid: string } {
  if (!validator.Check(value)) {
    const problems = [...validator.Errors(value)]
      .slice(0, 5)
      .map((e) => `${e.instancePath || '/'} ${e.message}`);
    return { invalid: problems.join('; ') };
  }
  const at = Date.parse(value.occurredAt);
  if (at < earliest || at > now + maxFutureMs)
    return { invalid: `/occurredAt ${value.occurredAt} is outside 2000-01-01 .. now + 24 h` };
  return value;
}

/** The stream entry's one field: the event as JSON. */
export const usageEventField = 'event';
