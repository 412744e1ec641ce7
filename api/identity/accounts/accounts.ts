// Sign-up and login. Login answers one error for a wrong password and an unknown email, and does
// the same argon2 work for both, so neither the answer nor its timing reveals who has an account.
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../../../db/client.js';
import { users } from '../../../db/schema/index.js';
import { AppError } from '../../errors.js';
import { recordAudit } from '../../audit.js';
import { isUniqueViolation } from '../../db-errors.js';
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

export async function signUp(
  db: Db,
  input: SignUpInput,
  refreshTtlSeconds: number,
  ip: string | null,
): Promise<SignedIn> {
  const email = normalizeEmail(input.email);
  const passwordHash = await hashPassword(input.password);
  const displayName = input.displayName?.trim() || email.split('@')[0] || email;
  try {
    return await db.transaction(async (tx) => {
      const [row] = await tx.insert(users).values({ email, passwordHash, displayName }).returning();
      if (!row) throw new Error('insert returned no row');
      await recordAudit(
        tx,
        { userId: row.id, ip },
        { orgId: null, action: 'auth.signup', targetType: 'user', targetId: row.id },
      );
      const refreshToken = await issueRefreshToken(tx, row.id, refreshTtlSeconds);
      return { user: toView(row), refreshToken };
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError('CONFLICT', 'An account with this email already exists.');
    throw err;
  }
}

/** The user with this email and password; a failure is audited and answers INVALID_CREDENTIALS. */
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

export async function getUser(db: Db, userId: string): Promise<UserView> {
  const [row] = await db.select().from(users).where(eq(users.id, userId)).limit(1);
  if (!row) throw new AppError('INVALID_TOKEN');
  return toView(row);
}
