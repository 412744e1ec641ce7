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
  uniqueEmail,
  type TestUser,
} from './helpers.js';

const t = useTestApp();
const admin = useAdminPool();

interface Created {
  id: string;
  email: string;
  role: string;
  status: string;
  expiresAt: string;
  token: string;
}

async function orgWithOwner(): Promise<{ owner: TestUser; orgId: string }> {
  const owner = await signUp(t.app, 'owner');
  return { owner, orgId: await seedActiveOrg(admin, owner, 'Inviting Inc') };
}

function invite(orgId: string, by: TestUser, email: string, role = 'member') {
  return t.app.inject({
    method: 'POST',
    url: `/api/orgs/${orgId}/invitations`,
    headers: bearer(by),
    payload: { email, role },
  });
}

function accept(orgId: string, by: TestUser, token: string) {
  return t.app.inject({
    method: 'POST',
    url: `/api/orgs/${orgId}/invitations/accept`,
    headers: bearer(by),
    payload: { token },
  });
}

describe('invitations', () => {
  it('invite → mail in the outbox → the invitee accepts and becomes a member with the invited role', async () => {
    const { owner, orgId } = await orgWithOwner();
    const invitee = await signUp(t.app, 'invitee');
    const res = await invite(orgId, owner, invitee.email.toUpperCase(), 'admin');
    expect(res.statusCode).toBe(201);
    const created = res.json<Created>();
    expect(created).toMatchObject({ email: invitee.email, role: 'admin', status: 'pending' });
    const hoursLeft = (Date.parse(created.expiresAt) - Date.now()) / 3_600_000;
    expect(hoursLeft).toBeGreaterThan(t.config.INVITATION_TTL_HOURS - 1);
    expect(hoursLeft).toBeLessThanOrEqual(t.config.INVITATION_TTL_HOURS);

    const { rows: stored } = await admin.query<{ token_hash: string }>(
      'SELECT token_hash FROM invitations WHERE id = $1',
      [created.id],
    );
    expect(stored[0]?.token_hash).not.toBe(created.token);
    const { rows: mail } = await admin.query<{
      kind: string;
      payload: { to: string; acceptUrl: string; template: string };
    }>('SELECT kind, payload FROM outbox WHERE org_id = $1 AND idempotency_key = $2', [
      orgId,
      `invitation/${created.id}`,
    ]);
    expect(mail).toHaveLength(1);
    expect(mail[0]?.kind).toBe('mail');
    expect(mail[0]?.payload).toMatchObject({ template: 'invitation', to: invitee.email });
    expect(mail[0]?.payload.acceptUrl).toContain(created.token);

    const accepted = await accept(orgId, invitee, created.token);
    expect(accepted.statusCode).toBe(200);
    expect(accepted.json()).toEqual({ orgId, role: 'admin' });
    const members = await t.app.inject({
      method: 'GET',
      url: `/api/orgs/${orgId}/members`,
      headers: bearer(invitee),
    });
    expect(members.json<{ items: { userId: string; role: string }[] }>().items).toContainEqual(
      expect.objectContaining({ userId: invitee.id, role: 'admin' }),
    );

    const list = await t.app.inject({
      method: 'GET',
      url: `/api/orgs/${orgId}/invitations`,
      headers: bearer(owner),
    });
    expect(list.json<{ items: { id: string; status: string; token?: string }[] }>().items).toEqual([
      expect.objectContaining({ id: created.id, status: 'accepted' }),
    ]);
    expect(list.json<{ items: { token?: string }[] }>().items[0]?.token).toBeUndefined();

    const actions = (await auditRows(admin, { orgId })).map((r) => [r.action, r.actor_id]);
    expect(actions).toEqual([
      ['invitation.create', owner.id],
      ['invitation.accept', invitee.id],
    ]);
  });

  it('an accepted invitation cannot be accepted again (409)', async () => {
    const { owner, orgId } = await orgWithOwner();
    const invitee = await signUp(t.app, 'invitee');
    const { token } = (await invite(orgId, owner, invitee.email)).json<Created>();
    expect((await accept(orgId, invitee, token)).statusCode).toBe(200);
    const again = await accept(orgId, invitee, token);
    expect(again.statusCode).toBe(409);
    expect(errorCode(again)).toBe('CONFLICT');
  });

  it('an expired invitation answers 410 and makes no member', async () => {
    const { owner, orgId } = await orgWithOwner();
    const invitee = await signUp(t.app, 'invitee');
    const created = (await invite(orgId, owner, invitee.email)).json<Created>();
    await admin.query(`UPDATE invitations SET expires_at = now() - interval '1 minute' WHERE id = $1`, [
      created.id,
    ]);
    const res = await accept(orgId, invitee, created.token);
    expect(res.statusCode).toBe(410);
    expect(errorCode(res)).toBe('GONE');
    expect(res.json<{ error: { message: string } }>().error.message).toMatch(/expired/);
    const { rowCount } = await admin.query('SELECT 1 FROM memberships WHERE org_id = $1 AND user_id = $2', [
      orgId,
      invitee.id,
    ]);
    expect(rowCount).toBe(0);
    const list = await t.app.inject({
      method: 'GET',
      url: `/api/orgs/${orgId}/invitations`,
      headers: bearer(owner),
    });
    expect(list.json<{ items: { status: string }[] }>().items[0]?.status).toBe('expired');
  });

  it('a revoked invitation answers 410; revoking is recorded and idempotent; an accepted one cannot be revoked', async () => {
    const { owner, orgId } = await orgWithOwner();
    const invitee = await signUp(t.app, 'invitee');
    const created = (await invite(orgId, owner, invitee.email)).json<Created>();
    const url = `/api/orgs/${orgId}/invitations/${created.id}`;
    expect((await t.app.inject({ method: 'DELETE', url, headers: bearer(owner) })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'DELETE', url, headers: bearer(owner) })).statusCode).toBe(204);
    expect(await auditRows(admin, { orgId, action: 'invitation.revoke' })).toHaveLength(1);
    const res = await accept(orgId, invitee, created.token);
    expect(res.statusCode).toBe(410);
    expect(res.json<{ error: { message: string } }>().error.message).toMatch(/revoked/);

    const second = (await invite(orgId, owner, invitee.email)).json<Created>();
    expect((await accept(orgId, invitee, second.token)).statusCode).toBe(200);
    const late = await t.app.inject({
      method: 'DELETE',
      url: `/api/orgs/${orgId}/invitations/${second.id}`,
      headers: bearer(owner),
    });
    expect(late.statusCode).toBe(409);
  });

  it('only the user the invitation was issued to can accept it (403)', async () => {
    const { owner, orgId } = await orgWithOwner();
    const created = (await invite(orgId, owner, uniqueEmail('someone'))).json<Created>();
    const thief = await signUp(t.app, 'thief');
    const res = await accept(orgId, thief, created.token);
    expect(res.statusCode).toBe(403);
    const { rowCount } = await admin.query('SELECT 1 FROM memberships WHERE org_id = $1 AND user_id = $2', [
      orgId,
      thief.id,
    ]);
    expect(rowCount).toBe(0);
  });

  it('an unknown token answers 404', async () => {
    const { orgId } = await orgWithOwner();
    const user = await signUp(t.app);
    expect((await accept(orgId, user, 'no-such-token')).statusCode).toBe(404);
  });

  it('refuses to invite an existing member or to double-invite a pending email (409)', async () => {
    const { owner, orgId } = await orgWithOwner();
    const member = await signUp(t.app, 'member');
    await addMember(admin, orgId, member.id, 'viewer');
    expect((await invite(orgId, owner, member.email)).statusCode).toBe(409);
    const email = uniqueEmail('pending');
    expect((await invite(orgId, owner, email)).statusCode).toBe(201);
    expect((await invite(orgId, owner, email)).statusCode).toBe(409);
  });

  it('an admin may invite admins and members but not owners; an owner may invite owners', async () => {
    const { owner, orgId } = await orgWithOwner();
    const adminUser = await signUp(t.app, 'admin');
    await addMember(admin, orgId, adminUser.id, 'admin');
    expect((await invite(orgId, adminUser, uniqueEmail(), 'admin')).statusCode).toBe(201);
    const refused = await invite(orgId, adminUser, uniqueEmail(), 'owner');
    expect(refused.statusCode).toBe(403);
    expect((await invite(orgId, owner, uniqueEmail(), 'owner')).statusCode).toBe(201);
  });
});
