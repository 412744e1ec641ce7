import Type from 'typebox';
import { Timestamp, Uuid } from '../../common-schemas.js';

// Query strings arrive as text and the validator does not coerce types, so numbers are patterns.
export const AuditQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.String({ pattern: '^(100|[1-9][0-9]?)$', description: 'page size, 1 to 100 (default 50)' }),
    ),
    before: Type.Optional(
      Type.String({ pattern: '^[1-9][0-9]{0,14}$', description: 'nextCursor of the previous page' }),
    ),
  },
  { additionalProperties: false },
);

export const AuditEntry = Type.Object({
  id: Type.Integer(),
  action: Type.String(),
  actorId: Type.Union([Uuid, Type.Null()]),
  targetType: Type.String(),
  targetId: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  details: Type.Object({}, { additionalProperties: true }),
  createdAt: Timestamp,
});

export const AuditPage = Type.Object({
  items: Type.Array(AuditEntry),
  nextCursor: Type.Union([Type.Integer(), Type.Null()]),
});

export const AuditChainReport = Type.Object({
  ok: Type.Boolean({ description: 'true when every link of the chain holds' }),
  checked: Type.Integer({ description: 'entries checked, up to and including the first broken one' }),
  firstBrokenId: Type.Optional(
    Type.Integer({ description: 'id of the first entry whose link does not hold' }),
  ),
  reason: Type.Optional(Type.String({ description: 'why that link does not hold' })),
});
