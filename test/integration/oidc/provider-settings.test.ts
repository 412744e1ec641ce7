// The authorization server's operational settings: it picks up a new signing key without a restart
// (within SIGNING_KEY_REFRESH_SECONDS) while older tokens keep verifying, its cookies are httpOnly,
// SameSite=Lax and Secure under an https PUBLIC_URL, and its login page shares the account lockout.
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateSigningKey } from '../../../api/identity/signing-keys/signing-keys.js';
import { masterKeyFromConfig } from '../../../runtime/envelope.js';
import { buildTestApp, type TestApp } from '../../support/app.js';
import { bearer, useAdminPool, type TestUser } from '../api/helpers.js';
import {
  Browser,
  clientCall,
  createClient,
  http,
  json,
  orgWithOwner,
  pkcePair,
  redirectUri,
  useListeningApp,
  type RegisteredClient,
} from './support.js';

const t = useListeningApp({ SIGNING_KEY_REFRESH_SECONDS: '1', LOGIN_MAX_FAILURES: '2' });
const admin = useAdminPool();
let owner: TestUser;
let orgId: string;
let machine: RegisteredClient;
let webClient: RegisteredClient;

beforeAll(async () => {
  ({ owner, orgId } = await orgWithOwner(t, admin, 'settings'));
  machine = await createClient(t, owner, orgId, {
    name: 'job',
    grantTypes: ['client_credentials'],
    scopes: ['inference'],
  });
  webClient = await createClient(t, owner, orgId, {
    name: 'web',
    grantTypes: ['authorization_code'],
    redirectUris: [redirectUri],
    scopes: [],
  });
});

async function machineToken(): Promise<string> {
  const res = await clientCall(t.base, 'token', machine, {
    grant_type: 'client_credentials',
    scope: 'inference',
  });
  expect(res.status, res.text).toBe(200);
  return json<{ access_token: string }>(res).access_token;
}

function authorizeUrl(client: RegisteredClient): string {
  return `/oidc/auth?${new URLSearchParams({
    client_id: client.clientId,
    response_type: 'code',
    redirect_uri: redirectUri,
    scope: 'openid',
    code_challenge: pkcePair().challenge,
    code_challenge_method: 'S256',
  }).toString()}`;
}

describe('signing keys', () => {
  it('a rotated key is in the JWKS before it signs, signs after activation without a restart, and the old tokens still verify', async () => {
    const before = await machineToken();
    // A short publish delay, so the test does not wait the production default. The old key stays
    // published for the longest token lifetime after that, so other test files keep verifying.
    const { kid } = await rotateSigningKey(
      t.app.db,
      masterKeyFromConfig(t.config),
      { publishSeconds: 10, longestTokenTtlSeconds: t.config.ACCESS_TOKEN_TTL_SECONDS },
      { userId: null, ip: null },
    );
    // In the JWKS before it activates (10 s: room for a busy machine), and not yet signing.
    await expect
      .poll(
        async () =>
          json<{ keys: { kid: string }[] }>(await http(`${t.base}/oidc/jwks`)).keys.map((k) => k.kid),
        { timeout: 8_000 },
      )
      .toContain(kid);
    expect(decodeProtectedHeader(await machineToken()).kid).toBe(decodeProtectedHeader(before).kid);

    await expect
      .poll(async () => decodeProtectedHeader(await machineToken()).kid, { timeout: 30_000 })
      .toBe(kid);
    const after = await machineToken();
    for (const token of [before, after]) {
      const res = await t.app.inject({
        method: 'GET',
        url: '/api/auth/key',
        headers: bearer({ accessToken: token }),
      });
      expect(res.statusCode, res.body).toBe(200);
    }
  }, 60_000);
});

describe('cookies', () => {
  it('are httpOnly and SameSite=Lax, and not Secure under an http PUBLIC_URL', async () => {
    const res = await new Browser(t.base).go(authorizeUrl(webClient));
    const cookies = [res.headers['set-cookie'] ?? []].flat();
    expect(cookies.length).toBeGreaterThan(0);
    for (const cookie of cookies) {
      expect(cookie).toMatch(/;\s*httponly/i);
      expect(cookie).toMatch(/;\s*samesite=lax/i);
      expect(cookie).not.toMatch(/;\s*secure/i);
    }
  });

  describe('under an https PUBLIC_URL', () => {
    let secure: TestApp;
    beforeAll(async () => {
      secure = await buildTestApp({ PUBLIC_URL: 'https://vlinders.example' });
    });
    afterAll(async () => {
      await secure?.close();
    });

    it('are Secure (behind a TLS-terminating ingress)', async () => {
      const org = await orgWithOwner(secure, admin, 'secure');
      const client = await createClient(secure, org.owner, org.orgId, {
        name: 'web',
        grantTypes: ['authorization_code'],
        redirectUris: [redirectUri],
        scopes: [],
      });
      const res = await secure.app.inject({
        method: 'GET',
        url: authorizeUrl(client),
        headers: { host: 'vlinders.example', 'x-forwarded-proto': 'https' },
      });
      expect(res.statusCode, res.body).toBe(303);
      const cookies = [res.headers['set-cookie'] ?? []].flat();
      expect(cookies.length).toBeGreaterThan(0);
      for (const cookie of cookies) expect(cookie).toMatch(/;\s*secure/i);
    });
  });
});

describe('login page', () => {
  it('locks an account after LOGIN_MAX_FAILURES failed logins, even with the right password then', async () => {
    const browser = new Browser(t.base);
    const loginUrl = Browser.location(await browser.go(authorizeUrl(webClient)));
    for (let i = 0; i < 2; i++) {
      const failed = await browser.go(`${loginUrl}/login`, {
        email: owner.email,
        password: 'wrong password',
      });
      expect(failed.status).toBe(401);
    }
    const locked = await browser.go(`${loginUrl}/login`, { email: owner.email, password: owner.password });
    expect(locked.status).toBe(429);
    expect(locked.headers['retry-after']).toBeTruthy();
    expect(locked.headers.location).toBeUndefined();
  });

  it('answers an unknown interaction with 404', async () => {
    const res = await http(`${t.base}/oidc/interaction/unknown-uid`);
    expect(res.status).toBe(404);
  });
});
