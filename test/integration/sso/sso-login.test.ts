// Sign-in through an org's identity provider, end to end: the platform's login redirect, a real
// oidc-provider playing the company's IdP (over HTTP, its cookies kept by hand), the callback, and
// what a user would notice: tokens that work, the membership and role, refusals that change nothing.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestApp } from '../../support/app.js';
import { startCompanyIdp, type CompanyIdp } from '../../support/company-idp.js';
import { auditRows, bearer, errorCode, signUp, useAdminPool } from '../api/helpers.js';
import { orgFingerprint } from '../api/state.js';
import {
  addAccount,
  callback,
  orgWithConnection,
  redirectUri,
  ssoAppConfig,
  ssoLogin,
  startLogin,
  type SsoOrg,
  type SsoSession,
} from './support.js';

const t = useTestApp(ssoAppConfig);
const admin = useAdminPool();
let idp: CompanyIdp;
let org: SsoOrg;

beforeAll(async () => {
  idp = await startCompanyIdp({ redirectUri });
  org = await orgWithConnection(t.app, admin, idp);
});
afterAll(async () => {
  await idp?.close();
});

async function roleOf(userId: string): Promise<string | undefined> {
  const { rows } = await admin.query<{ role: string }>(
    'SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2',
    [org.orgId, userId],
  );
  return rows[0]?.role;
}

/** An org's fingerprint less its audit count (refused sign-ins are audited). */
function withoutAudit(fingerprint: string): string[] {
  return fingerprint.split('|').slice(0, -1);
}

async function usersWithEmail(email: string): Promise<number> {
  const { rows } = await admin.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM users WHERE lower(email) = lower($1)',
    [email],
  );
  return rows[0]?.n ?? 0;
}

describe('sign-in through the company identity provider', () => {
  it('redirects with PKCE (S256), state and nonce, and sets the state cookie', async () => {
    const { location } = await startLogin(t.app, org.orgId);
    const url = new URL(location);
    expect(url.origin).toBe(idp.issuer);
    expect(url.searchParams.get('client_id')).toBe(idp.clientId);
    expect(url.searchParams.get('redirect_uri')).toBe(redirectUri);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('state')).toBeTruthy();
    expect(url.searchParams.get('nonce')).toBeTruthy();
    expect(url.searchParams.get('scope')?.split(' ')).toEqual(
      expect.arrayContaining(['openid', 'email', 'groups']),
    );
  });

  it('answers platform tokens; the new user is a member with the mapped role', async () => {
    const account = addAccount(idp, ['vl-admins', 'unrelated']);
    const res = await ssoLogin(t.app, idp, org.orgId, { account: account.sub });
    expect(res.statusCode, res.body).toBe(200);
    const session = res.json<SsoSession>();
    expect(session).toMatchObject({ orgId: org.orgId, role: 'admin', user: { email: account.email } });
    expect(await roleOf(session.user.id)).toBe('admin');

    const me = await t.app.inject({ method: 'GET', url: '/api/me', headers: bearer(session) });
    expect(me.statusCode).toBe(200);
    expect(me.json<{ email: string }>().email).toBe(account.email);
    const members = await t.app.inject({
      method: 'GET',
      url: `/api/orgs/${org.orgId}/members`,
      headers: bearer(session),
    });
    expect(members.statusCode).toBe(200);
    const refreshed = await t.app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refreshToken: session.refreshToken },
    });
    expect(refreshed.statusCode).toBe(200);

    const actions = (await auditRows(admin, { orgId: org.orgId, actorId: session.user.id })).map(
      (r) => r.action,
    );
    expect(actions).toEqual(['sso.user_provision', 'sso.member_provision', 'auth.sso_login']);
  });

  it('follows the mapping on later sign-ins, for the same user', async () => {
    const account = addAccount(idp, ['vl-readers']);
    const first = (await ssoLogin(t.app, idp, org.orgId, { account: account.sub })).json<SsoSession>();
    expect(first.role).toBe('viewer');

    account.groups = ['vl-finance'];
    const second = await ssoLogin(t.app, idp, org.orgId, { account: account.sub });
    expect(second.statusCode, second.body).toBe(200);
    expect(second.json<SsoSession>()).toMatchObject({ role: 'billing', user: { id: first.user.id } });
    expect(await roleOf(first.user.id)).toBe('billing');
    const [change] = await auditRows(admin, { orgId: org.orgId, action: 'member.role_change' }).then((rows) =>
      rows.filter((r) => r.target_id === first.user.id),
    );
    expect(change?.details).toEqual({ from: 'viewer', to: 'billing', via: 'sso' });

    account.groups = [];
    const third = await ssoLogin(t.app, idp, org.orgId, { account: account.sub });
    expect(third.json<SsoSession>().role).toBe('member');
  });

  it('never demotes an owner', async () => {
    const account = addAccount(idp, []);
    const first = (await ssoLogin(t.app, idp, org.orgId, { account: account.sub })).json<SsoSession>();
    await admin.query(`UPDATE memberships SET role = 'owner' WHERE org_id = $1 AND user_id = $2`, [
      org.orgId,
      first.user.id,
    ]);
    const again = await ssoLogin(t.app, idp, org.orgId, { account: account.sub });
    expect(again.json<SsoSession>().role).toBe('owner');
    expect(await roleOf(first.user.id)).toBe('owner');
  });

  it('refuses an email domain that is not allowed: 403, no user, no membership', async () => {
    const account = addAccount(idp, ['vl-admins'], {
      email: `intruder-${randomUUID().slice(0, 8)}@elsewhere.test`,
    });
    const before = await orgFingerprint(admin, org.orgId);
    const res = await ssoLogin(t.app, idp, org.orgId, { account: account.sub });
    expect(res.statusCode, res.body).toBe(403);
    expect(errorCode(res)).toBe('FORBIDDEN');
    expect(await usersWithEmail(account.email)).toBe(0);
    // Only the audit trail grew: one failed sign-in.
    expect(withoutAudit(await orgFingerprint(admin, org.orgId))).toEqual(withoutAudit(before));
    const failed = await auditRows(admin, { orgId: org.orgId, action: 'auth.sso_login_failed' });
    expect(failed.at(-1)?.details).toMatchObject({ subject: account.sub });
  });

  it('refuses an email the provider has not verified', async () => {
    const account = addAccount(idp, [], { emailVerified: false });
    const res = await ssoLogin(t.app, idp, org.orgId, { account: account.sub });
    expect(res.statusCode).toBe(403);
    expect(await usersWithEmail(account.email)).toBe(0);
  });

  it('will not take over an existing platform account with the same email: 409, nothing linked', async () => {
    const existing = await signUp(t.app, 'existing');
    const email = existing.email.replace(/@.*$/, '@company.test');
    await admin.query('UPDATE users SET email = $1 WHERE id = $2', [email, existing.id]);
    const account = addAccount(idp, ['vl-admins'], { email });
    const res = await ssoLogin(t.app, idp, org.orgId, { account: account.sub });
    expect(res.statusCode, res.body).toBe(409);
    expect(await roleOf(existing.id)).toBeUndefined();
    const { rows } = await admin.query('SELECT 1 FROM sso_identities WHERE subject = $1', [account.sub]);
    expect(rows).toEqual([]);
  });

  it('refuses a replayed callback, and the replay changes nothing', async () => {
    const account = addAccount(idp, []);
    const started = await startLogin(t.app, org.orgId);
    const back = await idp.authorize(started.location, { account: account.sub });
    expect((await callback(t.app, back, started.cookie)).statusCode).toBe(200);
    const before = await orgFingerprint(admin, org.orgId);
    const replay = await callback(t.app, back, started.cookie);
    expect(replay.statusCode).toBe(400);
    expect(errorCode(replay)).toBe('VALIDATION');
    expect(await orgFingerprint(admin, org.orgId)).toBe(before);
  });

  it('refuses an unknown state', async () => {
    const state = randomUUID();
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/sso/callback?code=made-up&state=${state}`,
      headers: { cookie: `vl_sso_state=${state}` },
    });
    expect(res.statusCode).toBe(400);
    expect(errorCode(res)).toBe('VALIDATION');
  });

  it('refuses a callback from a browser that did not start the sign-in, which stays usable', async () => {
    const account = addAccount(idp, []);
    const started = await startLogin(t.app, org.orgId);
    const back = await idp.authorize(started.location, { account: account.sub });
    const forged = await callback(t.app, back, 'vl_sso_state=someone-elses-state');
    expect(forged.statusCode).toBe(400);
    expect((await callback(t.app, back, '')).statusCode).toBe(400);
    expect((await callback(t.app, back, started.cookie)).statusCode).toBe(200);
  });

  it('refuses an expired sign-in', async () => {
    const account = addAccount(idp, []);
    const started = await startLogin(t.app, org.orgId);
    const back = await idp.authorize(started.location, { account: account.sub });
    await admin.query(`UPDATE sso_logins SET expires_at = now() - interval '1 second' WHERE org_id = $1`, [
      org.orgId,
    ]);
    const res = await callback(t.app, back, started.cookie);
    expect(res.statusCode).toBe(400);
    expect(await usersWithEmail(account.email)).toBe(0);
  });

  it('answers 401 when the provider refuses the sign-in, and provisions nothing', async () => {
    const before = await orgFingerprint(admin, org.orgId);
    const res = await ssoLogin(t.app, idp, org.orgId, { deny: true });
    expect(res.statusCode, res.body).toBe(401);
    expect(res.json<{ error: { message: string } }>().error.message).toMatch(/access_denied/);
    expect(withoutAudit(await orgFingerprint(admin, org.orgId))).toEqual(withoutAudit(before));
  });

  it('answers 404 to a sign-in for an org without single sign-on', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/api/sso/${randomUUID()}/login` });
    expect(res.statusCode).toBe(404);
  });
});
