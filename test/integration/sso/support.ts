// Shared steps of the SSO tests: an org with a connection to the company's identity provider, and
// a full sign-in through it (the platform's login redirect, the provider's pages, the callback).
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type pg from 'pg';
import { expect } from 'vitest';
import { ssoRedirectUri } from '../../../api/identity/sso/issuers.js';
import type { CompanyAccount, CompanyIdp, LoginChoice } from '../../support/company-idp.js';
import { bearer, seedActiveOrg, signUp, type TestUser } from '../api/helpers.js';

/**
 * What the app needs to talk to a local, plain-HTTP identity provider: http, and loopback on the
 * egress guard's allow-list (as an operator allows an on-premises provider).
 */
export const ssoAppConfig = {
  EGRESS_ALLOW_HTTP: 'true',
  EGRESS_ALLOW_HOSTS: '127.0.0.1',
  SSO_JWKS_COOLDOWN_SECONDS: '0',
};

export const redirectUri = ssoRedirectUri('http://localhost:3000');

export const companyDomain = 'company.test';

export const roleMapping = {
  claim: 'groups',
  values: { 'vl-admins': 'admin', 'vl-finance': 'billing', 'vl-readers': 'viewer' },
  default: 'member',
};

/** Adds an account to the provider: a unique subject and email (at the company's domain by default). */
export function addAccount(
  idp: CompanyIdp,
  groups: string[],
  overrides: Partial<CompanyAccount> = {},
): CompanyAccount {
  const id = randomUUID().slice(0, 8);
  const account: CompanyAccount = {
    sub: `employee-${id}`,
    email: `employee-${id}@${companyDomain}`,
    name: `Employee ${id}`,
    groups,
    ...overrides,
  };
  idp.accounts.set(account.sub, account);
  return account;
}

export interface SsoOrg {
  orgId: string;
  owner: TestUser;
}

export async function orgWithConnection(
  app: FastifyInstance,
  admin: pg.Pool,
  idp: CompanyIdp,
  extra: Record<string, unknown> = {},
): Promise<SsoOrg> {
  const owner = await signUp(app, 'sso-owner');
  const orgId = await seedActiveOrg(admin, owner, 'SSO Org');
  const res = await app.inject({
    method: 'PUT',
    url: `/api/orgs/${orgId}/sso`,
    headers: bearer(owner),
    payload: {
      issuer: idp.issuer,
      clientId: idp.clientId,
      clientSecret: idp.clientSecret,
      allowedDomains: [companyDomain],
      roleMapping,
      ...extra,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return { orgId, owner };
}

export interface StartedLogin {
  /** The provider's authorization URL the platform redirected to. */
  location: string;
  /** The state cookie, as the browser would send it back (`name=value`). */
  cookie: string;
}

export async function startLogin(app: FastifyInstance, orgId: string): Promise<StartedLogin> {
  const res = await app.inject({ method: 'GET', url: `/api/sso/${orgId}/login` });
  expect(res.statusCode, res.body).toBe(302);
  const setCookie = String(res.headers['set-cookie']);
  expect(setCookie).toMatch(/HttpOnly/);
  expect(setCookie).toMatch(/Secure/);
  expect(setCookie).toMatch(/SameSite=Lax/);
  return { location: String(res.headers.location), cookie: setCookie.split(';')[0]! };
}

/** The callback request, as the browser makes it after the provider's redirect. */
export function callback(app: FastifyInstance, back: URL, cookie: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url: `${back.pathname}${back.search}`, headers: { cookie } });
}

/** A full sign-in: login redirect → provider → callback. Answers the callback's response. */
export async function ssoLogin(
  app: FastifyInstance,
  idp: CompanyIdp,
  orgId: string,
  choice: LoginChoice,
): Promise<LightMyRequestResponse> {
  const started = await startLogin(app, orgId);
  const back = await idp.authorize(started.location, choice);
  return callback(app, back, started.cookie);
}

export interface SsoSession {
  user: { id: string; email: string };
  orgId: string;
  role: string;
  accessToken: string;
  refreshToken: string;
}
