import Type from 'typebox';
import { Role, Timestamp, Uuid } from '../../common-schemas.js';

export const MemberParams = Type.Object({ orgId: Uuid, userId: Uuid }, { additionalProperties: false });

export const ChangeRoleBody = Type.Object({ role: Role }, { additionalProperties: false });

export const Member = Type.Object({
  userId: Uuid,
  email: Type.String(),
  displayName: Type.String(),
  role: Role,
  joinedAt: Timestamp,
});

export const MemberList = Type.Object({ items: Type.Array(Member) });
