// The built-in authorization server over real HTTP: discovery and JWKS, the authorization-code flow
// with PKCE through our login and consent pages, client credentials, refresh-token rotation and
// reuse detection, revocation, introspection, and the API accepting (and refusing) its tokens.
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  auditRows,
  bearer,
  password,
  signUpUnverified,
  useAdminPool,
  type TestUser,
} from '../api/helpers.js';
import { metricValue } from '../../support/metrics.js';
import {
  Browser,
  clientCall,
  createClient,
  exchangeCode,
  http,
  introspect as introspectAt,
  json,
  orgWithOwner,
  pkcePair,
  redirectUri,
  signInAndConsent,
  useListeningApp,
  type RegisteredClient,
  type TokenAnswer,
} from './support.js';

const t = useListeningApp();
const admin = useAdminPool();

let owner: TestUser;
let orgId: string;
let webClient: RegisteredClient;
let machine: RegisteredClient;

beforeAll(async () => {
  ({ owner, orgId } = await orgWithOwner(t, admin, 'oidc'));
  webClient = await createClient(t, owner, orgId, {
    name: 'Web app',
    grantTypes: ['authorization_code'],
    redirectUris: [redirectUri],
    scopes: ['inference', 'models:read', 'admin'],
  });
  machine = await createClient(t, owner, orgId, {
    name: 'Batch job',
    grantTypes: ['client_credentials'],
    scopes: ['inference', 'usage:read'],
  });
});

async function userTokens(scope?: string): Promise<TokenAnswer> {
  const { code, verifier } = await signInAndConsent(t.base, webClient, owner, scope);
  return exchangeCode(t.base, webClient, code, verifier);
}

async function refresh(refreshToken: string): Promise<{ status: number; body: TokenAnswer }> {
  const res = await clientCall(t.base, 'token', webClient, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
  });
  return { status: res.status, body: json<TokenAnswer>(res) };
}

const introspect = (client: RegisteredClient, token: string) => introspectAt(t.base, client, token);

function callApi(path: string, token: string) {
  return t.app.inject({ method: 'GET', url: path, headers: bearer({ accessToken: token }) });
}

describe('discovery and keys', () => {
  it('publishes the metadata of issuer PUBLIC_URL/oidc', async () => {
    const res = await http(`${t.base}/oidc/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    const doc = json<Record<string, unknown>>(res);
    expect(doc.issuer).toBe(`${t.base}/oidc`);
    expect(doc.token_endpoint).toBe(`${t.base}/oidc/token`);
    expect(doc.authorization_endpoint).toBe(`${t.base}/oidc/auth`);
    expect(doc.jwks_uri).toBe(`${t.base}/oidc/jwks`);
    expect(doc.code_challenge_methods_supported).toEqual(['S256']);
    expect(doc.grant_types_supported).toEqual(
      expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials']),
    );
    expect(doc.response_types_supported).toEqual(['code']);
    expect(doc.revocation_endpoint).toBe(`${t.base}/oidc/token/revocation`);
    expect(doc.introspection_endpoint).toBe(`${t.base}/oidc/token/introspection`);
  });

  it('answers the same metadata at the RFC 8414 address', async () => {
    const rfc8414 = await http(`${t.base}/.well-known/oauth-authorization-server/oidc`);
    expect(rfc8414.status).toBe(200);
    const openid = await http(`${t.base}/oidc/.well-known/openid-configuration`);
    expect(json(rfc8414)).toEqual(json(openid));
  });

  it("publishes the platform's un-retired signing keys, public halves only", async () => {
    const res = await http(`${t.base}/oidc/jwks`);
    expect(res.status).toBe(200);
    const { keys } = json<{ keys: Record<string, unknown>[] }>(res);
    const platform = json<{ keys: { kid: string }[] }>(await http(`${t.base}/.well-known/jwks.json`));
    expect(keys.map((k) => k.kid).sort()).toEqual(platform.keys.map((k) => k.kid).sort());
    for (const key of keys) {
      expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
      expect(key).not.toHaveProperty('d');
      expect(key).not.toHaveProperty('p');
    }
  });
});

describe('authorization code with PKCE', () => {
  it('signs a user in through the login and consent pages and issues RS256 JWT access tokens', async () => {
    const tokens = await userTokens();
    expect(tokens.token_type).toBe('Bearer');
    expect(tokens.refresh_token).toBeTruthy();
    const accessToken = tokens.access_token ?? '';
    const header = decodeProtectedHeader(accessToken);
    expect(header).toMatchObject({ alg: 'RS256', typ: 'at+jwt' });
    const jwks = json<{ keys: { kid: string }[] }>(await http(`${t.base}/oidc/jwks`));
    expect(jwks.keys.map((k) => k.kid)).toContain(header.kid);
    const claims = decodeJwt(accessToken);
    expect(claims).toMatchObject({
      iss: `${t.base}/oidc`,
      aud: `${t.base}/api`,
      sub: owner.id,
      client_id: webClient.clientId,
      scope: 'inference admin',
    });
    expect(claims.exp).toBeGreaterThan(Date.now() / 1000);

    const idToken = decodeJwt(tokens.id_token ?? '');
    // The owner followed the verification link mailed at sign-up.
    expect(idToken).toMatchObject({
      sub: owner.id,
      email: owner.email,
      email_verified: true,
      aud: webClient.clientId,
    });
  });

  it('the API accepts the access token as the user on user routes', async () => {
    const { access_token } = await userTokens();
    const me = await callApi('/api/me', access_token ?? '');
    expect(me.statusCode, me.body).toBe(200);
    expect(me.json<{ id: string; email: string }>()).toMatchObject({ id: owner.id, email: owner.email });
    const org = await callApi(`/api/orgs/${orgId}`, access_token ?? '');
    expect(org.statusCode).toBe(200);
    // A user's token is not an API credential.
    expect((await callApi('/api/auth/key', access_token ?? '')).statusCode).toBe(401);
  });

  it('a user token without the admin scope is refused on management routes (signing in to an app is not handing it the account)', async () => {
    const { access_token } = await userTokens('openid email offline_access inference');
    for (const path of ['/api/me', `/api/orgs/${orgId}`]) {
      const res = await callApi(path, access_token ?? '');
      expect(res.statusCode, path).toBe(403);
      expect(res.json<{ error: { code: string } }>().error.code).toBe('FORBIDDEN');
    }
  });

  it('records the token issue in the audit log of the client’s org', async () => {
    await userTokens();
    await expect
      .poll(async () =>
        (await auditRows(admin, { orgId, action: 'oauth.token.issue' })).map((r) => r.details.grantType),
      )
      .toContain('authorization_code');
  });

  async function authorize(params: Record<string, string>): Promise<string> {
    const browser = new Browser(t.base);
    const answer = await browser.go(
      `/oidc/auth?${new URLSearchParams({
        client_id: webClient.clientId,
        response_type: 'code',
        redirect_uri: redirectUri,
        scope: 'openid',
        state: 'xyz',
        ...params,
      }).toString()}`,
    );
    return Browser.location(answer);
  }

  it('refuses an authorization request without PKCE', async () => {
    const location = new URL(await authorize({}));
    expect(location.origin + location.pathname).toBe(redirectUri);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toMatch(/PKCE/);
  });

  it('refuses the plain PKCE method', async () => {
    const { verifier } = pkcePair();
    const location = new URL(await authorize({ code_challenge: verifier, code_challenge_method: 'plain' }));
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toMatch(/code_challenge_method/);
  });

  it('refuses a code redeemed with the wrong verifier, and a code redeemed twice', async () => {
    const { code, verifier } = await signInAndConsent(t.base, webClient, owner);
    const wrong = await clientCall(t.base, 'token', webClient, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      code_verifier: pkcePair().verifier,
    });
    expect(wrong.status).toBe(400);
    expect(json<TokenAnswer>(wrong).error).toBe('invalid_grant');
    // The failed attempt does not consume the code; the right verifier redeems it once.
    await exchangeCode(t.base, webClient, code, verifier);
    const again = await clientCall(t.base, 'token', webClient, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
    });
    expect(json<TokenAnswer>(again).error).toBe('invalid_grant');
  });

  it('sends the user back with access_denied when they deny consent', async () => {
    const browser = new Browser(t.base);
    const { challenge } = pkcePair();
    const loginUrl = Browser.location(
      await browser.go(
        `/oidc/auth?${new URLSearchParams({
          client_id: webClient.clientId,
          response_type: 'code',
          redirect_uri: redirectUri,
          scope: 'openid inference',
          state: 'deny',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        }).toString()}`,
      ),
    );
    const afterLogin = await browser.go(`${loginUrl}/login`, {
      email: owner.email,
      password: owner.password,
    });
    const consentUrl = Browser.location(await browser.go(Browser.location(afterLogin)));
    const denied = await browser.go(`${consentUrl}/abort`, {});
    const callback = new URL(Browser.location(await browser.go(Browser.location(denied))));
    expect(callback.origin + callback.pathname).toBe(redirectUri);
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('code')).toBeNull();
  });

  /** Submits the login page of a fresh authorization request. */
  async function submitLogin(email: string, secret: string) {
    const browser = new Browser(t.base);
    const { challenge } = pkcePair();
    const start = await browser.go(
      `/oidc/auth?${new URLSearchParams({
        client_id: webClient.clientId,
        response_type: 'code',
        redirect_uri: redirectUri,
        scope: 'openid',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }).toString()}`,
    );
    return browser.go(`${Browser.location(start)}/login`, { email, password: secret });
  }

  it('answers a wrong password on the login page with 401 and no redirect', async () => {
    const failed = await submitLogin(owner.email, 'not the password');
    expect(failed.status).toBe(401);
    expect(failed.headers.location).toBeUndefined();
    expect(failed.text).toContain('The email or password is wrong.');
    // Counted as a failed sign-in on the login page's form, like the password route's.
    expect(await metricValue(t.app, 'vlinders_security_login_failures_total', { form: 'oidc-login' })).toBe(
      1,
    );
  });

  it('answers the right password of an unverified account with 403 and no redirect', async () => {
    const email = await signUpUnverified(t.app, 'oidc-unverified');
    const refused = await submitLogin(email, password);
    expect(refused.status).toBe(403);
    expect(refused.headers.location).toBeUndefined();
    expect(refused.text).toContain('Confirm your email address first');
  });
});

describe('refresh tokens', () => {
  it('rotate on every use', async () => {
    const first = await userTokens();
    const second = await refresh(first.refresh_token ?? '');
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).toBeTruthy();
    expect(second.body.refresh_token).not.toBe(first.refresh_token);
    expect((await callApi('/api/me', second.body.access_token ?? '')).statusCode).toBe(200);
  });

  it('a reused refresh token revokes the whole family', async () => {
    const first = await userTokens();
    const second = await refresh(first.refresh_token ?? '');
    const third = await refresh(second.body.refresh_token ?? '');
    expect(third.status).toBe(200);
    const newest = third.body;

    // An attacker replays the first (rotated-away) refresh token.
    const reusedBefore = await metricValue(t.app, 'vlinders_security_refresh_token_reuse_total');
    const replay = await refresh(first.refresh_token ?? '');
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    // A security event, as for the platform's own refresh tokens; the refused request counts too.
    expect(await metricValue(t.app, 'vlinders_security_refresh_token_reuse_total')).toBe(reusedBefore + 1);
    expect(
      await metricValue(t.app, 'vlinders_security_token_request_failures_total', { error: 'invalid_grant' }),
    ).toBeGreaterThan(0);

    // Every token of the family stops working: the newest refresh token too.
    const afterReuse = await refresh(newest.refresh_token ?? '');
    expect(afterReuse.status).toBe(400);
    expect(afterReuse.body.error).toBe('invalid_grant');
    expect((await introspect(webClient, newest.refresh_token ?? '')).active).toBe(false);
    // The family's JWT access tokens introspect as inactive: their grant is gone.
    expect((await introspect(webClient, newest.access_token ?? '')).active).toBe(false);
    // The API refuses the family's access tokens, the newest one included.
    expect((await callApi('/api/me', newest.access_token ?? '')).statusCode).toBe(401);
    expect((await callApi('/api/me', first.access_token ?? '')).statusCode).toBe(401);

    await expect
      .poll(async () =>
        (await auditRows(admin, { orgId, action: 'oauth.grant.revoke' })).map((r) => r.details.reason),
      )
      .toContain('refresh token reused');
  });
});

describe('revocation and introspection', () => {
  it('introspects a live refresh token for the client that holds it', async () => {
    const tokens = await userTokens();
    const info = await introspect(webClient, tokens.refresh_token ?? '');
    expect(info).toMatchObject({ active: true, client_id: webClient.clientId, sub: owner.id });
    expect(String(info.scope)).toContain('offline_access');
  });

  it('a revoked refresh token is inactive, cannot refresh, and its access tokens are refused', async () => {
    const tokens = await userTokens();
    const res = await clientCall(t.base, 'token/revocation', webClient, {
      token: tokens.refresh_token ?? '',
      token_type_hint: 'refresh_token',
    });
    expect(res.status).toBe(200);
    expect((await introspect(webClient, tokens.refresh_token ?? '')).active).toBe(false);
    expect((await refresh(tokens.refresh_token ?? '')).body.error).toBe('invalid_grant');
    expect((await callApi('/api/me', tokens.access_token ?? '')).statusCode).toBe(401);
    await expect
      .poll(async () => (await auditRows(admin, { orgId, action: 'oauth.token.revoke' })).length)
      .toBeGreaterThan(0);
  });

  it('another client cannot introspect or revoke the token', async () => {
    const tokens = await userTokens();
    expect((await introspect(machine, tokens.refresh_token ?? '')).active).toBe(false);
    const revoke = await clientCall(t.base, 'token/revocation', machine, {
      token: tokens.refresh_token ?? '',
    });
    expect(revoke.status).toBe(400);
    expect((await introspect(webClient, tokens.refresh_token ?? '')).active).toBe(true);
  });
});

describe('client credentials', () => {
  async function machineToken(scope = 'inference usage:read'): Promise<TokenAnswer> {
    const res = await clientCall(t.base, 'token', machine, { grant_type: 'client_credentials', scope });
    expect(res.status, res.text).toBe(200);
    return json<TokenAnswer>(res);
  }

  it('issues a JWT for the API that acts as a machine client of the org where API keys are accepted', async () => {
    const token = await machineToken('inference');
    expect(token.refresh_token).toBeUndefined();
    const claims = decodeJwt(token.access_token ?? '');
    expect(claims).toMatchObject({
      iss: `${t.base}/oidc`,
      aud: `${t.base}/api`,
      sub: machine.clientId,
      client_id: machine.clientId,
      scope: 'inference',
    });
    const key = await callApi('/api/auth/key', token.access_token ?? '');
    expect(key.statusCode, key.body).toBe(200);
    expect(key.json()).toMatchObject({ keyId: machine.id, orgId, scopes: ['inference'], teamId: null });
    // Not a user: user routes refuse it.
    expect((await callApi('/api/me', token.access_token ?? '')).statusCode).toBe(401);
    expect((await callApi(`/api/orgs/${orgId}`, token.access_token ?? '')).statusCode).toBe(401);
  });

  it('refuses scopes the client was not given', async () => {
    const res = await clientCall(t.base, 'token', machine, {
      grant_type: 'client_credentials',
      scope: 'admin',
    });
    expect(res.status).toBe(400);
    expect(json<TokenAnswer>(res).error).toBe('invalid_scope');
  });

  it('refuses a wrong secret and a code-flow client', async () => {
    const wrong = await clientCall(
      t.base,
      'token',
      { clientId: machine.clientId, clientSecret: 'wrong' },
      { grant_type: 'client_credentials' },
    );
    expect(wrong.status).toBe(401);
    expect(json<TokenAnswer>(wrong).error).toBe('invalid_client');
    const web = await clientCall(t.base, 'token', webClient, { grant_type: 'client_credentials' });
    expect(web.status).toBe(400);
    expect(json<TokenAnswer>(web).error_description).toBe(
      'requested grant type is not allowed for this client',
    );
  });
});
