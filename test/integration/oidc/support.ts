// Drives the authorization server over real HTTP, as a browser and a client would: the app listens
// on a port (its PUBLIC_URL names that port, so the issuer is right), a small browser keeps cookies
// by hand and follows nothing on its own, and clients call the token endpoints with undici.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect } from 'vitest';
import { request } from 'undici';
import { buildTestApp, type TestApp } from '../../support/app.js';
import { bearer, seedActiveOrg, signUp, type TestUser } from '../api/helpers.js';
import type pg from 'pg';

export interface ListeningApp extends TestApp {
  base: string;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The app for one test file, listening on a loopback port that its PUBLIC_URL names. */
export function useListeningApp(overrides: Record<string, string> = {}): ListeningApp {
  const t = {} as ListeningApp;
  beforeAll(async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    Object.assign(t, await buildTestApp({ PUBLIC_URL: base, ...overrides }), { base });
    await t.app.listen({ host: '127.0.0.1', port });
  });
  afterAll(async () => {
    await t.close?.();
  });
  return t;
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export async function http(
  url: string,
  options: { method?: 'GET' | 'POST'; headers?: Record<string, string>; form?: Record<string, string> } = {},
): Promise<HttpAnswer> {
  const res = await request(url, {
    method: options.method ?? (options.form ? 'POST' : 'GET'),
    headers: {
      ...(options.form && { 'content-type': 'application/x-www-form-urlencoded' }),
      ...options.headers,
    },
    ...(options.form && { body: new URLSearchParams(options.form).toString() }),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

export function json<T>(answer: HttpAnswer): T {
  return JSON.parse(answer.text) as T;
}

/** A browser: a cookie jar kept by hand (name → value; paths ignored) and one request at a time. */
export class Browser {
  readonly cookies = new Map<string, string>();

  constructor(private readonly base: string) {}

  async go(pathOrUrl: string, form?: Record<string, string>): Promise<HttpAnswer> {
    const url = new URL(pathOrUrl, this.base).href;
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const answer = await http(url, { ...(form && { form }), headers: cookie ? { cookie } : {} });
    const setCookies = answer.headers['set-cookie'];
    for (const line of typeof setCookies === 'string' ? [setCookies] : (setCookies ?? [])) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      if (!value || expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return answer;
  }

  /** Where a redirect answer points. */
  static location(answer: HttpAnswer): string {
    expect([302, 303], answer.text).toContain(answer.status);
    const location = answer.headers.location;
    if (typeof location !== 'string') throw new Error('redirect without location');
    return location;
  }
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export interface RegisteredClient {
  id: string;
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  grantTypes: string[];
  scopes: string[];
}

export const redirectUri = 'http://127.0.0.1:9/callback';

export async function createClient(
  t: TestApp,
  owner: TestUser,
  orgId: string,
  body: Record<string, unknown>,
): Promise<RegisteredClient> {
  const res = await t.app.inject({
    method: 'POST',
    url: `/api/orgs/${orgId}/oauth-clients`,
    headers: bearer(owner),
    payload: body,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<RegisteredClient>();
}

export function basicAuth(client: { clientId: string; clientSecret: string }): Record<string, string> {
  const encoded = Buffer.from(
    `${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`,
  ).toString('base64');
  return { authorization: `Basic ${encoded}` };
}

export interface TokenAnswer {
  access_token?: string;
  refresh_token?: string;
  id_token?: string;
  scope?: string;
  token_type?: string;
  expires_in?: number;
  error?: string;
  error_description?: string;
}

/** A call to one of the provider's client-authenticated endpoints (token, revocation, introspection). */
export async function clientCall(
  base: string,
  endpoint: 'token' | 'token/revocation' | 'token/introspection',
  client: { clientId: string; clientSecret: string },
  form: Record<string, string>,
): Promise<HttpAnswer> {
  return http(`${base}/oidc/${endpoint}`, { form, headers: basicAuth(client) });
}

/** A machine client's access token from the client-credentials grant, through the app (inject). */
export async function machineAccessToken(
  t: TestApp,
  client: RegisteredClient,
  scope = 'inference',
): Promise<string> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/oidc/token',
    headers: { ...basicAuth(client), 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ grant_type: 'client_credentials', scope }).toString(),
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ access_token: string }>().access_token;
}

/** Exchanges an authorization code at the token endpoint (200 expected). */
export async function exchangeCode(
  base: string,
  client: RegisteredClient,
  code: string,
  verifier: string,
): Promise<TokenAnswer> {
  const res = await clientCall(base, 'token', client, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirectUri,
    code_verifier: verifier,
  });
  expect(res.status, res.text).toBe(200);
  return json<TokenAnswer>(res);
}

/** A client's introspection answer about a token (200 expected). */
export async function introspect(
  base: string,
  client: RegisteredClient,
  token: string,
): Promise<{ active: boolean; [claim: string]: unknown }> {
  const res = await clientCall(base, 'token/introspection', client, { token });
  expect(res.status, res.text).toBe(200);
  return json(res);
}

/** An org with its owner (signed up through the API) and the org seeded active. */
export async function orgWithOwner(
  t: TestApp,
  admin: pg.Pool,
  label: string,
): Promise<{ owner: TestUser; orgId: string }> {
  const owner = await signUp(t.app, label);
  const orgId = await seedActiveOrg(admin, owner, `${label} org`);
  return { owner, orgId };
}

export interface CodeFlowResult {
  code: string;
  state: string;
  verifier: string;
  callback: URL;
}

/**
 * A user signs in and consents through the server's pages; answers the code the client receives.
 * `challenge` overrides the PKCE parameters (to test refusals, see `authorize`).
 */
export async function signInAndConsent(
  base: string,
  client: RegisteredClient,
  user: { email: string; password: string },
  scope = 'openid email profile offline_access inference admin',
): Promise<CodeFlowResult> {
  const browser = new Browser(base);
  const { verifier, challenge } = pkcePair();
  const state = randomBytes(8).toString('hex');
  const start = await browser.go(
    `/oidc/auth?${new URLSearchParams({
      client_id: client.clientId,
      response_type: 'code',
      redirect_uri: client.redirectUris[0] ?? redirectUri,
      scope,
      state,
      prompt: 'consent',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }).toString()}`,
  );
  const loginUrl = Browser.location(start);
  expect(loginUrl).toMatch(/^\/oidc\/interaction\/[\w-]+$/);
  const loginPage = await browser.go(loginUrl);
  expect(loginPage.status).toBe(200);
  expect(loginPage.text).toContain('name="password"');

  const afterLogin = await browser.go(`${loginUrl}/login`, { email: user.email, password: user.password });
  const consentUrl = Browser.location(await browser.go(Browser.location(afterLogin)));
  const consentPage = await browser.go(consentUrl);
  expect(consentPage.status).toBe(200);
  expect(consentPage.text).toContain('Allow access?');

  const afterConsent = await browser.go(`${consentUrl}/confirm`, {});
  const callback = new URL(Browser.location(await browser.go(Browser.location(afterConsent))));
  const code = callback.searchParams.get('code');
  expect(code, callback.href).toBeTruthy();
  expect(callback.searchParams.get('state')).toBe(state);
  return { code: code ?? '', state, verifier, callback };
}
