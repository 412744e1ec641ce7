import Type from 'typebox';
import { namePattern, Timestamp, Uuid } from '../../common-schemas.js';

export const LegalHoldParams = Type.Object({ orgId: Uuid, holdId: Uuid }, { additionalProperties: false });

export const PlaceLegalHoldBody = Type.Object(
  {
    reason: Type.String({
      minLength: 1,
      maxLength: 500,
      pattern: namePattern,
      description: 'Why data must be kept (a case, an authority’s order); shown on every erasure it blocks',
    }),
    subjectUserId: Type.Optional(
      Type.Union([Uuid, Type.Null()], {
        description: 'The person held; absent or null holds the whole organization',
      }),
    ),
  },
  { additionalProperties: false },
);

export const LegalHold = Type.Object({
  id: Uuid,
  orgId: Uuid,
  subjectUserId: Type.Union([Uuid, Type.Null()]),
  reason: Type.String(),
  placedBy: Type.Union([Uuid, Type.Null()]),
  placedAt: Timestamp,
  releasedAt: Type.Union([Timestamp, Type.Null()]),
});
export const LegalHoldList = Type.Object({ items: Type.Array(LegalHold) });
