// Global identities: a user exists once and joins organizations through memberships.
import { sql } from 'drizzle-orm';
import { index, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, timestamptz } from './columns.js';

export const users = pgTable(
  'users',
  {
    id: id(),
    email: text('email').notNull(),
    passwordHash: text('password_hash').notNull(),
    displayName: text('display_name').notNull(),
    platformRole: text('platform_role'),
    /** When the user used a link mailed to their address; null until then (see email_tokens). */
    emailVerifiedAt: timestamptz('email_verified_at'),
    /** Access tokens issued before this are refused (a password reset sets it); null: none are. */
    tokensValidAfter: timestamptz('tokens_valid_after'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('users_email_key').on(sql`lower(${t.email})`)],
);

/** Refresh tokens rotate on use; a reused one revokes its whole family. */
export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    id: id(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    familyId: uuid('family_id').notNull(),
    tokenHash: text('token_hash').notNull(),
    expiresAt: timestamptz('expires_at').notNull(),
    usedAt: timestamptz('used_at'),
    revokedAt: timestamptz('revoked_at'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('refresh_tokens_hash_key').on(t.tokenHash),
    index('refresh_tokens_family_idx').on(t.familyId),
  ],
);

export type EmailTokenPurpose = 'verify_email' | 'reset_password';

/** One-time tokens mailed to a user (verify the address, reset the password), stored hashed. */
export const emailTokens = pgTable(
  'email_tokens',
  {
    id: id(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    purpose: text('purpose', { enum: ['verify_email', 'reset_password'] }).notNull(),
    tokenHash: text('token_hash').notNull(),
    expiresAt: timestamptz('expires_at').notNull(),
    usedAt: timestamptz('used_at'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('email_tokens_hash_key').on(t.tokenHash), index('email_tokens_user_idx').on(t.userId)],
);

/**
 * RS256 signing keys; the private half is wrapped by the master key (erased once retired). A key
 * is published from creation, signs from `activates_at`, and is retired after `retire_after`.
 */
export const signingKeys = pgTable('signing_keys', {
  kid: text('kid').primaryKey(),
  publicJwk: text('public_jwk').notNull(),
  wrappedPrivateJwk: text('wrapped_private_jwk').notNull(),
  createdAt: createdAt(),
  activatesAt: timestamptz('activates_at').notNull().defaultNow(),
  retireAfter: timestamptz('retire_after'),
  retiredAt: timestamptz('retired_at'),
});
