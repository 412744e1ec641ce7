// The policy where a user would notice it: property-level rules (own role, owner role), API keys
// narrowed by creator and team, and mass-assignment attempts — each refusal changes nothing.
import type { LightMyRequestResponse } from 'fastify';
import { describe, expect, it } from 'vitest';
import type { Role } from '../../../core/rbac.js';
import { useTestApp } from '../../support/app.js';
import {
  addMember,
  bearer,
  errorCode,
  seedActiveOrg,
  signUp,
  uniqueEmail,
  useAdminPool,
  type TestUser,
} from './helpers.js';
import { orgFingerprint, orgsCreatedBy } from './state.js';

const t = useTestApp();
const admin = useAdminPool();

interface Org {
  orgId: string;
  owner: TestUser;
  users: Record<Exclude<Role, 'owner'>, TestUser>;
  teamId: string;
}

async function anOrg(): Promise<Org> {
  const owner = await signUp(t.app, 'policy-owner');
  const orgId = await seedActiveOrg(admin, owner, 'Policy Co');
  const users = {} as Org['users'];
  for (const role of ['admin', 'member', 'billing', 'viewer'] as const) {
    users[role] = await signUp(t.app, `policy-${role}`);
    await addMember(admin, orgId, users[role].id, role);
  }
  const team = await t.app.inject({
    method: 'POST',
    url: `/api/orgs/${orgId}/teams`,
    headers: bearer(owner),
    payload: { name: 'research' },
  });
  expect(team.statusCode, team.body).toBe(201);
  return { orgId, owner, users, teamId: team.json<{ id: string }>().id };
}

/** Calls and checks that nothing the org owns changed. */
async function unchanged(orgId: string, call: () => Promise<LightMyRequestResponse>) {
  const before = await orgFingerprint(admin, orgId);
  const res = await call();
  expect(await orgFingerprint(admin, orgId)).toBe(before);
  return res;
}

async function createKey(org: Org, by: TestUser, payload: Record<string, unknown>): Promise<string> {
  const res = await t.app.inject({
    method: 'POST',
    url: `/api/orgs/${org.orgId}/api-keys`,
    headers: bearer(by),
    payload: { name: 'k', scopes: ['inference'], ...payload },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string }>().id;
}

describe('policy: property-level rules on members', () => {
  it.each(['owner', 'admin', 'member', 'viewer'] as const)(
    'a %s cannot change their own role (403, nothing changes)',
    async (role) => {
      const org = await anOrg();
      const user = role === 'owner' ? org.owner : org.users[role];
      const res = await unchanged(org.orgId, () =>
        t.app.inject({
          method: 'PATCH',
          url: `/api/orgs/${org.orgId}/members/${user.id}`,
          headers: bearer(user),
          payload: { role: role === 'owner' ? 'admin' : 'owner' },
        }),
      );
      expect(res.statusCode).toBe(403);
      expect(errorCode(res)).toBe('FORBIDDEN');
    },
  );

  it('an admin can neither make someone owner nor demote or remove an owner; an owner can', async () => {
    const org = await anOrg();
    const second = await signUp(t.app, 'policy-owner2');
    await addMember(admin, org.orgId, second.id, 'owner');
    const members = `/api/orgs/${org.orgId}/members`;
    for (const attempt of [
      { method: 'PATCH' as const, url: `${members}/${org.users.viewer.id}`, payload: { role: 'owner' } },
      { method: 'PATCH' as const, url: `${members}/${second.id}`, payload: { role: 'viewer' } },
      { method: 'DELETE' as const, url: `${members}/${second.id}` },
    ]) {
      const res = await unchanged(org.orgId, () =>
        t.app.inject({ ...attempt, headers: bearer(org.users.admin) }),
      );
      expect(res.statusCode).toBe(403);
      expect(res.json<{ error: { message: string } }>().error.message).toBe(
        'Only an owner may grant or take away the owner role.',
      );
    }
    const promoted = await t.app.inject({
      method: 'PATCH',
      url: `${members}/${org.users.viewer.id}`,
      headers: bearer(org.owner),
      payload: { role: 'owner' },
    });
    expect(promoted.statusCode, promoted.body).toBe(200);
    expect(promoted.json<{ role: string }>().role).toBe('owner');
  });
});

describe('policy: API keys by creator and team', () => {
  it('a member cannot rotate or revoke a key they did not create (403, nothing changes)', async () => {
    const org = await anOrg();
    const ownersKey = await createKey(org, org.owner, {});
    const teamKey = await createKey(org, org.owner, { teamId: org.teamId });
    await t.app.inject({
      method: 'PUT',
      url: `/api/orgs/${org.orgId}/teams/${org.teamId}/members/${org.users.member.id}`,
      headers: bearer(org.owner),
    });
    const base = `/api/orgs/${org.orgId}/api-keys`;
    for (const keyId of [ownersKey, teamKey]) {
      for (const call of [
        { method: 'POST' as const, url: `${base}/${keyId}/rotate` },
        { method: 'DELETE' as const, url: `${base}/${keyId}` },
      ]) {
        const res = await unchanged(org.orgId, () =>
          t.app.inject({ ...call, headers: bearer(org.users.member) }),
        );
        expect(res.statusCode).toBe(403);
      }
    }
    // An admin rotates any key of the org.
    const rotated = await t.app.inject({
      method: 'POST',
      url: `${base}/${ownersKey}/rotate`,
      headers: bearer(org.users.admin),
    });
    expect(rotated.statusCode, rotated.body).toBe(200);
  });

  it('a member sees their teams’ keys, not other teams’ or other members’', async () => {
    const org = await anOrg();
    const otherTeam = await t.app.inject({
      method: 'POST',
      url: `/api/orgs/${org.orgId}/teams`,
      headers: bearer(org.owner),
      payload: { name: 'sales' },
    });
    const otherTeamId = otherTeam.json<{ id: string }>().id;
    await t.app.inject({
      method: 'PUT',
      url: `/api/orgs/${org.orgId}/teams/${org.teamId}/members/${org.users.member.id}`,
      headers: bearer(org.owner),
    });
    const teamKey = await createKey(org, org.users.admin, { teamId: org.teamId });
    await createKey(org, org.users.admin, { teamId: otherTeamId });
    await createKey(org, org.users.admin, {});
    const own = await createKey(org, org.users.member, {});
    const list = await t.app.inject({
      method: 'GET',
      url: `/api/orgs/${org.orgId}/api-keys`,
      headers: bearer(org.users.member),
    });
    expect(list.statusCode).toBe(200);
    const ids = list.json<{ items: { id: string }[] }>().items.map((k) => k.id);
    expect(ids.sort()).toEqual([teamKey, own].sort());
    const shown = await t.app.inject({
      method: 'GET',
      url: `/api/orgs/${org.orgId}/api-keys/${teamKey}`,
      headers: bearer(org.users.member),
    });
    expect(shown.statusCode).toBe(200);
  });
});

describe('policy: mass assignment', () => {
  const smuggled = {
    org_id: '00000000-0000-4000-8000-000000000000',
    orgId: '00000000-0000-4000-8000-000000000000',
    role: 'owner',
    plan: 'enterprise',
    status: 'active',
  };

  it.each(Object.entries(smuggled))(
    'a body carrying %s is refused with 400 on every updating route, and nothing changes',
    async (field, value) => {
      const org = await anOrg();
      const attempts = [
        {
          method: 'PATCH' as const,
          url: `/api/orgs/${org.orgId}/members/${org.users.viewer.id}`,
          payload: { role: 'member', [field]: field === 'role' ? undefined : value },
        },
        {
          method: 'PATCH' as const,
          url: `/api/orgs/${org.orgId}/teams/${org.teamId}`,
          payload: { name: 'renamed', [field]: value },
        },
        {
          method: 'POST' as const,
          url: `/api/orgs/${org.orgId}/teams`,
          payload: { name: `new ${uniqueEmail()}`, [field]: value },
        },
        {
          method: 'POST' as const,
          url: `/api/orgs/${org.orgId}/api-keys`,
          payload: { name: 'k', scopes: ['inference'], [field]: value },
        },
        {
          method: 'POST' as const,
          url: `/api/orgs/${org.orgId}/invitations`,
          payload: {
            email: uniqueEmail('smuggler'),
            role: 'member',
            [field]: field === 'role' ? undefined : value,
          },
        },
      ].filter((a) => a.payload[field] !== undefined);
      for (const attempt of attempts) {
        const res = await unchanged(org.orgId, () =>
          t.app.inject({ ...attempt, headers: bearer(org.owner) }),
        );
        expect(res.statusCode, `${attempt.method} ${attempt.url}`).toBe(400);
      }
      const before = await orgsCreatedBy(admin, org.owner.id);
      const created = await t.app.inject({
        method: 'POST',
        url: '/api/orgs',
        headers: bearer(org.owner),
        payload: { name: 'Smuggled', [field]: value },
      });
      expect(created.statusCode).toBe(400);
      expect(await orgsCreatedBy(admin, org.owner.id)).toBe(before);
    },
  );
});

describe('policy denials are audited', () => {
  async function denials(orgId: string | null, userId: string) {
    const { rows } = await admin.query<{ org_id: string | null; details: Record<string, unknown> }>(
      `SELECT org_id, details FROM audit_log WHERE action = 'policy.deny' AND actor_id = $1
         AND org_id IS NOT DISTINCT FROM $2 ORDER BY created_at`,
      [userId, orgId],
    );
    return rows;
  }

  it('a route the role may not call writes a policy.deny row to the org chain, and the chain still verifies', async () => {
    const org = await anOrg();
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/orgs/${org.orgId}/invitations`,
      headers: bearer(org.users.viewer),
      payload: { email: uniqueEmail('invitee'), role: 'member' },
    });
    expect(res.statusCode).toBe(403);
    expect(await denials(org.orgId, org.users.viewer.id)).toEqual([
      {
        org_id: org.orgId,
        details: {
          method: 'POST',
          route: '/api/orgs/:orgId/invitations',
          access: 'invitations.create',
        },
      },
    ]);
    const verify = await t.app.inject({
      method: 'GET',
      url: `/api/orgs/${org.orgId}/audit-log/verify`,
      headers: bearer(org.owner),
    });
    expect(verify.json<{ ok: boolean }>().ok).toBe(true);
  });

  it('a refusal by a property-level rule is audited too', async () => {
    const org = await anOrg();
    const user = org.users.member;
    const res = await t.app.inject({
      method: 'PATCH',
      url: `/api/orgs/${org.orgId}/members/${user.id}`,
      headers: bearer(user),
      payload: { role: 'admin' },
    });
    expect(res.statusCode).toBe(403);
    expect((await denials(org.orgId, user.id)).map((r) => r.details.route)).toEqual([
      '/api/orgs/:orgId/members/:userId',
    ]);
  });

  it('a platform action refused to a non-operator is a platform row', async () => {
    const user = await signUp(t.app, 'not-operator');
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/admin/signing-keys/rotate',
      headers: bearer(user),
    });
    expect(res.statusCode).toBe(403);
    expect((await denials(null, user.id)).map((r) => r.details.access)).toEqual(['signing-keys.rotate']);
  });
});
