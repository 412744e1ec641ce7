// The tenant (organization) and everything owned by it. Every table here has RLS on org_id.
import { sql } from 'drizzle-orm';
import { check, index, jsonb, pgTable, primaryKey, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { subscriptionStatuses } from '../../core/billing.js';
import { planNames } from '../../core/plans.js';
import { createdAt, id, orgId, timestamptz } from './columns.js';
import { users } from './identity.js';

export const organizations = pgTable(
  'organizations',
  {
    id: id(),
    name: text('name').notNull(),
    slug: text('slug').notNull(),
    status: text('status', { enum: ['onboarding', 'active', 'failed', 'erased'] })
      .notNull()
      .default('onboarding'),
    failureReason: text('failure_reason'),
    /** What the org may do on the inference path: core/plans.ts. */
    plan: text('plan', { enum: planNames }).notNull().default('developer'),
    /** The subscription's state (core/billing.ts); suspended and canceled tenants are refused on /v1. */
    subscriptionStatus: text('subscription_status', { enum: subscriptionStatuses })
      .notNull()
      .default('active'),
    settings: jsonb('settings')
      .$type<Record<string, unknown>>()
      .notNull()
      .default(sql`'{}'::jsonb`),
    createdBy: uuid('created_by')
      .notNull()
      .references(() => users.id),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('organizations_slug_key').on(t.slug),
    check('organizations_plan_known', sql`${t.plan} IN ('free', 'developer', 'team', 'enterprise')`),
  ],
);

export const memberships = pgTable(
  'memberships',
  {
    orgId: orgId().references(() => organizations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: text('role', { enum: ['owner', 'admin', 'member', 'billing', 'viewer'] }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.userId] }), index('memberships_user_idx').on(t.userId)],
);

export const teams = pgTable(
  'teams',
  {
    id: id(),
    orgId: orgId().references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    createdAt: createdAt(),
  },
  (t) => [index('teams_org_idx').on(t.orgId), uniqueIndex('teams_org_name_key').on(t.orgId, t.name)],
);

export const teamMembers = pgTable(
  'team_members',
  {
    orgId: orgId().references(() => organizations.id, { onDelete: 'cascade' }),
    teamId: uuid('team_id')
      .notNull()
      .references(() => teams.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.teamId, t.userId] }), index('team_members_org_idx').on(t.orgId)],
);

export const invitations = pgTable(
  'invitations',
  {
    id: id(),
    orgId: orgId().references(() => organizations.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    role: text('role', { enum: ['owner', 'admin', 'member', 'billing', 'viewer'] }).notNull(),
    tokenHash: text('token_hash').notNull(),
    invitedBy: uuid('invited_by')
      .notNull()
      .references(() => users.id),
    expiresAt: timestamptz('expires_at').notNull(),
    acceptedAt: timestamptz('accepted_at'),
    revokedAt: timestamptz('revoked_at'),
    createdAt: createdAt(),
  },
  (t) => [index('invitations_org_idx').on(t.orgId), uniqueIndex('invitations_token_key').on(t.tokenHash)],
);

/** Per-tenant data keys for the Temporal PayloadCodec; destroying one shreds that tenant's histories. */
export const tenantDataKeys = pgTable('tenant_data_keys', {
  orgId: orgId()
    .primaryKey()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  wrappedKey: text('wrapped_key').notNull(),
  createdAt: createdAt(),
  destroyedAt: timestamptz('destroyed_at'),
});
