// What the console's end-to-end tests do again and again in the browser: sign in on the platform's
// OIDC page, open a view from the navigation, pick from a react-aria select, check and keep a view.
import { expect, type TestContext } from 'vitest';
import type { Page } from 'playwright-core';
import { expectAccessible, saveScreenshot } from '../../support/browser.js';

export const password = 'correct horse battery staple';

/** The authorization server's login page (api/identity/oidc/interaction-routes.ts). */
export async function signInOnPlatformPage(page: Page, email: string): Promise<void> {
  await page.getByRole('heading', { name: 'Sign in to Vlinders' }).waitFor();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

export async function openView(page: Page, name: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name, exact: true }).click();
  await page.getByRole('heading', { level: 1 }).first().waitFor();
}

/** Picks `option` in the react-aria Select labelled `label` (its button is named "<value> <label>"). */
export async function choose(page: Page, label: string, option: string): Promise<void> {
  await page.getByRole('button', { name: new RegExp(`(^|\\s)${label}$`) }).click();
  await page.getByRole('option', { name: option, exact: true }).click();
}

/** axe finds no serious or critical violation, and the view is saved as a screenshot. */
export async function checkAndKeep(page: Page, view: string): Promise<void> {
  await expectAccessible(page, view);
  const path = await saveScreenshot(page, view);
  expect(path).toContain(view);
}

export async function textOf(page: Page): Promise<string> {
  return page.locator('body').innerText();
}

/** Chromium's console reports every refusal of the console's CSP; the list must stay empty. */
export function collectCspViolations(page: Page): string[] {
  const violations: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && message.text().includes('Content Security Policy'))
      violations.push(message.text());
  });
  return violations;
}

/** An afterEach hook: when a test failed, the pages it left are kept as failed-<test>-<n>.png for a person to see. */
export function keepFailure(pages: () => (Page | undefined)[]) {
  return async ({ task }: TestContext) => {
    if (task.result?.state !== 'fail') return;
    const name = `failed-${task.name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60)}`;
    const open = pages().filter((p): p is Page => p !== undefined);
    await Promise.all(open.map((p, i) => saveScreenshot(p, `${name}-${i + 1}`).catch(() => undefined)));
  };
}
