// The built-in OAuth 2.0 / OpenID Connect server: what oidc-provider persists (not tenant-owned;
// looked up by opaque ids), and the OAuth clients an org's managers register (tenant-owned, RLS).
import { index, jsonb, pgTable, primaryKey, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import type { ApiKeyScope } from '../../core/rbac.js';
import { createdAt, id, orgId, timestamptz } from './columns.js';
import { users } from './identity.js';
import { organizations } from './tenancy.js';

export const oidcPayloads = pgTable(
  'oidc_payloads',
  {
    model: text('model').notNull(),
    id: text('id').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    grantId: text('grant_id'),
    userCode: text('user_code'),
    uid: text('uid'),
    expiresAt: timestamptz('expires_at'),
    consumedAt: timestamptz('consumed_at'),
  },
  (t) => [
    primaryKey({ columns: [t.model, t.id] }),
    index('oidc_payloads_grant_idx').on(t.grantId),
    index('oidc_payloads_uid_idx').on(t.uid),
    index('oidc_payloads_user_code_idx').on(t.userCode),
    index('oidc_payloads_expires_idx').on(t.expiresAt),
  ],
);

export type OAuthGrantType = 'authorization_code' | 'refresh_token' | 'client_credentials';

export const oauthClients = pgTable(
  'oauth_clients',
  {
    id: id(),
    orgId: orgId().references(() => organizations.id, { onDelete: 'cascade' }),
    clientId: text('client_id').notNull(),
    name: text('name').notNull(),
    wrappedSecret: text('wrapped_secret').notNull(),
    grantTypes: text('grant_types').array().notNull().$type<OAuthGrantType[]>(),
    redirectUris: text('redirect_uris').array().notNull().default([]),
    scopes: text('scopes').array().notNull().$type<ApiKeyScope[]>(),
    createdBy: uuid('created_by')
      .notNull()
      .references(() => users.id),
    revokedAt: timestamptz('revoked_at'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('oauth_clients_client_id_key').on(t.clientId),
    index('oauth_clients_org_idx').on(t.orgId),
  ],
);
