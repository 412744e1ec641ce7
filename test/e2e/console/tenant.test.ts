// A tenant's whole first day in the admin console, in Debian's Chromium against the real stack: sign
// up and verify, sign in through the platform's OIDC server, create an organization and watch its
// onboarding finish, create an API key and call /v1 with it, see the usage, invite a member who
// accepts, change the plan, request an export, verify the audit chain, sign out. Each main view is
// checked with axe and kept as a screenshot (.data/console-screenshots/). Then another tenant's ids
// in the console's URLs show nothing of that tenant.
import { randomUUID } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../../support/browser.js';
import { startConsoleStack, type ConsoleStack } from '../../support/console-stack.js';
import {
  checkAndKeep,
  choose,
  keepFailure,
  collectCspViolations,
  openView,
  password,
  signInOnPlatformPage,
  textOf,
} from './console-pages.js';

let stack: ConsoleStack;
let browser: Browser;
const contexts: BrowserContext[] = [];
const cspViolations: string[][] = [];
const run = randomUUID().slice(0, 8);
const owner = `owner-${run}@console.example`;
const invitee = `invitee-${run}@console.example`;
const orgName = `Analytical Engines ${run}`;
const otherOrgName = `Difference Engines ${run}`;
let orgId = '';
let otherOrgId = '';

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  cspViolations.push(collectCspViolations(page));
  return page;
}

beforeAll(async () => {
  [stack, browser] = await Promise.all([startConsoleStack(), launchBrowser()]);
});

afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close()));
  await browser?.close();
  await stack?.stop();
});

describe('the admin console, as a tenant', { timeout: 300_000 }, () => {
  let page: Page;
  let inviteePage: Page | undefined;
  afterEach(keepFailure(() => [page, inviteePage]));

  it('signs up, verifies the address and signs in through the platform OIDC server', async () => {
    page = await newPage();
    await page.goto(stack.consoleUrl);
    await page.getByRole('heading', { name: 'Vlinders console', level: 1 }).waitFor();
    await checkAndKeep(page, 'landing');

    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByLabel('Email').fill(owner);
    await page.getByLabel('Your name').fill('Ada');
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    // The API's validation error is shown next to the field.
    await expect.poll(() => textOf(page)).toMatch(/must NOT have fewer than 12 characters/);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('status').filter({ hasText: /link/i }).waitFor();

    await page.goto(await stack.latestMailLink(owner, 'verification'));
    await page.getByText('Your email address is verified.').waitFor();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await signInOnPlatformPage(page, owner);
    await page.getByRole('heading', { name: 'Organizations', level: 1 }).waitFor();
    await page.getByText('You are in no organization yet.').waitFor();
  });

  it('creates an organization and watches its onboarding finish', async () => {
    await page.getByLabel('Name').fill(orgName);
    await page.getByRole('button', { name: 'Create organization' }).click();
    const row = page.getByRole('row').filter({ hasText: orgName });
    await row.waitFor();
    await row.getByText('Active').waitFor({ timeout: 120_000 });
    await checkAndKeep(page, 'organizations');
    await row.getByRole('link', { name: orgName }).click();
    await page.getByRole('heading', { name: orgName, level: 1 }).waitFor();
    orgId = new URL(page.url()).pathname.split('/').pop() ?? '';
    expect(orgId).toMatch(/^[0-9a-f-]{36}$/);
    await checkAndKeep(page, 'organization');
  });

  it('creates an API key, shown once, that calls /v1; the usage appears', async () => {
    await openView(page, 'API keys');
    await page.getByText('No API keys yet.').waitFor();
    await page.getByLabel('Name').fill('first app');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = (await page.getByTestId('shown-once').innerText()).trim();
    expect(key).toMatch(/^vl_/);
    await checkAndKeep(page, 'api-keys');

    const answer = await fetch(`${stack.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: stack.model, messages: [{ role: 'user', content: 'Hello' }] }),
    });
    expect(answer.status).toBe(200);

    await openView(page, 'Usage');
    // The view reads the usage again every 10 s; the ingester rolls the request up within seconds.
    await page.getByRole('cell', { name: stack.model, exact: true }).waitFor({ timeout: 60_000 });
    await checkAndKeep(page, 'usage');
  });

  it('invites a member, who signs in from the mail and joins', async () => {
    await openView(page, 'Members and teams');
    await page.getByRole('form', { name: 'Invite a member' }).getByLabel('Email').fill(invitee);
    await page.getByRole('button', { name: 'Send invitation' }).click();
    await page.getByText(`An invitation was mailed to ${invitee}.`).waitFor();
    await checkAndKeep(page, 'members');

    await stack.signUpVerified(invitee, password);
    inviteePage = await newPage();
    // Opened signed out: the console signs in first and comes back to the invitation.
    await inviteePage.goto(await stack.latestMailLink(invitee, 'invitation'));
    await signInOnPlatformPage(inviteePage, invitee);
    await inviteePage.getByText('You joined as member.').waitFor();

    await page.reload();
    const members = page.getByRole('table').first();
    await members.getByRole('cell', { name: invitee, exact: true }).waitFor();

    // The invitee makes an organization of their own: the other tenant of the cross-tenant check.
    await inviteePage.getByRole('link', { name: 'Open the organization' }).click();
    await openView(inviteePage, 'All organizations');
    await inviteePage.getByLabel('Name').fill(otherOrgName);
    await inviteePage.getByRole('button', { name: 'Create organization' }).click();
    const row = inviteePage.getByRole('row').filter({ hasText: otherOrgName });
    await row.getByText('Active').waitFor({ timeout: 120_000 });
    await row.getByRole('link', { name: otherOrgName }).click();
    await inviteePage.getByRole('heading', { name: otherOrgName, level: 1 }).waitFor();
    otherOrgId = new URL(inviteePage.url()).pathname.split('/').pop() ?? '';
  });

  it('changes the plan', async () => {
    await openView(page, 'Billing');
    await page.getByTestId('billing-plan').waitFor();
    await choose(page, 'Plan', 'Team');
    await page.getByLabel('Seats').fill('2');
    await page.getByRole('button', { name: 'Change plan' }).click();
    await page.getByText('The plan is now team with 2 seats.').waitFor({ timeout: 30_000 });
    await expect.poll(() => page.getByTestId('billing-plan').innerText()).toBe('team');
    await checkAndKeep(page, 'billing');
  });

  it('requests an export of its data and watches it finish', async () => {
    await openView(page, 'Data requests');
    await page.getByRole('button', { name: 'Send request' }).click();
    await page
      .getByTestId('data-request-status')
      .filter({ hasText: 'completed' })
      .waitFor({ timeout: 120_000 });
    await page.getByRole('button', { name: 'Download manifest.json' }).waitFor();
    await checkAndKeep(page, 'data-requests');
  });

  it('verifies the audit chain and shows the other tenant views', async () => {
    await openView(page, 'Audit log');
    await page.getByRole('button', { name: 'Verify the chain' }).click();
    await page.getByText(/The chain holds: \d+ entries checked\./).waitFor();
    await checkAndKeep(page, 'audit-log');
    for (const [view, file] of [
      ['OAuth clients', 'oauth-clients'],
      ['Single sign-on', 'sso'],
    ] as const) {
      await openView(page, view);
      await page
        .getByRole('button')
        .filter({ hasText: /Register client|Save connection/ })
        .waitFor();
      await checkAndKeep(page, file);
    }
  });

  it("shows nothing of another tenant whose ids are put in the console's URLs", async () => {
    const answers: { url: string; status: number }[] = [];
    page.on('response', (response) => {
      if (response.url().includes(`/api/orgs/${otherOrgId}`))
        answers.push({ url: response.url(), status: response.status() });
    });
    for (const view of [
      '',
      '/members',
      '/keys',
      '/usage',
      '/billing',
      '/audit-log',
      '/data-requests',
      '/oauth-clients',
      '/sso',
    ]) {
      await page.goto(`${stack.consoleUrl}orgs/${otherOrgId}${view}`);
      // A missing SSO connection and another org's look the same: both are a 404.
      await page.getByRole('alert').or(page.getByText('No SSO connection yet.')).first().waitFor();
      const text = await textOf(page);
      expect(text).not.toContain(otherOrgName);
    }
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.filter((a) => a.status !== 404)).toEqual([]);
  });

  it('signs out: the session ends and the console asks to sign in again', async () => {
    // Home after a reload: the landing page; signing in again needs no password while the server's
    // session lasts.
    await page.goto(stack.consoleUrl);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Organizations', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Vlinders console', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Sign in to Vlinders' }).waitFor();
  });

  it("broke no rule of the console's Content-Security-Policy on any page", () => {
    expect(cspViolations.flat()).toEqual([]);
  });
});
