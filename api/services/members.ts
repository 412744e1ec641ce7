// Memberships of an org. Owners are protected: the last one can never be removed or demoted, and
// only an owner may touch another owner or make someone owner. Nobody changes their own role.
import { and, asc, eq } from 'drizzle-orm';
import { canAssignRole, type Role } from '../../core/rbac.js';
import type { Db, Tx } from '../../db/client.js';
import { memberships, teamMembers, users } from '../../db/schema/index.js';
import { withTenant } from '../../db/tenant.js';
import type { OrgAccess } from '../plugins/auth.js';
import { AppError } from '../errors.js';
import { recordAudit, type UserActor } from './audit.js';

export interface MemberView {
  userId: string;
  email: string;
  displayName: string;
  role: Role;
  joinedAt: string;
}

export function listMembers(db: Db, orgId: string): Promise<MemberView[]> {
  return withTenant(db, orgId, async (tx) => {
    const rows = await tx
      .select({ userId: memberships.userId, email: users.email, displayName: users.displayName, role: memberships.role, joinedAt: memberships.createdAt })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(eq(memberships.orgId, orgId))
      .orderBy(asc(memberships.createdAt), asc(users.email));
    return rows.map((r) => ({ ...r, joinedAt: r.joinedAt.toISOString() }));
  });
}

async function lockedMember(tx: Tx, orgId: string, userId: string): Promise<{ role: Role }> {
  const [row] = await tx
    .select({ role: memberships.role })
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)))
    .for('update');
  if (!row) throw new AppError('NOT_FOUND', 'The member does not exist.');
  return row;
}

/** Refuses when the target is the org's only owner. Locks the owner rows so two concurrent changes cannot both pass. */
async function assertNotLastOwner(tx: Tx, orgId: string): Promise<void> {
  const owners = await tx
    .select({ userId: memberships.userId })
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.role, 'owner')))
    .for('update');
  if (owners.length <= 1) throw new AppError('CONFLICT', 'An organization keeps at least one owner.');
}

export function changeMemberRole(db: Db, actor: UserActor, access: OrgAccess, userId: string, role: Role): Promise<MemberView> {
  if (userId === actor.userId) throw new AppError('FORBIDDEN', 'You cannot change your own role.');
  return withTenant(db, access.orgId, async (tx) => {
    const current = await lockedMember(tx, access.orgId, userId);
    if (!canAssignRole(access.role, current.role) || !canAssignRole(access.role, role)) {
      throw new AppError('FORBIDDEN', 'Only an owner may grant or take away the owner role.');
    }
    if (current.role === 'owner' && role !== 'owner') await assertNotLastOwner(tx, access.orgId);
    if (current.role !== role) {
      await tx.update(memberships).set({ role }).where(and(eq(memberships.orgId, access.orgId), eq(memberships.userId, userId)));
      await recordAudit(tx, actor, {
        orgId: access.orgId,
        action: 'member.role_change',
        targetType: 'user',
        targetId: userId,
        details: { from: current.role, to: role },
      });
    }
    const [row] = await tx
      .select({ userId: memberships.userId, email: users.email, displayName: users.displayName, role: memberships.role, joinedAt: memberships.createdAt })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(and(eq(memberships.orgId, access.orgId), eq(memberships.userId, userId)));
    if (!row) throw new Error('membership vanished inside its transaction');
    return { ...row, joinedAt: row.joinedAt.toISOString() };
  });
}

/** Removes a member and their team memberships in this org. */
export function removeMember(db: Db, actor: UserActor, access: OrgAccess, userId: string): Promise<void> {
  return withTenant(db, access.orgId, async (tx) => {
    const current = await lockedMember(tx, access.orgId, userId);
    if (!canAssignRole(access.role, current.role)) throw new AppError('FORBIDDEN', 'Only an owner may remove an owner.');
    if (current.role === 'owner') await assertNotLastOwner(tx, access.orgId);
    await tx.delete(teamMembers).where(and(eq(teamMembers.orgId, access.orgId), eq(teamMembers.userId, userId)));
    await tx.delete(memberships).where(and(eq(memberships.orgId, access.orgId), eq(memberships.userId, userId)));
    await recordAudit(tx, actor, { orgId: access.orgId, action: 'member.remove', targetType: 'user', targetId: userId, details: { role: current.role } });
  });
}
