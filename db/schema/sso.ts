// Single sign-on through an org's external OIDC identity provider (db/migrations/0006_sso.sql).
// Tenant-owned: RLS on org_id, plus read-only lookups for requests that know no tenant yet (a
// bearer token's issuer, a sign-in callback's state, an interaction's ticket).
import { sql } from 'drizzle-orm';
import { index, jsonb, pgTable, primaryKey, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import type { RoleMapping } from '../../core/sso.js';
import { createdAt, id, orgId, timestamptz } from './columns.js';
import { users } from './identity.js';
import { organizations } from './tenancy.js';

/** The parts of an issuer's OpenID discovery document the platform uses (it keeps all of it). */
export interface IssuerMetadata {
  issuer: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
  jwks_uri?: string;
  [field: string]: unknown;
}

export const ssoConnections = pgTable(
  'sso_connections',
  {
    id: id(),
    orgId: orgId().references(() => organizations.id, { onDelete: 'cascade' }),
    issuer: text('issuer').notNull(),
    clientId: text('client_id').notNull(),
    /** Wrapped with runtime/envelope.ts under the master key, the connection's org as context. */
    clientSecretWrapped: text('client_secret_wrapped').notNull(),
    allowedDomains: text('allowed_domains').array().notNull(),
    roleMapping: jsonb('role_mapping').$type<RoleMapping>().notNull(),
    /** The `aud` that bearer tokens must carry; the client id when unset. */
    audience: text('audience'),
    /** The issuer's discovery document, fetched when the connection was last saved. */
    metadata: jsonb('metadata').$type<IssuerMetadata>().notNull(),
    createdAt: createdAt(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('sso_connections_org_key').on(t.orgId),
    uniqueIndex('sso_connections_issuer_audience_key').on(
      t.issuer,
      sql`coalesce(${t.audience}, ${t.clientId})`,
    ),
  ],
);

/** An external subject of a connection, linked to the platform user it signs in as. */
export const ssoIdentities = pgTable(
  'sso_identities',
  {
    connectionId: uuid('connection_id')
      .notNull()
      .references(() => ssoConnections.id, { onDelete: 'cascade' }),
    subject: text('subject').notNull(),
    orgId: orgId().references(() => organizations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    createdAt: createdAt(),
    lastLoginAt: timestamptz('last_login_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.connectionId, t.subject] }),
    index('sso_identities_org_idx').on(t.orgId),
    index('sso_identities_user_idx').on(t.userId),
  ],
);

/** A sign-in in progress: found by the hash of its state, used once, short-lived. */
export const ssoLogins = pgTable(
  'sso_logins',
  {
    id: id(),
    orgId: orgId().references(() => organizations.id, { onDelete: 'cascade' }),
    connectionId: uuid('connection_id')
      .notNull()
      .references(() => ssoConnections.id, { onDelete: 'cascade' }),
    stateHash: text('state_hash').notNull(),
    nonce: text('nonce').notNull(),
    codeVerifierWrapped: text('code_verifier_wrapped').notNull(),
    expiresAt: timestamptz('expires_at').notNull(),
    createdAt: createdAt(),
    /** The authorization server's interaction this sign-in was started from, if any (0028). */
    interactionUid: text('interaction_uid'),
  },
  (t) => [uniqueIndex('sso_logins_state_key').on(t.stateHash), index('sso_logins_org_idx').on(t.orgId)],
);

/**
 * A finished sign-in handed back to the authorization server's interaction it was started from:
 * found by the ticket's hash, bound to that interaction and user, used once, short-lived (0028).
 */
export const ssoInteractionTickets = pgTable(
  'sso_interaction_tickets',
  {
    ticketHash: text('ticket_hash').primaryKey(),
    orgId: orgId().references(() => organizations.id, { onDelete: 'cascade' }),
    interactionUid: text('interaction_uid').notNull(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    expiresAt: timestamptz('expires_at').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('sso_interaction_tickets_org_idx').on(t.orgId),
    index('sso_interaction_tickets_user_idx').on(t.userId),
  ],
);
