// The admin console as a client of the built-in authorization server, over real HTTP as the single-
// page app drives it: a public client (no secret) with PKCE, first-party (login, then straight back
// with a code: no consent page), its same-origin fetches to the token endpoints carrying Origin, a
// refresh token without offline_access that rotates and whose reuse kills the family, revocation,
// and RP-initiated logout ending the provider session.
import { randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { bearer, useAdminPool, type TestUser } from '../api/helpers.js';
import { metricValue } from '../../support/metrics.js';
import {
  basicAuth,
  Browser,
  createClient,
  http,
  json,
  orgWithOwner,
  pkcePair,
  redirectUri as orgClientRedirectUri,
  useListeningApp,
  type HttpAnswer,
  type RegisteredClient,
  type TokenAnswer,
} from './support.js';

const t = useListeningApp();
const admin = useAdminPool();
const clientId = 'vlinders-console';
const scope = 'openid email profile admin';

let owner: TestUser;
let orgId: string;
let orgClient: RegisteredClient;
const callbackUri = () => `${t.base}/console/callback`;
const signedOutUri = () => `${t.base}/console/`;

beforeAll(async () => {
  ({ owner, orgId } = await orgWithOwner(t, admin, 'console'));
  orgClient = await createClient(t, owner, orgId, {
    name: 'Org web app',
    grantTypes: ['authorization_code'],
    redirectUris: [orgClientRedirectUri],
    scopes: ['admin'],
  });
});

function authorizeUrl(challenge: string, state: string, params: Record<string, string> = {}): string {
  return `/oidc/auth?${new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    redirect_uri: callbackUri(),
    scope,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...params,
  }).toString()}`;
}

interface SignIn {
  browser: Browser;
  code: string;
  verifier: string;
}

/** The console's sign-in: the authorization request, the login form, and back to the callback. */
async function signIn(browser = new Browser(t.base)): Promise<SignIn> {
  const { verifier, challenge } = pkcePair();
  const state = randomBytes(8).toString('hex');
  const loginUrl = Browser.location(await browser.go(authorizeUrl(challenge, state)));
  expect(loginUrl).toMatch(/^\/oidc\/interaction\/[\w-]+$/);
  const loginPage = await browser.go(loginUrl);
  expect(loginPage.status).toBe(200);
  expect(loginPage.text).toContain('Vlinders console asks you to sign in.');
  const afterLogin = await browser.go(`${loginUrl}/login`, { email: owner.email, password: owner.password });
  // The provider resumes the request and, finding the console's grant made, answers the code.
  const callback = new URL(Browser.location(await browser.go(Browser.location(afterLogin))));
  expect(callback.origin + callback.pathname).toBe(callbackUri());
  expect(callback.searchParams.get('state')).toBe(state);
  const code = callback.searchParams.get('code');
  expect(code, callback.href).toBeTruthy();
  return { browser, code: code ?? '', verifier };
}

/** A POST from the console's page: same-origin, so with the platform's own Origin, and no secret. */
function fromConsole(
  endpoint: 'token' | 'token/revocation',
  form: Record<string, string>,
  origin = t.base,
): Promise<HttpAnswer> {
  return http(`${t.base}/oidc/${endpoint}`, { form: { client_id: clientId, ...form }, headers: { origin } });
}

async function exchange(code: string, verifier: string): Promise<TokenAnswer> {
  const res = await fromConsole('token', {
    grant_type: 'authorization_code',
    code,
    redirect_uri: callbackUri(),
    code_verifier: verifier,
  });
  expect(res.status, res.text).toBe(200);
  expect(res.headers['access-control-allow-origin']).toBe(t.base);
  return json<TokenAnswer>(res);
}

async function consoleTokens(): Promise<TokenAnswer & { browser: Browser }> {
  const { browser, code, verifier } = await signIn();
  return { ...(await exchange(code, verifier)), browser };
}

function refresh(refreshToken: string): Promise<HttpAnswer> {
  return fromConsole('token', { grant_type: 'refresh_token', refresh_token: refreshToken });
}

function callApi(path: string, token: string | undefined) {
  return t.app.inject({ method: 'GET', url: path, headers: bearer({ accessToken: token ?? '' }) });
}

async function payloadRows(model: string, id: string): Promise<number> {
  const { rows } = await admin.query('SELECT 1 FROM oidc_payloads WHERE model = $1 AND id = $2', [model, id]);
  return rows.length;
}

describe('sign-in', () => {
  it('logs in and comes back with a code, no consent page; the code and verifier give tokens that act as the user', async () => {
    const tokens = await consoleTokens();
    expect(tokens.token_type).toBe('Bearer');
    // A refresh token without offline_access: the console's alone.
    expect(tokens.refresh_token).toBeTruthy();
    // The access token's scope: the API resource's.
    expect(tokens.scope).toBe('admin');
    expect(decodeJwt(tokens.access_token ?? '')).toMatchObject({
      iss: `${t.base}/oidc`,
      aud: `${t.base}/api`,
      sub: owner.id,
      client_id: clientId,
      scope: 'admin',
    });
    expect(decodeJwt(tokens.id_token ?? '')).toMatchObject({
      sub: owner.id,
      email: owner.email,
      aud: clientId,
    });

    const me = await callApi('/api/me', tokens.access_token);
    expect(me.statusCode, me.body).toBe(200);
    expect(me.json()).toMatchObject({ id: owner.id, email: owner.email });
    const orgs = await callApi('/api/orgs', tokens.access_token);
    expect(orgs.statusCode, orgs.body).toBe(200);
    expect(JSON.stringify(orgs.json())).toContain(orgId);
  });

  it('a second sign-in in the same browser session needs no login either', async () => {
    const { browser } = await signIn();
    const { verifier, challenge } = pkcePair();
    const callback = new URL(Browser.location(await browser.go(authorizeUrl(challenge, 'again'))));
    expect(callback.origin + callback.pathname).toBe(callbackUri());
    const code = callback.searchParams.get('code') ?? '';
    expect((await callApi('/api/me', (await exchange(code, verifier)).access_token)).statusCode).toBe(200);
  });

  it('refuses a code without its verifier, and keeps asking other clients for consent', async () => {
    const { browser, code } = await signIn();
    const noVerifier = await fromConsole('token', {
      grant_type: 'authorization_code',
      code,
      redirect_uri: callbackUri(),
    });
    expect(noVerifier.status).toBe(400);
    expect(json<TokenAnswer>(noVerifier).error).toBe('invalid_grant');

    // Signed in, the same browser authorizing an org's client still meets the consent page.
    const consentUrl = Browser.location(
      await browser.go(
        `/oidc/auth?${new URLSearchParams({
          client_id: orgClient.clientId,
          response_type: 'code',
          redirect_uri: orgClientRedirectUri,
          scope: 'openid admin',
          code_challenge: pkcePair().challenge,
          code_challenge_method: 'S256',
        }).toString()}`,
      ),
    );
    const consent = await browser.go(consentUrl);
    expect(consent.status).toBe(200);
    expect(consent.text).toContain('Allow access?');
  });

  it('refuses a scope or redirect URI the console was not registered with', async () => {
    const { challenge } = pkcePair();
    const wider = new URL(
      Browser.location(
        await new Browser(t.base).go(authorizeUrl(challenge, 's', { scope: 'openid admin inference' })),
      ),
    );
    expect(wider.searchParams.get('error')).toBe('invalid_scope');
    const elsewhere = await new Browser(t.base).go(
      authorizeUrl(challenge, 's', { redirect_uri: 'https://evil.example/console/callback' }),
    );
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.headers.location).toBeUndefined();
  });
});

describe('origins at the token endpoints', () => {
  it("accepts the platform's own origin for the console and no other", async () => {
    const { code, verifier } = await signIn();
    const form = {
      grant_type: 'authorization_code',
      code,
      redirect_uri: callbackUri(),
      code_verifier: verifier,
    };
    for (const origin of ['https://evil.example', 'null', `${t.base}.evil.example`]) {
      const refused = await fromConsole('token', form, origin);
      expect(refused.status, origin).toBe(400);
      expect(json<TokenAnswer>(refused).error_description).toMatch(/origin .* not allowed/);
      expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    }
    // The refusals happened before the code was looked at: it still redeems from the right origin.
    await exchange(code, verifier);
  });

  it("still refuses a browser origin for the orgs' clients, the platform's own included", async () => {
    const res = await http(`${t.base}/oidc/token`, {
      form: { grant_type: 'refresh_token', refresh_token: 'x' },
      headers: { ...basicAuth(orgClient), origin: t.base },
    });
    expect(res.status).toBe(400);
    expect(json<TokenAnswer>(res).error_description).toMatch(/origin .* not allowed/);
  });
});

describe('refresh tokens', () => {
  it('rotate on every use', async () => {
    const first = await consoleTokens();
    const second = await refresh(first.refresh_token ?? '');
    expect(second.status, second.text).toBe(200);
    expect(second.headers['access-control-allow-origin']).toBe(t.base);
    const rotated = json<TokenAnswer>(second);
    expect(rotated.refresh_token).toBeTruthy();
    expect(rotated.refresh_token).not.toBe(first.refresh_token);
    expect((await callApi('/api/me', rotated.access_token)).statusCode).toBe(200);
  });

  it('a reused one revokes the whole family; signing in again starts a new one', async () => {
    const first = await consoleTokens();
    const newest = json<TokenAnswer>(await refresh(first.refresh_token ?? ''));
    const reusedBefore = await metricValue(t.app, 'vlinders_security_refresh_token_reuse_total');

    const replay = await refresh(first.refresh_token ?? '');
    expect(replay.status).toBe(400);
    expect(json<TokenAnswer>(replay).error).toBe('invalid_grant');
    expect(await metricValue(t.app, 'vlinders_security_refresh_token_reuse_total')).toBe(reusedBefore + 1);
    expect(json<TokenAnswer>(await refresh(newest.refresh_token ?? '')).error).toBe('invalid_grant');
    expect((await callApi('/api/me', newest.access_token)).statusCode).toBe(401);
    expect((await callApi('/api/me', first.access_token)).statusCode).toBe(401);

    // The browser's session still points at the dead grant: the next sign-in makes a new one.
    const { verifier, challenge } = pkcePair();
    const callback = new URL(Browser.location(await first.browser.go(authorizeUrl(challenge, 'new'))));
    const fresh = await exchange(callback.searchParams.get('code') ?? '', verifier);
    expect(decodeJwt(fresh.access_token ?? '').grant).not.toBe(decodeJwt(newest.access_token ?? '').grant);
    expect((await callApi('/api/me', fresh.access_token)).statusCode).toBe(200);
  });
});

describe('signing out', () => {
  it('revoking the refresh token deletes it and its grant, so the access token is refused', async () => {
    const tokens = await consoleTokens();
    const grant = String(decodeJwt(tokens.access_token ?? '').grant);
    expect(await payloadRows('RefreshToken', tokens.refresh_token ?? '')).toBe(1);
    expect(await payloadRows('Grant', grant)).toBe(1);

    const res = await fromConsole('token/revocation', {
      token: tokens.refresh_token ?? '',
      token_type_hint: 'refresh_token',
    });
    expect(res.status, res.text).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(t.base);
    expect(await payloadRows('RefreshToken', tokens.refresh_token ?? '')).toBe(0);
    expect(await payloadRows('Grant', grant)).toBe(0);
    expect(json<TokenAnswer>(await refresh(tokens.refresh_token ?? '')).error).toBe('invalid_grant');
    expect((await callApi('/api/me', tokens.access_token)).statusCode).toBe(401);
  });

  it('RP-initiated logout asks, then ends the provider session and the grant, and returns to the console', async () => {
    const tokens = await consoleTokens();
    const { browser } = tokens;
    const ask = await browser.go(
      `/oidc/session/end?${new URLSearchParams({
        id_token_hint: tokens.id_token ?? '',
        post_logout_redirect_uri: signedOutUri(),
        state: 'bye',
      }).toString()}`,
    );
    expect(ask.status).toBe(200);
    expect(ask.headers['content-security-policy']).toBe(
      `default-src 'none'; form-action 'self' ${t.base}; frame-ancestors 'none'`,
    );
    expect(ask.text).toContain('Sign out of Vlinders?');
    expect(ask.text).not.toMatch(/<script|<style|style=/);
    const action = /<form id="op.logoutForm" method="post" action="([^"]+)"/.exec(ask.text)?.[1] ?? '';
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(ask.text)?.[1] ?? '';
    expect(ask.text).toContain('name="logout" value="yes"');

    const done = await browser.go(new URL(action).pathname, { xsrf, logout: 'yes' });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe(`${signedOutUri()}?state=bye`);
    expect((await callApi('/api/me', tokens.access_token)).statusCode).toBe(401);
    expect(json<TokenAnswer>(await refresh(tokens.refresh_token ?? '')).error).toBe('invalid_grant');

    // The provider forgot the session: the next authorization asks for the password again.
    const next = Browser.location(await browser.go(authorizeUrl(pkcePair().challenge, 'after')));
    expect(next).toMatch(/^\/oidc\/interaction\/[\w-]+$/);
  });

  it('refuses a post-logout redirect the console was not registered with', async () => {
    const tokens = await consoleTokens();
    const res = await tokens.browser.go(
      `/oidc/session/end?${new URLSearchParams({
        id_token_hint: tokens.id_token ?? '',
        post_logout_redirect_uri: 'https://evil.example/',
      }).toString()}`,
    );
    expect(res.status).toBe(400);
    expect(res.text).toContain('post_logout_redirect_uri not registered');
  });
});
