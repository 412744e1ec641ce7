import Type from 'typebox';
import { namePattern, Timestamp, Uuid } from '../../common-schemas.js';

const Name = Type.String({ minLength: 1, maxLength: 100, pattern: namePattern });
const Description = Type.String({ maxLength: 1000 });

export const TeamParams = Type.Object({ orgId: Uuid, teamId: Uuid }, { additionalProperties: false });
export const TeamMemberParams = Type.Object(
  { orgId: Uuid, teamId: Uuid, userId: Uuid },
  { additionalProperties: false },
);

export const CreateTeamBody = Type.Object(
  { name: Name, description: Type.Optional(Description) },
  { additionalProperties: false },
);

export const UpdateTeamBody = Type.Object(
  { name: Type.Optional(Name), description: Type.Optional(Description) },
  { additionalProperties: false, minProperties: 1 },
);

export const Team = Type.Object({
  id: Uuid,
  name: Type.String(),
  description: Type.String(),
  createdAt: Timestamp,
});
export const TeamList = Type.Object({ items: Type.Array(Team) });

export const TeamMember = Type.Object({
  userId: Uuid,
  email: Type.String(),
  displayName: Type.String(),
  addedAt: Timestamp,
});
export const TeamMemberList = Type.Object({ items: Type.Array(TeamMember) });
