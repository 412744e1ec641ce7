// Shapes shared by the management API: the error body, ids, roles, pagination.
import Type from 'typebox';

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      requestId: Type.String(),
      details: Type.Optional(Type.Object({}, { additionalProperties: true })),
    }),
  },
  { description: 'An error with a stable machine-readable code' },
);

/** Error responses for the given statuses, for a route's `response` map. */
export function errors<const S extends number>(...statuses: S[]): Record<S, typeof ErrorBody> {
  return Object.fromEntries(statuses.map((s) => [s, ErrorBody])) as Record<S, typeof ErrorBody>;
}

/** The statuses every authenticated management route can answer. */
export const authErrors = [400, 401] as const;
export const orgErrors = [400, 401, 403, 404] as const;

/**
 * What JavaScript's `\s` and `trim()` count as white space, spelled out: a fuzzer's regex engine
 * (Python's) has another `\s`, and the document must mean the same to both.
 */
export const whiteSpace =
  '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';

/** A name: some character that is not white space, and no NUL (PostgreSQL text cannot hold U+0000). */
export const namePattern = `^[^\\u0000]*[^${whiteSpace}\\u0000][^\\u0000]*$`;

export const Uuid = Type.String({ format: 'uuid' });
export const Timestamp = Type.String({ format: 'date-time' });
export const Role = Type.Union([
  Type.Literal('owner'),
  Type.Literal('admin'),
  Type.Literal('member'),
  Type.Literal('billing'),
  Type.Literal('viewer'),
]);
export const Email = Type.String({ format: 'email', maxLength: 254 });

export const OrgParams = Type.Object({ orgId: Uuid }, { additionalProperties: false });
