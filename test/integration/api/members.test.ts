import { describe, expect, it } from 'vitest';
import type { Role } from '../../../core/rbac.js';
import { useTestApp } from '../../support/app.js';
import {
  addMember,
  useAdminPool,
  auditRows,
  bearer,
  errorCode,
  seedActiveOrg,
  signUp,
  type TestUser,
} from './helpers.js';

const t = useTestApp();
const admin = useAdminPool();

async function orgWith(...roles: Role[]): Promise<{ orgId: string; owner: TestUser; users: TestUser[] }> {
  const owner = await signUp(t.app, 'owner');
  const orgId = await seedActiveOrg(admin, owner, 'Members Ltd');
  const users: TestUser[] = [];
  for (const role of roles) {
    const user = await signUp(t.app, role);
    await addMember(admin, orgId, user.id, role);
    users.push(user);
  }
  return { orgId, owner, users };
}

const patchRole = (orgId: string, by: TestUser, userId: string, role: Role) =>
  t.app.inject({
    method: 'PATCH',
    url: `/api/orgs/${orgId}/members/${userId}`,
    headers: bearer(by),
    payload: { role },
  });
const remove = (orgId: string, by: TestUser, userId: string) =>
  t.app.inject({ method: 'DELETE', url: `/api/orgs/${orgId}/members/${userId}`, headers: bearer(by) });

async function roleOf(orgId: string, userId: string): Promise<string | undefined> {
  const { rows } = await admin.query<{ role: string }>(
    'SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2',
    [orgId, userId],
  );
  return rows[0]?.role;
}

describe('members', () => {
  it('lists members with their roles, for any member', async () => {
    const { orgId, owner, users } = await orgWith('viewer');
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/orgs/${orgId}/members`,
      headers: bearer(users[0]!),
    });
    expect(res.statusCode).toBe(200);
    const items = res.json<{ items: { userId: string; email: string; role: string }[] }>().items;
    expect(items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ userId: owner.id, email: owner.email, role: 'owner' }),
        expect.objectContaining({ userId: users[0]!.id, role: 'viewer' }),
      ]),
    );
    expect(items).toHaveLength(2);
  });

  it('an admin changes a member role; the change is audited with from and to', async () => {
    const { orgId, users } = await orgWith('admin', 'member');
    const [adminUser, member] = users as [TestUser, TestUser];
    const res = await patchRole(orgId, adminUser, member.id, 'billing');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ userId: member.id, role: 'billing' });
    expect(await roleOf(orgId, member.id)).toBe('billing');
    const [entry] = await auditRows(admin, { orgId, action: 'member.role_change' });
    expect(entry).toMatchObject({
      actor_id: adminUser.id,
      target_id: member.id,
      details: { from: 'member', to: 'billing' },
    });
  });

  it('nobody changes their own role, not even an owner (403)', async () => {
    const { orgId, owner, users } = await orgWith('admin');
    expect((await patchRole(orgId, users[0]!, users[0]!.id, 'owner')).statusCode).toBe(403);
    expect((await patchRole(orgId, owner, owner.id, 'admin')).statusCode).toBe(403);
    expect(await roleOf(orgId, owner.id)).toBe('owner');
  });

  it('the last owner can never be demoted or removed (409); with a second owner both work', async () => {
    const { orgId, owner, users } = await orgWith('owner');
    const [second] = users as [TestUser];
    expect((await patchRole(orgId, second, owner.id, 'admin')).statusCode).toBe(200);
    const demote = await patchRole(orgId, owner, second.id, 'member');
    expect(demote.statusCode).toBe(403); // owner was demoted to admin: may no longer touch owners
    const lastDemote = await t.app.inject({
      method: 'PATCH',
      url: `/api/orgs/${orgId}/members/${second.id}`,
      headers: bearer(second),
      payload: { role: 'admin' },
    });
    expect(lastDemote.statusCode).toBe(403); // own role

    const thirdOwner = await signUp(t.app, 'owner3');
    await addMember(admin, orgId, thirdOwner.id, 'owner');
    expect((await remove(orgId, thirdOwner, second.id)).statusCode).toBe(204);
    // thirdOwner is now the only owner
    const selfRemove = await remove(orgId, thirdOwner, thirdOwner.id);
    expect(selfRemove.statusCode).toBe(409);
    expect(errorCode(selfRemove)).toBe('CONFLICT');
    expect(await roleOf(orgId, thirdOwner.id)).toBe('owner');
  });

  it('two owners demoting each other at once leave exactly one owner', async () => {
    const { orgId, owner, users } = await orgWith('owner');
    const [second] = users as [TestUser];
    const [a, b] = await Promise.all([
      patchRole(orgId, owner, second.id, 'admin'),
      patchRole(orgId, second, owner.id, 'admin'),
    ]);
    // The second change sees the first: its actor is no longer an owner (403), or the target is the last one (409).
    const codes = [a.statusCode, b.statusCode].sort();
    expect(codes[0]).toBe(200);
    expect([403, 409]).toContain(codes[1]);
    const { rows } = await admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM memberships WHERE org_id = $1 AND role = 'owner'`,
      [orgId],
    );
    expect(rows[0]?.n).toBe(1);
  });

  it('an admin may neither touch an owner nor make someone owner (403)', async () => {
    const { orgId, owner, users } = await orgWith('admin', 'member');
    const [adminUser, member] = users as [TestUser, TestUser];
    expect((await patchRole(orgId, adminUser, owner.id, 'member')).statusCode).toBe(403);
    expect((await remove(orgId, adminUser, owner.id)).statusCode).toBe(403);
    expect((await patchRole(orgId, adminUser, member.id, 'owner')).statusCode).toBe(403);
    expect(await roleOf(orgId, member.id)).toBe('member');
  });

  it('removing a member also takes them out of the org’s teams, and is audited', async () => {
    const { orgId, owner, users } = await orgWith('member');
    const [member] = users as [TestUser];
    const team = await t.app.inject({
      method: 'POST',
      url: `/api/orgs/${orgId}/teams`,
      headers: bearer(owner),
      payload: { name: 'Core' },
    });
    const teamId = team.json<{ id: string }>().id;
    await t.app.inject({
      method: 'PUT',
      url: `/api/orgs/${orgId}/teams/${teamId}/members/${member.id}`,
      headers: bearer(owner),
    });
    expect((await remove(orgId, owner, member.id)).statusCode).toBe(204);
    expect(await roleOf(orgId, member.id)).toBeUndefined();
    const { rowCount } = await admin.query('SELECT 1 FROM team_members WHERE org_id = $1 AND user_id = $2', [
      orgId,
      member.id,
    ]);
    expect(rowCount).toBe(0);
    expect(await auditRows(admin, { orgId, action: 'member.remove' })).toHaveLength(1);
    const after = await t.app.inject({
      method: 'GET',
      url: `/api/orgs/${orgId}/members`,
      headers: bearer(member),
    });
    expect(after.statusCode).toBe(404);
  });

  it('an unknown member answers 404', async () => {
    const { orgId, owner } = await orgWith();
    const stranger = await signUp(t.app);
    expect((await patchRole(orgId, owner, stranger.id, 'viewer')).statusCode).toBe(404);
    expect((await remove(orgId, owner, stranger.id)).statusCode).toBe(404);
  });
});
