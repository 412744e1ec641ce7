import Type from 'typebox';
import { Email, Role, Timestamp, Uuid } from '../../common-schemas.js';

export const CreateInvitationBody = Type.Object(
  { email: Email, role: Role },
  { additionalProperties: false },
);

export const AcceptInvitationBody = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);

export const InvitationParams = Type.Object(
  { orgId: Uuid, invitationId: Uuid },
  { additionalProperties: false },
);

export const Invitation = Type.Object({
  id: Uuid,
  email: Type.String(),
  role: Role,
  status: Type.Union([
    Type.Literal('pending'),
    Type.Literal('accepted'),
    Type.Literal('revoked'),
    Type.Literal('expired'),
  ]),
  expiresAt: Timestamp,
  createdAt: Timestamp,
});

export const CreatedInvitation = Type.Object({
  ...Invitation.properties,
  token: Type.String({
    description: 'the one-time token; shown only in this answer and in the invitation mail',
  }),
});

export const InvitationList = Type.Object({ items: Type.Array(Invitation) });

export const AcceptedInvitation = Type.Object({ orgId: Uuid, role: Role });
