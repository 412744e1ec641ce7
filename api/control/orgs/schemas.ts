import Type from 'typebox';
import { slugPattern } from './orgs.js';
import { namePattern, Role, Timestamp, Uuid } from '../../common-schemas.js';

export const CreateOrgBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: namePattern }),
    slug: Type.Optional(
      Type.String({ pattern: slugPattern, description: '3 to 48 lower-case letters, digits and dashes' }),
    ),
  },
  { additionalProperties: false },
);

export const OrgCreated = Type.Object({
  orgId: Uuid,
  workflowId: Type.String(),
  status: Type.Literal('onboarding'),
});

export const Organization = Type.Object({
  id: Uuid,
  name: Type.String(),
  slug: Type.String(),
  status: Type.Union([
    Type.Literal('onboarding'),
    Type.Literal('active'),
    Type.Literal('failed'),
    Type.Literal('erased'),
  ]),
  failureReason: Type.Union([Type.String(), Type.Null()]),
  role: Type.Union([Role, Type.Null()], {
    description: "the caller's role; null while onboarding has not made them a member",
  }),
  createdAt: Timestamp,
});

export const OrganizationList = Type.Object({ items: Type.Array(Organization) });
