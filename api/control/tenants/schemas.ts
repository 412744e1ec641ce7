// The operators' tenant directory (GET /api/admin/orgs, GET /api/admin/orgs/:orgId).
import Type from 'typebox';
import { subscriptionStatuses } from '../../../core/billing.js';
import { planNames } from '../../../core/plans.js';
import { namePattern, Timestamp, Uuid } from '../../common-schemas.js';

const OrgStatus = Type.Enum(['onboarding', 'active', 'failed', 'erased'], {
  description: "the organization's onboarding status",
});
const SubscriptionStatus = Type.Enum(subscriptionStatuses, {
  description: 'suspended and canceled tenants are refused on /v1 (past_due is still served)',
});

// Query strings arrive as text and the validator does not coerce types, so numbers are patterns.
export const TenantQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.String({ pattern: '^(100|[1-9][0-9]?)$', description: 'page size, 1 to 100 (default 50)' }),
    ),
    cursor: Type.Optional(
      Type.String({ pattern: '^[A-Za-z0-9_-]{1,200}$', description: 'nextCursor of the previous page' }),
    ),
    status: Type.Optional(OrgStatus),
    subscriptionStatus: Type.Optional(SubscriptionStatus),
    q: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 100,
        pattern: namePattern,
        description: 'part of the name or slug, any case',
      }),
    ),
  },
  { additionalProperties: false },
);

export const Tenant = Type.Object({
  id: Uuid,
  name: Type.String(),
  slug: Type.String(),
  status: OrgStatus,
  failureReason: Type.Union([Type.String(), Type.Null()], { description: 'why onboarding failed' }),
  createdAt: Timestamp,
  plan: Type.Enum(planNames),
  subscriptionStatus: SubscriptionStatus,
  seats: Type.Union([Type.Integer(), Type.Null()], {
    description: 'seats paid for; null when the tenant has no billing account',
  }),
  members: Type.Integer(),
  tokensThisMonth: Type.Integer({
    description: 'prompt + completion tokens since the start of the current UTC month (hourly rollups)',
  }),
  suspension: Type.Union(
    [
      Type.Object({
        reason: Type.String(),
        since: Timestamp,
        by: Uuid,
      }),
      Type.Null(),
    ],
    { description: "an operator's suspension (subscriptionStatus is then suspended); null when none" },
  ),
});

export const SuspendBody = Type.Object(
  {
    reason: Type.String({
      minLength: 1,
      maxLength: 500,
      pattern: namePattern,
      description: 'for the audit log',
    }),
  },
  { additionalProperties: false },
);

export const ResumeBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 500, description: 'for the audit log' })) },
  { additionalProperties: false },
);

export const TenantPage = Type.Object({
  items: Type.Array(Tenant, { description: 'newest first' }),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'null on the last page' }),
});
