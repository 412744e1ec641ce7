// An operator in the admin console, in Debian's Chromium against the real stack: the model registry
// (add a model, a serving cluster and a version), a rollout started, watched and aborted through its
// workflow, and the tenants, capacity and billing-run views. Each view is checked with axe and kept
// as a screenshot (.data/console-screenshots/).
import { randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../../support/browser.js';
import { startConsoleStack, type ConsoleStack } from '../../support/console-stack.js';
import { startFakeServeDashboard, type FakeServeDashboard } from '../../support/fake-serve-dashboard.js';
import {
  checkAndKeep,
  collectCspViolations,
  keepFailure,
  openView,
  password,
  signInOnPlatformPage,
} from './console-pages.js';

let stack: ConsoleStack;
let browser: Browser;
let page: Page;
let dashboard: FakeServeDashboard;
let cspViolations: string[] = [];
const run = randomUUID().slice(0, 8);
const operator = `operator-${run}@console.example`;
const modelName = `console-model-${run}`;
const cluster = `console-${run}`;

beforeAll(async () => {
  [stack, browser, dashboard] = await Promise.all([
    startConsoleStack(),
    launchBrowser(),
    startFakeServeDashboard(),
  ]);
  await stack.signUpVerified(operator, password);
  await stack.makeOperator(operator);
  page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  cspViolations = collectCspViolations(page);
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await dashboard?.stop();
});

describe('the admin console, as an operator', { timeout: 300_000 }, () => {
  afterEach(keepFailure(() => [page]));
  it('signs in from a deep link and sees the platform views', async () => {
    await page.goto(`${stack.consoleUrl}admin/models`);
    await signInOnPlatformPage(page, operator);
    await page.getByRole('heading', { name: 'Models and rollouts', level: 1 }).waitFor();
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Tenants' }).waitFor();
  });

  it('adds a model, a serving cluster and a version, then starts, watches and aborts its rollout', async () => {
    await page.getByRole('form', { name: 'Add a model' }).getByLabel('Name').fill(modelName);
    await page.getByRole('button', { name: 'Add model' }).click();
    await page.getByRole('link', { name: modelName }).waitFor();

    // A cluster whose Serve keeps every application DEPLOYING (the stand-in dashboard): the rollout
    // holds in its deploy phase until it is aborted.
    const clusterForm = page.getByRole('form', { name: 'Add a serving cluster' });
    await clusterForm.getByLabel('Cluster name').fill(cluster);
    await clusterForm.getByLabel('Serve proxy URL').fill(dashboard.url);
    await clusterForm.getByLabel('Ray dashboard URL').fill(dashboard.url);
    await page.getByRole('button', { name: 'Add cluster' }).click();
    await page.getByText(cluster, { exact: true }).waitFor();
    await checkAndKeep(page, 'models');

    await page.getByRole('link', { name: modelName }).click();
    await page.getByRole('heading', { name: modelName, level: 1 }).waitFor();
    const version = page.getByRole('form', { name: 'Register a version' });
    await version.getByLabel('Version', { exact: true }).fill('v1');
    await version.getByLabel('Upstream model').fill('tiny-chat');
    await version.getByLabel('Serving cluster').fill(cluster);
    await version.getByLabel('Serve application name').fill(`app-${run}`);
    await version.getByLabel('Route prefix').fill(`/m-${run}`);
    await page.getByRole('button', { name: 'Register version' }).click();
    await page.getByRole('button', { name: 'Roll out v1' }).click();

    const phase = page.getByTestId('rollout-phase');
    await expect.poll(() => phase.innerText(), { timeout: 60_000 }).toMatch(/^deploying/);
    await page.getByRole('link', { name: `rollout/${modelName}/v1 in the Temporal UI` }).waitFor();
    await checkAndKeep(page, 'rollout');

    await page.getByRole('button', { name: 'Abort rollout' }).click();
    await expect.poll(() => phase.innerText(), { timeout: 90_000 }).toMatch(/^(aborted|rolled-back)/);
    await page.getByRole('button', { name: 'Abort rollout' }).waitFor({ state: 'detached' });
    await checkAndKeep(page, 'rollout-aborted');
  });

  it('shows the tenants, the GPU capacity loops and the billing runs', async () => {
    await openView(page, 'Tenants');
    await page.getByRole('table').or(page.getByText('No tenants match.')).first().waitFor();
    await checkAndKeep(page, 'tenants');
    await openView(page, 'GPU capacity');
    await page.getByRole('list').or(page.getByText('No capacity loops run.')).first().waitFor();
    await checkAndKeep(page, 'capacity');
    await openView(page, 'Billing runs');
    await page.getByRole('heading', { name: 'Runs', exact: true }).waitFor();
    await page
      .getByRole('status')
      .or(page.getByText('No billing windows in the last 24 hours.'))
      .first()
      .waitFor();
    await checkAndKeep(page, 'billing-runs');
  });

  it("broke no rule of the console's Content-Security-Policy", () => {
    expect(cspViolations).toEqual([]);
  });
});
