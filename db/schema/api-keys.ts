// API keys for inference clients. A key is `vl_<env>_<prefix>_<secret>`: the prefix finds the row,
// the secret is kept only as an HMAC (see api/services/api-keys.ts). Tenant-owned: RLS on org_id,
// plus a read-only policy that shows one row to the verifier that names its prefix.
import { sql } from 'drizzle-orm';
import { check, cidr, index, integer, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import type { ApiKeyScope } from '../../core/rbac.js';
import { createdAt, id, orgId, timestamptz } from './columns.js';
import { users } from './identity.js';
import { organizations, teams } from './tenancy.js';

export const apiKeys = pgTable(
  'api_keys',
  {
    id: id(),
    orgId: orgId().references(() => organizations.id, { onDelete: 'cascade' }),
    teamId: uuid('team_id').references(() => teams.id, { onDelete: 'cascade' }),
    createdBy: uuid('created_by')
      .notNull()
      .references(() => users.id),
    name: text('name').notNull(),
    prefix: text('prefix').notNull(),
    secretHash: text('secret_hash').notNull(),
    previousSecretHash: text('previous_secret_hash'),
    previousValidUntil: timestamptz('previous_valid_until'),
    scopes: text('scopes').array().notNull().$type<ApiKeyScope[]>(),
    expiresAt: timestamptz('expires_at'),
    allowedModels: text('allowed_models').array(),
    allowedIps: cidr('allowed_ips').array(),
    /** The key's own limits, never above its org's plan; null means the plan's. */
    requestsPerMinute: integer('requests_per_minute'),
    tokensPerMinute: integer('tokens_per_minute'),
    lastUsedAt: timestamptz('last_used_at'),
    revokedAt: timestamptz('revoked_at'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('api_keys_prefix_key').on(t.prefix),
    index('api_keys_org_idx').on(t.orgId),
    check(
      'api_keys_scopes_known',
      sql`cardinality(${t.scopes}) > 0 AND ${t.scopes} <@ ARRAY['inference','models:read','usage:read','admin']::text[]`,
    ),
    check('api_keys_requests_per_minute_positive', sql`${t.requestsPerMinute} > 0`),
    check('api_keys_tokens_per_minute_positive', sql`${t.tokensPerMinute} > 0`),
  ],
);
