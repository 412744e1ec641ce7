// A member of an organization with single sign-on signs in to the admin console through the
// organization's identity provider, in Debian's Chromium: the platform's login page, its single
// sign-on form (the org's slug), the company's provider (a real oidc-provider, test/support/
// company-idp.ts), and back to the console as the provisioned member with the mapped role.
import { randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ssoRedirectUri } from '../../../api/identity/sso/issuers.js';
import { launchBrowser } from '../../support/browser.js';
import { startCompanyIdp, type CompanyIdp } from '../../support/company-idp.js';
import { startConsoleStack, type ConsoleStack } from '../../support/console-stack.js';
import { until } from '../../support/until.js';
import { addAccount, companyDomain, roleMapping, ssoAppConfig } from '../../integration/sso/support.js';
import { checkAndKeep, collectCspViolations, keepFailure, password } from './console-pages.js';

let stack: ConsoleStack;
let browser: Browser;
let idp: CompanyIdp;
let page: Page;
let cspViolations: string[] = [];
const run = randomUUID().slice(0, 8);
const orgName = `Company ${run}`;
const slug = `company-${run}`;

async function api<T>(path: string, token: string | null, method = 'GET', body?: unknown): Promise<T> {
  const response = await fetch(`${stack.baseUrl}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  expect(response.ok, `${method} ${path}: ${response.status} ${text}`).toBe(true);
  return (text ? JSON.parse(text) : undefined) as T;
}

beforeAll(async () => {
  [stack, browser] = await Promise.all([startConsoleStack({ config: ssoAppConfig }), launchBrowser()]);
  idp = await startCompanyIdp({ redirectUri: ssoRedirectUri(stack.baseUrl) });

  // The org's owner connects it to the company's provider through the API.
  const owner = `sso-owner-${run}@console.example`;
  await stack.signUpVerified(owner, password);
  const { accessToken } = await api<{ accessToken: string }>('/api/auth/login', null, 'POST', {
    email: owner,
    password,
  });
  const { orgId } = await api<{ orgId: string }>('/api/orgs', accessToken, 'POST', { name: orgName, slug });
  // Onboarding (a workflow) makes the org active before it may be configured.
  await until(
    'the org to finish onboarding',
    async () =>
      (await api<{ status: string }>(`/api/orgs/${orgId}`, accessToken)).status === 'active'
        ? true
        : undefined,
    120_000,
  );
  await api(`/api/orgs/${orgId}/sso`, accessToken, 'PUT', {
    issuer: idp.issuer,
    clientId: idp.clientId,
    clientSecret: idp.clientSecret,
    allowedDomains: [companyDomain],
    roleMapping,
  });

  page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  cspViolations = collectCspViolations(page);
});

afterAll(async () => {
  await browser?.close();
  await idp?.close();
  await stack?.stop();
});

describe('the admin console, signed in through single sign-on', { timeout: 300_000 }, () => {
  afterEach(keepFailure(() => [page]));

  it("signs an employee in through the organization's identity provider", async () => {
    const employee = addAccount(idp, ['vl-finance']);
    // The company's login page is a stand-in: it signs the browser in as this employee.
    idp.signBrowsersInAs(employee.sub);

    await page.goto(stack.consoleUrl);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Sign in to Vlinders' }).waitFor();
    await checkAndKeep(page, 'platform-sign-in');
    await page.getByLabel('Organization').fill(slug);
    await page.getByRole('button', { name: 'Continue' }).click();

    await page.getByRole('heading', { name: 'Organizations', level: 1 }).waitFor({ timeout: 60_000 });
    await page.getByText(employee.email).waitFor();
    const row = page.getByRole('row').filter({ hasText: orgName });
    await row.getByRole('cell', { name: 'billing', exact: true }).waitFor();
  });

  it('answers an unknown organization on the login page, without saying whether it exists', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Organization').fill(`no-such-org-${run}`);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText('No organization with this name signs in through single sign-on.').waitFor();
  });

  it("broke no rule of the console's Content-Security-Policy", () => {
    expect(cspViolations).toEqual([]);
  });
});
