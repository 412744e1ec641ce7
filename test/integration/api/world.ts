// Two tenants with a member of every role, a team and a pending invitation each, plus a user who
// belongs nowhere: the fixture the security and validation tables run against.
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { expect } from 'vitest';
import { roles, type Role } from '../../../core/rbac.js';
import { addMember, bearer, seedActiveOrg, signUp, uniqueEmail, type TestUser } from './helpers.js';

export interface Tenant {
  orgId: string;
  /** One signed-in user per role; `owner` created the org. */
  users: Record<Role, TestUser>;
  /** A plain member that role changes and removals target. */
  target: TestUser;
  teamId: string;
  invitationId: string;
  /** The pending invitation's one-time token, issued to `invitee`. */
  invitationToken: string;
  invitee: TestUser;
  apiKeyId: string;
  oauthClientId: string;
}

export interface World {
  a: Tenant;
  b: Tenant;
  outsider: TestUser;
}

export async function buildTenant(app: FastifyInstance, admin: pg.Pool, label: string): Promise<Tenant> {
  const owner = await signUp(app, `${label}-owner`);
  const orgId = await seedActiveOrg(admin, owner, `Tenant ${label}`);
  const users = { owner } as Record<Role, TestUser>;
  for (const role of roles.filter((r) => r !== 'owner')) {
    users[role] = await signUp(app, `${label}-${role}`);
    await addMember(admin, orgId, users[role].id, role);
  }
  const target = await signUp(app, `${label}-target`);
  await addMember(admin, orgId, target.id, 'member');

  const team = await app.inject({
    method: 'POST',
    url: `/api/orgs/${orgId}/teams`,
    headers: bearer(owner),
    payload: { name: `team-${label}` },
  });
  expect(team.statusCode, team.body).toBe(201);
  const invitee = await signUp(app, `${label}-invitee`);
  const invitation = await app.inject({
    method: 'POST',
    url: `/api/orgs/${orgId}/invitations`,
    headers: bearer(owner),
    payload: { email: invitee.email, role: 'member' },
  });
  expect(invitation.statusCode, invitation.body).toBe(201);
  const inv = invitation.json<{ id: string; token: string }>();
  const apiKey = await app.inject({
    method: 'POST',
    url: `/api/orgs/${orgId}/api-keys`,
    headers: bearer(owner),
    payload: { name: `key-${label}`, scopes: ['inference'] },
  });
  expect(apiKey.statusCode, apiKey.body).toBe(201);
  const oauthClient = await app.inject({
    method: 'POST',
    url: `/api/orgs/${orgId}/oauth-clients`,
    headers: bearer(owner),
    payload: { name: `client-${label}`, grantTypes: ['client_credentials'], scopes: ['inference'] },
  });
  expect(oauthClient.statusCode, oauthClient.body).toBe(201);
  return {
    orgId,
    users,
    target,
    teamId: team.json<{ id: string }>().id,
    invitationId: inv.id,
    invitationToken: inv.token,
    invitee,
    apiKeyId: apiKey.json<{ id: string }>().id,
    oauthClientId: oauthClient.json<{ clientId: string }>().clientId,
  };
}

export async function buildWorld(app: FastifyInstance, admin: pg.Pool): Promise<World> {
  const [a, b] = [await buildTenant(app, admin, 'a'), await buildTenant(app, admin, 'b')];
  return { a, b, outsider: await signUp(app, 'outsider') };
}

export { uniqueEmail };
