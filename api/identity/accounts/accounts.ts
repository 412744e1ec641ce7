// Sign-up, email verification, password reset and login. Sign-up and reset answer the same for a
// known and an unknown address (what differs is the mail the address's owner gets), and login
// answers one error for a wrong password and an unknown email with the same argon2 work for both,
// so neither an answer nor its timing reveals who has an account. Only a verified address signs in.
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../../db/client.js';
import { oidcPayloads, refreshTokens, users } from '../../../db/schema/index.js';
import { AppError } from '../../errors.js';
import { recordAudit } from '../../audit.js';
import {
  consumeEmailToken,
  enqueueAccountMail,
  issueEmailLink,
  passwordResetMail,
  signUpExistingMail,
  spendUserLinks,
  verificationMail,
  type EmailLinkSettings,
} from './email-links.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { issueRefreshToken } from './refresh-tokens.js';

export interface UserView {
  id: string;
  email: string;
  displayName: string;
  createdAt: string;
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

function toView(row: typeof users.$inferSelect): UserView {
  return {
    id: row.id,
    email: row.email,
    displayName: row.displayName,
    createdAt: row.createdAt.toISOString(),
  };
}

export interface SignUpInput {
  email: string;
  password: string;
  displayName?: string | undefined;
}

export interface SignedIn {
  user: UserView;
  refreshToken: string;
}

/** The password of an account erased by a GDPR erasure (db/migrations/0019): no link revives it. */
const erasedPasswordHash = '!erased';

function userByEmail(tx: Tx, email: string) {
  return tx
    .select()
    .from(users)
    .where(eq(sql`lower(${users.email})`, email))
    .limit(1);
}

/**
 * Records a new account and mails a verification link to its address; when the address has an
 * account already, mails its owner a password-reset link instead. Both take the same password
 * hashing and answer the same; the caller delivers the outbox row it answers after commit.
 */
export async function signUp(
  db: Db,
  input: SignUpInput,
  links: EmailLinkSettings,
  ip: string | null,
): Promise<string> {
  const email = normalizeEmail(input.email);
  const passwordHash = await hashPassword(input.password);
  const displayName = input.displayName?.trim() || email.split('@')[0] || email;
  return db.transaction(async (tx) => {
    const [created] = await tx
      .insert(users)
      .values({ email, passwordHash, displayName })
      .onConflictDoNothing()
      .returning();
    if (created) {
      await recordAudit(
        tx,
        { userId: created.id, ip },
        { orgId: null, action: 'auth.signup', targetType: 'user', targetId: created.id },
      );
      const link = await issueEmailLink(tx, created.id, 'verify_email', links);
      return enqueueAccountMail(tx, link.tokenId, verificationMail(email, link));
    }
    const [existing] = await userByEmail(tx, email);
    if (!existing) throw new Error(`sign-up of ${email} conflicted with no account`);
    await recordAudit(
      tx,
      { userId: null, ip },
      { orgId: null, action: 'auth.signup_existing', targetType: 'user', targetId: existing.id },
    );
    const link = await issueEmailLink(tx, existing.id, 'reset_password', links);
    return enqueueAccountMail(tx, link.tokenId, signUpExistingMail(existing.email, link));
  });
}

/** Marks the address of the link's user verified; an unknown, used or expired link is INVALID_TOKEN. */
export async function verifyEmail(db: Db, token: string, ip: string | null): Promise<void> {
  await db.transaction(async (tx) => {
    const userId = await consumeEmailToken(tx, token, 'verify_email');
    if (!userId) throw new AppError('INVALID_TOKEN', 'The link is invalid, used or expired.');
    await tx
      .update(users)
      .set({ emailVerifiedAt: new Date() })
      .where(and(eq(users.id, userId), isNull(users.emailVerifiedAt)));
    await recordAudit(
      tx,
      { userId, ip },
      { orgId: null, action: 'auth.email_verify', targetType: 'user', targetId: userId },
    );
  });
}

/**
 * Mails a password-reset link to the account of this address; answers its outbox row, or null when
 * no account has the address (the caller answers the same either way).
 */
export async function requestPasswordReset(
  db: Db,
  input: { email: string },
  links: EmailLinkSettings,
  ip: string | null,
): Promise<string | null> {
  const email = normalizeEmail(input.email);
  return db.transaction(async (tx) => {
    const [user] = await userByEmail(tx, email);
    if (!user || user.passwordHash === erasedPasswordHash) return null;
    await recordAudit(
      tx,
      { userId: null, ip },
      { orgId: null, action: 'auth.password_reset_request', targetType: 'user', targetId: user.id },
    );
    const link = await issueEmailLink(tx, user.id, 'reset_password', links);
    return enqueueAccountMail(tx, link.tokenId, passwordResetMail(user.email, link));
  });
}

/**
 * Sets a new password through a reset link. The link proves the mailbox, so the address becomes
 * verified; every sign-in of the account ends: refresh tokens revoked, access tokens issued before
 * now refused (tokens_valid_after), the authorization server's sessions and grants (and so its
 * tokens) deleted, other mailed links spent.
 */
export async function resetPassword(
  db: Db,
  input: { token: string; password: string },
  ip: string | null,
): Promise<void> {
  const passwordHash = await hashPassword(input.password);
  await db.transaction(async (tx) => {
    const userId = await consumeEmailToken(tx, input.token, 'reset_password');
    const [user] = userId ? await tx.select().from(users).where(eq(users.id, userId)).for('update') : [];
    if (!user || user.passwordHash === erasedPasswordHash)
      throw new AppError('INVALID_TOKEN', 'The link is invalid, used or expired.');
    const now = new Date();
    await tx
      .update(users)
      .set({ passwordHash, emailVerifiedAt: user.emailVerifiedAt ?? now, tokensValidAfter: now })
      .where(eq(users.id, user.id));
    await tx
      .update(refreshTokens)
      .set({ revokedAt: now })
      .where(and(eq(refreshTokens.userId, user.id), isNull(refreshTokens.revokedAt)));
    await tx.delete(oidcPayloads).where(eq(sql`${oidcPayloads.payload} ->> 'accountId'`, user.id));
    await spendUserLinks(tx, user.id);
    await recordAudit(
      tx,
      { userId: user.id, ip },
      { orgId: null, action: 'auth.password_reset', targetType: 'user', targetId: user.id },
    );
  });
}

/**
 * The user with this email and password; a failure is audited and answers INVALID_CREDENTIALS, an
 * account whose address was never verified EMAIL_NOT_VERIFIED.
 */
async function authenticate(
  db: Db,
  input: { email: string; password: string },
  ip: string | null,
): Promise<typeof users.$inferSelect> {
  const email = normalizeEmail(input.email);
  const [row] = await db
    .select()
    .from(users)
    .where(eq(sql`lower(${users.email})`, email))
    .limit(1);
  const ok = await verifyPassword(row?.passwordHash, input.password);
  if (!row || !ok) {
    await db.transaction((tx) =>
      recordAudit(
        tx,
        { userId: row?.id ?? null, ip },
        { orgId: null, action: 'auth.login_failed', targetType: 'user', targetId: row?.id ?? null },
      ),
    );
    throw new AppError('INVALID_CREDENTIALS');
  }
  // Said only to whoever knows the password: the account cannot be used before its address is.
  if (!row.emailVerifiedAt) throw new AppError('EMAIL_NOT_VERIFIED');
  return row;
}

export async function logIn(
  db: Db,
  input: { email: string; password: string },
  refreshTtlSeconds: number,
  ip: string | null,
): Promise<SignedIn> {
  const row = await authenticate(db, input, ip);
  return db.transaction(async (tx) => {
    await recordAudit(
      tx,
      { userId: row.id, ip },
      { orgId: null, action: 'auth.login', targetType: 'user', targetId: row.id },
    );
    const refreshToken = await issueRefreshToken(tx, row.id, refreshTtlSeconds);
    return { user: toView(row), refreshToken };
  });
}

/** A login without a platform session: the authorization server's login page (it keeps its own). */
export async function checkPassword(
  db: Db,
  input: { email: string; password: string },
  ip: string | null,
): Promise<UserView> {
  const row = await authenticate(db, input, ip);
  await db.transaction((tx) =>
    recordAudit(
      tx,
      { userId: row.id, ip },
      { orgId: null, action: 'auth.login', targetType: 'user', targetId: row.id, details: { via: 'oidc' } },
    ),
  );
  return toView(row);
}

/** The signed-in user, with their role on the platform (operators run it; null for everyone else). */
export async function getUser(db: Db, userId: string): Promise<UserView & { platformRole: string | null }> {
  const [row] = await db.select().from(users).where(eq(users.id, userId)).limit(1);
  if (!row) throw new AppError('INVALID_TOKEN');
  return { ...toView(row), platformRole: row.platformRole };
}
