// Invitations: a one-time token (shown once, stored hashed) mailed through the outbox, accepted
// by the signed-in user whose email it was issued to, once that address is verified.
import { and, desc, eq, gt, isNull, sql } from 'drizzle-orm';
import { denial } from '../../../core/policy.js';
import type { Role } from '../../../core/rbac.js';
import type { Db } from '../../../db/client.js';
import { invitations, memberships, organizations, outbox, users } from '../../../db/schema/index.js';
import { withTenant } from '../../../db/tenant.js';
import type { OrgAccess } from '../../identity/caller.js';
import { AppError } from '../../errors.js';
import { normalizeEmail } from '../../identity/accounts/accounts.js';
import { recordAudit, type UserActor } from '../../audit.js';
import { hashSecret, newSecret } from '../../identity/opaque-secrets.js';

export type InvitationStatus = 'pending' | 'accepted' | 'revoked' | 'expired';

export interface InvitationView {
  id: string;
  email: string;
  role: Role;
  status: InvitationStatus;
  expiresAt: string;
  createdAt: string;
}

type InvitationRow = typeof invitations.$inferSelect;

function statusOf(row: InvitationRow, now = Date.now()): InvitationStatus {
  if (row.acceptedAt) return 'accepted';
  if (row.revokedAt) return 'revoked';
  return row.expiresAt.getTime() <= now ? 'expired' : 'pending';
}

function toView(row: InvitationRow): InvitationView {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    status: statusOf(row),
    expiresAt: row.expiresAt.toISOString(),
    createdAt: row.createdAt.toISOString(),
  };
}

export interface InvitationSettings {
  ttlHours: number;
  /** Where the accept link in the mail points. */
  publicUrl: string;
}

export async function createInvitation(
  db: Db,
  actor: UserActor,
  access: OrgAccess,
  input: { email: string; role: Role },
  settings: InvitationSettings,
): Promise<InvitationView & { token: string }> {
  const refusal = denial(access.ability, 'create', 'Invitation', { orgId: access.orgId, role: input.role });
  if (refusal) throw new AppError('FORBIDDEN', refusal);
  const email = normalizeEmail(input.email);
  const token = newSecret();
  return withTenant(db, access.orgId, async (tx) => {
    const [member] = await tx
      .select({ userId: memberships.userId })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(and(eq(memberships.orgId, access.orgId), eq(sql`lower(${users.email})`, email)));
    if (member) throw new AppError('CONFLICT', 'This person is already a member.');
    const [pending] = await tx
      .select({ id: invitations.id })
      .from(invitations)
      .where(
        and(
          eq(invitations.orgId, access.orgId),
          eq(invitations.email, email),
          isNull(invitations.acceptedAt),
          isNull(invitations.revokedAt),
          gt(invitations.expiresAt, new Date()),
        ),
      );
    if (pending)
      throw new AppError('CONFLICT', 'A pending invitation for this email exists; revoke it first.');

    const [row] = await tx
      .insert(invitations)
      .values({
        orgId: access.orgId,
        email,
        role: input.role,
        tokenHash: hashSecret(token),
        invitedBy: actor.userId,
        expiresAt: new Date(Date.now() + settings.ttlHours * 3_600_000),
      })
      .returning();
    if (!row) throw new Error('insert returned no row');
    const [org] = await tx
      .select({ name: organizations.name })
      .from(organizations)
      .where(eq(organizations.id, access.orgId));
    const acceptUrl = new URL(
      `/console/invitations/accept?org=${access.orgId}&token=${token}`,
      settings.publicUrl,
    ).toString();
    await tx.insert(outbox).values({
      orgId: access.orgId,
      kind: 'mail',
      payload: {
        template: 'invitation',
        to: email,
        orgName: org?.name ?? '',
        role: input.role,
        acceptUrl,
        expiresAt: row.expiresAt.toISOString(),
      },
      idempotencyKey: `invitation/${row.id}`,
    });
    await recordAudit(tx, actor, {
      orgId: access.orgId,
      action: 'invitation.create',
      targetType: 'invitation',
      targetId: row.id,
      details: { role: input.role },
    });
    return { ...toView(row), token };
  });
}

export function listInvitations(db: Db, orgId: string): Promise<InvitationView[]> {
  return withTenant(db, orgId, async (tx) => {
    const rows = await tx
      .select()
      .from(invitations)
      .where(eq(invitations.orgId, orgId))
      .orderBy(desc(invitations.createdAt));
    return rows.map(toView);
  });
}

/** Revokes a pending invitation; revoking twice is fine, revoking an accepted one is a conflict. */
export function revokeInvitation(
  db: Db,
  actor: UserActor,
  access: OrgAccess,
  invitationId: string,
): Promise<void> {
  return withTenant(db, access.orgId, async (tx) => {
    const [row] = await tx
      .select()
      .from(invitations)
      .where(and(eq(invitations.orgId, access.orgId), eq(invitations.id, invitationId)))
      .for('update');
    if (!row) throw new AppError('NOT_FOUND', 'The invitation does not exist.');
    if (row.acceptedAt)
      throw new AppError('CONFLICT', 'The invitation was already accepted; remove the member instead.');
    if (row.revokedAt) return;
    await tx.update(invitations).set({ revokedAt: new Date() }).where(eq(invitations.id, row.id));
    await recordAudit(tx, actor, {
      orgId: access.orgId,
      action: 'invitation.revoke',
      targetType: 'invitation',
      targetId: row.id,
    });
  });
}

/** Turns an invitation into a membership for the signed-in user it was issued to. */
export function acceptInvitation(
  db: Db,
  actor: UserActor,
  orgId: string,
  token: string,
): Promise<{ orgId: string; role: Role }> {
  return withTenant(db, orgId, async (tx) => {
    const [row] = await tx
      .select()
      .from(invitations)
      .where(and(eq(invitations.orgId, orgId), eq(invitations.tokenHash, hashSecret(token))))
      .for('update');
    if (!row) throw new AppError('NOT_FOUND', 'The invitation does not exist.');
    const status = statusOf(row);
    if (status === 'accepted') throw new AppError('CONFLICT', 'The invitation was already accepted.');
    if (status === 'revoked') throw new AppError('GONE', 'The invitation was revoked.');
    if (status === 'expired') throw new AppError('GONE', 'The invitation has expired.');
    const [user] = await tx
      .select({ email: users.email, emailVerifiedAt: users.emailVerifiedAt })
      .from(users)
      .where(eq(users.id, actor.userId));
    if (!user || normalizeEmail(user.email) !== row.email) {
      throw new AppError('FORBIDDEN', 'The invitation was issued to a different email address.');
    }
    // The address names the invitee only once its owner proved it (an SSO-provisioned account's
    // address is its identity provider's word, not proof).
    if (!user.emailVerifiedAt)
      throw new AppError('EMAIL_NOT_VERIFIED', 'Confirm your email address before accepting an invitation.');
    const inserted = await tx
      .insert(memberships)
      .values({ orgId, userId: actor.userId, role: row.role })
      .onConflictDoNothing()
      .returning({ userId: memberships.userId });
    if (inserted.length === 0)
      throw new AppError('CONFLICT', 'You are already a member of this organization.');
    await tx.update(invitations).set({ acceptedAt: new Date() }).where(eq(invitations.id, row.id));
    await recordAudit(tx, actor, {
      orgId,
      action: 'invitation.accept',
      targetType: 'invitation',
      targetId: row.id,
      details: { role: row.role },
    });
    return { orgId, role: row.role };
  });
}
