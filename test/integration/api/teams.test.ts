import { describe, expect, it } from 'vitest';
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

interface TeamBody {
  id: string;
  name: string;
  description: string;
}

async function orgWithOwner(): Promise<{ owner: TestUser; orgId: string; base: string }> {
  const owner = await signUp(t.app, 'owner');
  const orgId = await seedActiveOrg(admin, owner, 'Teams Co');
  return { owner, orgId, base: `/api/orgs/${orgId}/teams` };
}

describe('teams', () => {
  it('create, read, list, rename and delete a team; every change is audited', async () => {
    const { owner, orgId, base } = await orgWithOwner();
    const created = await t.app.inject({
      method: 'POST',
      url: base,
      headers: bearer(owner),
      payload: { name: 'Platform', description: 'infra' },
    });
    expect(created.statusCode).toBe(201);
    const team = created.json<TeamBody>();
    expect(team).toMatchObject({ name: 'Platform', description: 'infra' });

    const read = await t.app.inject({ method: 'GET', url: `${base}/${team.id}`, headers: bearer(owner) });
    expect(read.json<TeamBody>()).toMatchObject({ id: team.id, name: 'Platform' });

    const renamed = await t.app.inject({
      method: 'PATCH',
      url: `${base}/${team.id}`,
      headers: bearer(owner),
      payload: { name: 'Infra' },
    });
    expect(renamed.statusCode).toBe(200);
    expect(renamed.json<TeamBody>()).toMatchObject({ name: 'Infra', description: 'infra' });

    const list = await t.app.inject({ method: 'GET', url: base, headers: bearer(owner) });
    expect(list.json<{ items: TeamBody[] }>().items.map((x) => x.name)).toEqual(['Infra']);

    expect(
      (await t.app.inject({ method: 'DELETE', url: `${base}/${team.id}`, headers: bearer(owner) }))
        .statusCode,
    ).toBe(204);
    expect(
      (await t.app.inject({ method: 'GET', url: `${base}/${team.id}`, headers: bearer(owner) })).statusCode,
    ).toBe(404);
    expect((await auditRows(admin, { orgId })).map((r) => r.action)).toEqual([
      'team.create',
      'team.update',
      'team.delete',
    ]);
  });

  it('team names are unique within an org (409) but not across orgs', async () => {
    const { owner, base } = await orgWithOwner();
    expect(
      (await t.app.inject({ method: 'POST', url: base, headers: bearer(owner), payload: { name: 'Core' } }))
        .statusCode,
    ).toBe(201);
    const dup = await t.app.inject({
      method: 'POST',
      url: base,
      headers: bearer(owner),
      payload: { name: 'Core' },
    });
    expect(dup.statusCode).toBe(409);
    expect(errorCode(dup)).toBe('CONFLICT');
    const other = await orgWithOwner();
    expect(
      (
        await t.app.inject({
          method: 'POST',
          url: other.base,
          headers: bearer(other.owner),
          payload: { name: 'Core' },
        })
      ).statusCode,
    ).toBe(201);

    const second = await t.app.inject({
      method: 'POST',
      url: base,
      headers: bearer(owner),
      payload: { name: 'Edge' },
    });
    const rename = await t.app.inject({
      method: 'PATCH',
      url: `${base}/${second.json<TeamBody>().id}`,
      headers: bearer(owner),
      payload: { name: 'Core' },
    });
    expect(rename.statusCode).toBe(409);
  });

  it('team membership: only org members can join; add is idempotent; remove; list', async () => {
    const { owner, orgId, base } = await orgWithOwner();
    const member = await signUp(t.app, 'member');
    await addMember(admin, orgId, member.id, 'member');
    const outsider = await signUp(t.app, 'outsider');
    const teamId = (
      await t.app.inject({ method: 'POST', url: base, headers: bearer(owner), payload: { name: 'Squad' } })
    ).json<TeamBody>().id;
    const url = (userId: string) => `${base}/${teamId}/members/${userId}`;

    expect(
      (await t.app.inject({ method: 'PUT', url: url(member.id), headers: bearer(owner) })).statusCode,
    ).toBe(204);
    expect(
      (await t.app.inject({ method: 'PUT', url: url(member.id), headers: bearer(owner) })).statusCode,
    ).toBe(204);
    const refused = await t.app.inject({ method: 'PUT', url: url(outsider.id), headers: bearer(owner) });
    expect(refused.statusCode).toBe(404);
    expect(refused.json<{ error: { message: string } }>().error.message).toMatch(/not a member/);

    const list = await t.app.inject({
      method: 'GET',
      url: `${base}/${teamId}/members`,
      headers: bearer(member),
    });
    expect(list.statusCode).toBe(200);
    expect(list.json<{ items: { userId: string; email: string }[] }>().items).toEqual([
      expect.objectContaining({ userId: member.id, email: member.email }),
    ]);

    expect(
      (await t.app.inject({ method: 'DELETE', url: url(member.id), headers: bearer(owner) })).statusCode,
    ).toBe(204);
    expect(
      (await t.app.inject({ method: 'DELETE', url: url(member.id), headers: bearer(owner) })).statusCode,
    ).toBe(404);
    expect((await auditRows(admin, { orgId })).map((r) => r.action)).toEqual([
      'team.create',
      'team.member_add',
      'team.member_remove',
    ]);
  });
});
