// Just-in-time provisioning of an identity that signed in through an org's identity provider: the
// external subject is linked to a platform user (created on first sign-in), the user becomes a member
// with the role the mapping gives, and later sign-ins follow the mapping — except for owners, whom
// an identity provider never demotes. An email that already belongs to another platform account is
// refused: signing in through a provider an org admin configured must not take over that account.
import { randomBytes } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { Role } from '../../../core/rbac.js';
import { domainAllowed, emailDomain, roleFromClaims } from '../../../core/sso.js';
import type { Db, Tx } from '../../../db/client.js';
import { memberships, ssoIdentities, users } from '../../../db/schema/index.js';
import { withTenant } from '../../../db/tenant.js';
import { AppError } from '../../errors.js';
import { normalizeEmail, type UserView } from '../accounts/accounts.js';
import { recordAudit, type Actor } from '../../audit.js';
import { isUniqueViolation } from '../../db-errors.js';
import { hashPassword } from '../accounts/passwords.js';
import type { SsoConnectionRow } from './connections.js';

export interface SsoSignedIn {
  user: UserView;
  orgId: string;
  role: Role;
  /** What `issue` answered: a refresh token, or a ticket back to an authorization server interaction. */
  credential: string;
}

/** Writes, in the provisioning's transaction, what the browser gets for the signed-in user. */
export type IssueCredential = (tx: Tx, userId: string) => Promise<string>;

interface ExternalIdentity {
  subject: string;
  email: string;
  displayName: string;
}

function identityFrom(claims: Record<string, unknown>): ExternalIdentity {
  const { sub, email, email_verified: verified, name } = claims;
  if (typeof sub !== 'string' || sub.length === 0)
    throw new AppError('UNAUTHENTICATED', 'The identity provider sent no subject.');
  if (typeof email !== 'string' || emailDomain(email) === null)
    throw new AppError('FORBIDDEN', 'The identity provider sent no email address for this account.');
  if (verified === false)
    throw new AppError('FORBIDDEN', 'The identity provider has not verified this email address.');
  const normalized = normalizeEmail(email);
  const displayName =
    typeof name === 'string' && name.trim() ? name.trim().slice(0, 100) : normalized.split('@')[0]!;
  return { subject: sub, email: normalized, displayName };
}

/** The platform user linked to the subject, creating both on first sign-in. */
async function linkedUser(
  tx: Tx,
  connection: SsoConnectionRow,
  identity: ExternalIdentity,
  actor: Actor,
): Promise<typeof users.$inferSelect> {
  const [link] = await tx
    .select({ userId: ssoIdentities.userId })
    .from(ssoIdentities)
    .where(and(eq(ssoIdentities.connectionId, connection.id), eq(ssoIdentities.subject, identity.subject)))
    .for('update');
  if (link) {
    await tx
      .update(ssoIdentities)
      .set({ email: identity.email, lastLoginAt: new Date() })
      .where(and(eq(ssoIdentities.connectionId, connection.id), eq(ssoIdentities.subject, identity.subject)));
    const [user] = await tx.select().from(users).where(eq(users.id, link.userId));
    if (!user) throw new Error('linked user vanished');
    return user;
  }
  const [taken] = await tx
    .select({ id: users.id })
    .from(users)
    .where(eq(sql`lower(${users.email})`, identity.email));
  if (taken) throw emailTaken();
  // No password works for this account: it signs in only through its identity provider.
  const passwordHash = await hashPassword(randomBytes(32).toString('base64url'));
  const [user] = await tx
    .insert(users)
    .values({ email: identity.email, passwordHash, displayName: identity.displayName })
    .returning();
  if (!user) throw new Error('insert returned no row');
  await tx.insert(ssoIdentities).values({
    connectionId: connection.id,
    subject: identity.subject,
    orgId: connection.orgId,
    userId: user.id,
    email: identity.email,
  });
  await recordAudit(
    tx,
    { ...actor, userId: user.id },
    {
      orgId: connection.orgId,
      action: 'sso.user_provision',
      targetType: 'user',
      targetId: user.id,
      details: { connectionId: connection.id, subject: identity.subject, email: identity.email },
    },
  );
  return user;
}

const emailTaken = () =>
  new AppError(
    'CONFLICT',
    'An account with this email already exists; it cannot be signed in to through single sign-on.',
  );

/** Makes the user a member with the mapped role, or moves their role to it; owners stay owners. */
async function applyRole(tx: Tx, orgId: string, userId: string, mapped: Role, actor: Actor): Promise<Role> {
  const [membership] = await tx
    .select({ role: memberships.role })
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)))
    .for('update');
  if (!membership) {
    await tx.insert(memberships).values({ orgId, userId, role: mapped });
    await recordAudit(tx, actor, {
      orgId,
      action: 'sso.member_provision',
      targetType: 'user',
      targetId: userId,
      details: { role: mapped },
    });
    return mapped;
  }
  if (membership.role === 'owner' || membership.role === mapped) return membership.role;
  await tx
    .update(memberships)
    .set({ role: mapped })
    .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)));
  await recordAudit(tx, actor, {
    orgId,
    action: 'member.role_change',
    targetType: 'user',
    targetId: userId,
    details: { from: membership.role, to: mapped, via: 'sso' },
  });
  return mapped;
}

export async function provisionSsoUser(
  db: Db,
  connection: SsoConnectionRow,
  claims: Record<string, unknown>,
  options: { ip: string | null; issue: IssueCredential },
): Promise<SsoSignedIn> {
  const orgId = connection.orgId;
  const refuse = async (error: AppError): Promise<never> => {
    await withTenant(db, orgId, (tx) =>
      recordAudit(
        tx,
        { userId: null, ip: options.ip },
        {
          orgId,
          action: 'auth.sso_login_failed',
          targetType: 'sso_connection',
          targetId: connection.id,
          details: { reason: error.message, subject: typeof claims.sub === 'string' ? claims.sub : null },
        },
      ),
    );
    throw error;
  };
  let identity: ExternalIdentity;
  try {
    identity = identityFrom(claims);
  } catch (err) {
    if (err instanceof AppError) return refuse(err);
    throw err;
  }
  if (!domainAllowed(identity.email, connection.allowedDomains))
    return refuse(
      new AppError(
        'FORBIDDEN',
        `Accounts of ${emailDomain(identity.email)} may not sign in to this organization.`,
      ),
    );
  const mapped = roleFromClaims(connection.roleMapping, claims);
  try {
    return await withTenant(db, orgId, async (tx) => {
      const user = await linkedUser(tx, connection, identity, { userId: null, ip: options.ip });
      const actor = { userId: user.id, ip: options.ip };
      const role = await applyRole(tx, orgId, user.id, mapped, actor);
      await recordAudit(tx, actor, {
        orgId,
        action: 'auth.sso_login',
        targetType: 'user',
        targetId: user.id,
        details: { connectionId: connection.id, subject: identity.subject, role },
      });
      const credential = await options.issue(tx, user.id);
      const view: UserView = {
        id: user.id,
        email: user.email,
        displayName: user.displayName,
        createdAt: user.createdAt.toISOString(),
      };
      return { user: view, orgId, role, credential };
    });
  } catch (err) {
    // Two first sign-ins of one email at once: the loser sees the account the winner created.
    if (isUniqueViolation(err, 'users_email_key')) return refuse(emailTaken());
    if (err instanceof AppError && err.code === 'CONFLICT') return refuse(err);
    throw err;
  }
}
