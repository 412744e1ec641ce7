// Teams group an org's members (and, later, its API keys). Only members of the org can join a team.
import { and, asc, eq } from 'drizzle-orm';
import type { Db, Tx } from '../../../db/client.js';
import { memberships, teamMembers, teams, users } from '../../../db/schema/index.js';
import { withTenant } from '../../../db/tenant.js';
import { AppError } from '../../errors.js';
import { recordAudit, type UserActor } from '../../audit.js';
import { isUniqueViolation } from '../../db-errors.js';

export interface TeamView {
  id: string;
  name: string;
  description: string;
  createdAt: string;
}

export interface TeamMemberView {
  userId: string;
  email: string;
  displayName: string;
  addedAt: string;
}

type TeamRow = typeof teams.$inferSelect;

function toView(row: TeamRow): TeamView {
  return { id: row.id, name: row.name, description: row.description, createdAt: row.createdAt.toISOString() };
}

const nameTaken = () => new AppError('CONFLICT', 'A team with this name exists.');

async function findTeam(tx: Tx, orgId: string, teamId: string): Promise<TeamRow> {
  const [row] = await tx
    .select()
    .from(teams)
    .where(and(eq(teams.orgId, orgId), eq(teams.id, teamId)));
  if (!row) throw new AppError('NOT_FOUND', 'The team does not exist.');
  return row;
}

/** Runs a change in the org's scope, answering 409 when it hits the unique team name. */
async function inTenantGuardingName<T>(db: Db, orgId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  try {
    return await withTenant(db, orgId, fn);
  } catch (err) {
    if (isUniqueViolation(err, 'teams_org_name_key')) throw nameTaken();
    throw err;
  }
}

export function createTeam(
  db: Db,
  actor: UserActor,
  orgId: string,
  input: { name: string; description?: string | undefined },
): Promise<TeamView> {
  return inTenantGuardingName(db, orgId, async (tx) => {
    const [row] = await tx
      .insert(teams)
      .values({ orgId, name: input.name.trim(), description: input.description ?? '' })
      .returning();
    if (!row) throw new Error('insert returned no row');
    await recordAudit(tx, actor, {
      orgId,
      action: 'team.create',
      targetType: 'team',
      targetId: row.id,
      details: { name: row.name },
    });
    return toView(row);
  });
}

export function listTeams(db: Db, orgId: string): Promise<TeamView[]> {
  return withTenant(db, orgId, async (tx) => {
    const rows = await tx.select().from(teams).where(eq(teams.orgId, orgId)).orderBy(asc(teams.name));
    return rows.map(toView);
  });
}

export function getTeam(db: Db, orgId: string, teamId: string): Promise<TeamView> {
  return withTenant(db, orgId, async (tx) => toView(await findTeam(tx, orgId, teamId)));
}

export function updateTeam(
  db: Db,
  actor: UserActor,
  orgId: string,
  teamId: string,
  input: { name?: string | undefined; description?: string | undefined },
): Promise<TeamView> {
  return inTenantGuardingName(db, orgId, async (tx) => {
    await findTeam(tx, orgId, teamId);
    const changes = {
      ...(input.name !== undefined && { name: input.name.trim() }),
      ...(input.description !== undefined && { description: input.description }),
    };
    const [row] = await tx
      .update(teams)
      .set(changes)
      .where(and(eq(teams.orgId, orgId), eq(teams.id, teamId)))
      .returning();
    if (!row) throw new Error('team vanished inside its transaction');
    await recordAudit(tx, actor, {
      orgId,
      action: 'team.update',
      targetType: 'team',
      targetId: teamId,
      details: { fields: Object.keys(changes) },
    });
    return toView(row);
  });
}

export function deleteTeam(db: Db, actor: UserActor, orgId: string, teamId: string): Promise<void> {
  return withTenant(db, orgId, async (tx) => {
    const team = await findTeam(tx, orgId, teamId);
    await tx.delete(teams).where(and(eq(teams.orgId, orgId), eq(teams.id, teamId)));
    await recordAudit(tx, actor, {
      orgId,
      action: 'team.delete',
      targetType: 'team',
      targetId: teamId,
      details: { name: team.name },
    });
  });
}

export function listTeamMembers(db: Db, orgId: string, teamId: string): Promise<TeamMemberView[]> {
  return withTenant(db, orgId, async (tx) => {
    await findTeam(tx, orgId, teamId);
    const rows = await tx
      .select({
        userId: teamMembers.userId,
        email: users.email,
        displayName: users.displayName,
        addedAt: teamMembers.createdAt,
      })
      .from(teamMembers)
      .innerJoin(users, eq(users.id, teamMembers.userId))
      .where(and(eq(teamMembers.orgId, orgId), eq(teamMembers.teamId, teamId)))
      .orderBy(asc(users.email));
    return rows.map((r) => ({ ...r, addedAt: r.addedAt.toISOString() }));
  });
}

/** Adds an org member to the team; adding someone already in it changes nothing. */
export function addTeamMember(
  db: Db,
  actor: UserActor,
  orgId: string,
  teamId: string,
  userId: string,
): Promise<void> {
  return withTenant(db, orgId, async (tx) => {
    await findTeam(tx, orgId, teamId);
    const [member] = await tx
      .select({ userId: memberships.userId })
      .from(memberships)
      .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)));
    if (!member) throw new AppError('NOT_FOUND', 'The user is not a member of this organization.');
    const added = await tx
      .insert(teamMembers)
      .values({ orgId, teamId, userId })
      .onConflictDoNothing()
      .returning({ userId: teamMembers.userId });
    if (added.length > 0) {
      await recordAudit(tx, actor, {
        orgId,
        action: 'team.member_add',
        targetType: 'team',
        targetId: teamId,
        details: { userId },
      });
    }
  });
}

export function removeTeamMember(
  db: Db,
  actor: UserActor,
  orgId: string,
  teamId: string,
  userId: string,
): Promise<void> {
  return withTenant(db, orgId, async (tx) => {
    await findTeam(tx, orgId, teamId);
    const removed = await tx
      .delete(teamMembers)
      .where(
        and(eq(teamMembers.orgId, orgId), eq(teamMembers.teamId, teamId), eq(teamMembers.userId, userId)),
      )
      .returning({ userId: teamMembers.userId });
    if (removed.length === 0) throw new AppError('NOT_FOUND', 'The user is not in this team.');
    await recordAudit(tx, actor, {
      orgId,
      action: 'team.member_remove',
      targetType: 'team',
      targetId: teamId,
      details: { userId },
    });
  });
}
