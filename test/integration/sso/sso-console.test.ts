// Single sign-on into the built-in authorization server, over real HTTP as a browser drives it: the
// admin console's authorization request, the login page's single sign-on form (an org's slug), the
// company's identity provider, the platform's SSO callback handing the browser back to the
// interaction with a one-time ticket, the console's code and tokens acting as the SSO user.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ssoRedirectUri } from '../../../api/identity/sso/issuers.js';
import { startCompanyIdp, type CompanyIdp } from '../../support/company-idp.js';
import { bearer, seedActiveOrg, signUp, useAdminPool } from '../api/helpers.js';
import { Browser, http, json, pkcePair, useListeningApp, type TokenAnswer } from '../oidc/support.js';
import { addAccount, orgWithConnection, ssoAppConfig, type SsoOrg } from './support.js';

const t = useListeningApp(ssoAppConfig);
const admin = useAdminPool();
const clientId = 'vlinders-console';
let idp: CompanyIdp;
let org: SsoOrg;
let slug: string;
const consoleCallback = () => `${t.base}/console/callback`;

async function slugOf(orgId: string): Promise<string> {
  const { rows } = await admin.query<{ slug: string }>('SELECT slug FROM organizations WHERE id = $1', [
    orgId,
  ]);
  return rows[0]!.slug;
}

beforeAll(async () => {
  idp = await startCompanyIdp({ redirectUri: ssoRedirectUri(t.base) });
  org = await orgWithConnection(t.app, admin, idp);
  slug = await slugOf(org.orgId);
});
afterAll(async () => {
  await idp?.close();
});

interface Interaction {
  browser: Browser;
  /** The interaction's path, /oidc/interaction/<uid>. */
  path: string;
  verifier: string;
  state: string;
}

/** The console's authorization request, up to the login page. */
async function startInteraction(browser = new Browser(t.base)): Promise<Interaction> {
  const { verifier, challenge } = pkcePair();
  const state = randomBytes(8).toString('hex');
  const query = new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    redirect_uri: consoleCallback(),
    scope: 'openid email profile admin',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  const path = Browser.location(await browser.go(`/oidc/auth?${query.toString()}`));
  expect(path).toMatch(/^\/oidc\/interaction\/[\w-]+$/);
  return { browser, path, verifier, state };
}

/** The link out of the page that leaves for the identity provider. */
function leavingUrl(html: string): string {
  const href = /<a href="([^"]+)">/.exec(html)?.[1];
  if (!href) throw new Error(`no link in ${html}`);
  return href.replaceAll('&amp;', '&');
}

/** Login page → single sign-on form → identity provider → callback: answers where the callback sends the browser. */
async function ssoTicketUrl(interaction: Interaction, account: string): Promise<string> {
  const { browser, path } = interaction;
  const page = await browser.go(path);
  expect(page.text).toContain(`action="${path}/sso"`);
  const leaving = await browser.go(`${path}/sso`, { slug });
  expect(leaving.status, leaving.text).toBe(200);
  expect(leaving.headers['content-security-policy']).toBe(
    "default-src 'none'; form-action 'none'; frame-ancestors 'none'",
  );
  const idpUrl = leavingUrl(leaving.text);
  expect(new URL(idpUrl).origin).toBe(idp.issuer);
  expect(leaving.text).toContain(`<meta http-equiv="refresh" content="0; url=`);
  const back = await idp.authorize(idpUrl, { account });
  const callback = await browser.go(`${back.pathname}${back.search}`);
  expect(callback.status, callback.text).toBe(303);
  expect(callback.text).not.toMatch(/refreshToken|accessToken/);
  const next = Browser.location(callback);
  expect(next).toMatch(new RegExp(`^${path}/sso-complete\\?ticket=[\\w-]+$`));
  return next;
}

async function exchange(code: string, verifier: string): Promise<TokenAnswer> {
  const res = await http(`${t.base}/oidc/token`, {
    form: {
      client_id: clientId,
      grant_type: 'authorization_code',
      code,
      redirect_uri: consoleCallback(),
      code_verifier: verifier,
    },
    headers: { origin: t.base },
  });
  expect(res.status, res.text).toBe(200);
  return json<TokenAnswer>(res);
}

async function refreshTokensOf(userId: string): Promise<number> {
  const { rows } = await admin.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM refresh_tokens WHERE user_id = $1',
    [userId],
  );
  return rows[0]?.n ?? 0;
}

describe("the console's sign-in through an org's single sign-on", () => {
  it('comes back to the console with a code whose tokens act as the SSO user, now a member; no platform refresh token', async () => {
    const account = addAccount(idp, ['vl-admins']);
    const interaction = await startInteraction();
    const { browser, verifier, state } = interaction;
    const complete = await browser.go(await ssoTicketUrl(interaction, account.sub));
    const resumed = await browser.go(Browser.location(complete));
    const callback = new URL(Browser.location(resumed));
    expect(callback.origin + callback.pathname).toBe(consoleCallback());
    expect(callback.searchParams.get('state')).toBe(state);
    const tokens = await exchange(callback.searchParams.get('code') ?? '', verifier);

    const me = await t.app.inject({
      method: 'GET',
      url: '/api/me',
      headers: bearer({ accessToken: tokens.access_token ?? '' }),
    });
    expect(me.statusCode, me.body).toBe(200);
    const user = me.json<{ id: string; email: string }>();
    expect(user.email).toBe(account.email);
    const { rows } = await admin.query<{ role: string }>(
      'SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2',
      [org.orgId, user.id],
    );
    expect(rows).toEqual([{ role: 'admin' }]);
    expect(await refreshTokensOf(user.id)).toBe(0);
  });

  it('answers an unknown slug and an org without single sign-on alike, and starts nothing', async () => {
    const owner = await signUp(t.app, 'no-sso-owner');
    const withoutSso = await slugOf(await seedActiveOrg(admin, owner, 'No SSO Org'));
    const { browser, path } = await startInteraction();
    const unknown = await browser.go(`${path}/sso`, { slug: `nobody-${randomBytes(4).toString('hex')}` });
    const noConnection = await browser.go(`${path}/sso`, { slug: withoutSso });
    expect(unknown.status).toBe(404);
    expect(noConnection.status).toBe(404);
    expect(noConnection.text).toBe(unknown.text);
    expect(unknown.text).toContain('No organization with this name signs in through single sign-on.');
    expect(unknown.headers['set-cookie']).toBeUndefined();
    expect(noConnection.headers['set-cookie']).toBeUndefined();
  });

  it('takes a ticket once, even when two requests race for it', async () => {
    const interaction = await startInteraction();
    const ticketUrl = await ssoTicketUrl(interaction, addAccount(idp, []).sub);
    const answers = await Promise.all([interaction.browser.go(ticketUrl), interaction.browser.go(ticketUrl)]);
    expect(answers.map((a) => a.status).sort()).toEqual([303, 400]);
    const refused = answers.find((a) => a.status === 400)!;
    expect(refused.text).toContain('The single sign-on ticket is unknown, expired or already used');
  });

  it('refuses a ticket made for another interaction, which burns it; and an expired one', async () => {
    const victim = await startInteraction();
    const ticketUrl = await ssoTicketUrl(victim, addAccount(idp, []).sub);
    const other = await startInteraction();
    const foreign = await other.browser.go(ticketUrl.replace(victim.path, other.path));
    expect(foreign.status).toBe(400);
    expect(foreign.text).toContain('The single sign-on ticket is unknown, expired or already used');
    expect((await victim.browser.go(ticketUrl)).status).toBe(400);

    const late = await startInteraction();
    const lateUrl = await ssoTicketUrl(late, addAccount(idp, []).sub);
    await admin.query(
      `UPDATE sso_interaction_tickets SET expires_at = now() - interval '1 second' WHERE interaction_uid = $1`,
      [late.path.split('/').pop()],
    );
    expect((await late.browser.go(lateUrl)).status).toBe(400);
  });
});
