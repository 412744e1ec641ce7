// Memberships of an org. Owners are protected: the last one can never be removed or demoted, and
// (the policy's property-level rules) only an owner may touch another owner or make someone owner,
// and nobody changes their own role.
import { and, asc, eq, inArray, or } from 'drizzle-orm';
import { abilityFor, denial } from '../../../core/policy.js';
import type { Role } from '../../../core/rbac.js';
import type { Db, Tx } from '../../../db/client.js';
import { memberships, teamMembers, users } from '../../../db/schema/index.js';
import { withTenant } from '../../../db/tenant.js';
import type { OrgAccess } from '../../identity/caller.js';
import { AppError } from '../../errors.js';
import { recordAudit, type UserActor } from '../../audit.js';

export interface MemberView {
  userId: string;
  email: string;
  displayName: string;
  role: Role;
  joinedAt: string;
}

/** What a member looks like to the API: membership joined with the user's public fields. */
const memberColumns = {
  userId: memberships.userId,
  email: users.email,
  displayName: users.displayName,
  role: memberships.role,
  joinedAt: memberships.createdAt,
};

export function listMembers(db: Db, orgId: string): Promise<MemberView[]> {
  return withTenant(db, orgId, async (tx) => {
    const rows = await tx
      .select(memberColumns)
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(eq(memberships.orgId, orgId))
      .orderBy(asc(memberships.createdAt), asc(users.email));
    return rows.map((r) => ({ ...r, joinedAt: r.joinedAt.toISOString() }));
  });
}

interface Parties {
  /** The actor's role read under lock: the hook's check may be stale by now. */
  actorRole: Role;
  targetRole: Role;
  owners: number;
}

/**
 * Locks the actor's, the target's and every owner's membership, in user-id order so concurrent
 * changes cannot deadlock, and answers their current roles. Two owners demoting each other at the
 * same time thus serialise, and the second sees the first's result.
 */
async function lockParties(tx: Tx, orgId: string, actorId: string, targetId: string): Promise<Parties> {
  const rows = await tx
    .select({ userId: memberships.userId, role: memberships.role })
    .from(memberships)
    .where(
      and(
        eq(memberships.orgId, orgId),
        or(eq(memberships.role, 'owner'), inArray(memberships.userId, [actorId, targetId])),
      ),
    )
    .orderBy(asc(memberships.userId))
    .for('update');
  const target = rows.find((r) => r.userId === targetId);
  if (!target) throw new AppError('NOT_FOUND', 'The member does not exist.');
  const actor = rows.find((r) => r.userId === actorId);
  if (!actor) throw new AppError('NOT_FOUND', 'The organization does not exist.');
  return {
    actorRole: actor.role,
    targetRole: target.role,
    owners: rows.filter((r) => r.role === 'owner').length,
  };
}

/**
 * Asks the policy with the actor's role as locked (the hook's decision may be stale by now): the
 * target as it is must be changeable, and, for a role change, as it would be (so `owner` can be
 * neither taken nor granted by a non-owner).
 */
function assertMayChange(
  orgId: string,
  actorId: string,
  targetId: string,
  parties: Parties,
  newRole: Role | null,
): void {
  // Member rules do not depend on teams.
  const ability = abilityFor({
    kind: 'member',
    userId: actorId,
    orgId,
    role: parties.actorRole,
    teamIds: [],
  });
  const member = (role: Role) => ({ orgId, userId: targetId, role });
  const refusal =
    newRole === null
      ? denial(ability, 'delete', 'Member', member(parties.targetRole))
      : (denial(ability, 'update', 'Member', member(parties.targetRole), 'role') ??
        denial(ability, 'update', 'Member', member(newRole), 'role'));
  if (refusal) throw new AppError('FORBIDDEN', refusal);
  const losesOwner = parties.targetRole === 'owner' && newRole !== 'owner';
  if (losesOwner && parties.owners <= 1)
    throw new AppError('CONFLICT', 'An organization keeps at least one owner.');
}

export function changeMemberRole(
  db: Db,
  actor: UserActor,
  access: OrgAccess,
  userId: string,
  role: Role,
): Promise<MemberView> {
  return withTenant(db, access.orgId, async (tx) => {
    const parties = await lockParties(tx, access.orgId, actor.userId, userId);
    assertMayChange(access.orgId, actor.userId, userId, parties, role);
    if (parties.targetRole !== role) {
      await tx
        .update(memberships)
        .set({ role })
        .where(and(eq(memberships.orgId, access.orgId), eq(memberships.userId, userId)));
      await recordAudit(tx, actor, {
        orgId: access.orgId,
        action: 'member.role_change',
        targetType: 'user',
        targetId: userId,
        details: { from: parties.targetRole, to: role },
      });
    }
    const [row] = await tx
      .select(memberColumns)
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
    const parties = await lockParties(tx, access.orgId, actor.userId, userId);
    assertMayChange(access.orgId, actor.userId, userId, parties, null);
    await tx
      .delete(teamMembers)
      .where(and(eq(teamMembers.orgId, access.orgId), eq(teamMembers.userId, userId)));
    await tx
      .delete(memberships)
      .where(and(eq(memberships.orgId, access.orgId), eq(memberships.userId, userId)));
    await recordAudit(tx, actor, {
      orgId: access.orgId,
      action: 'member.remove',
      targetType: 'user',
      targetId: userId,
      details: { role: parties.targetRole },
    });
  });
}
