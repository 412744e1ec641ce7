// The browser side of the end-to-end tests: Debian's Chromium driven by playwright-core, an
// accessibility check with axe on each view a test visits, and full-page screenshots kept after
// the run (.data/console-screenshots/) for a person to look at.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import type { Result } from 'axe-core';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot } from './services.js';

/** WCAG 2.0 and 2.1, levels A and AA: the rules a view must pass. */
const wcagTags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
/** Violations of these impacts fail a test; milder ones are handed back for the test to log. */
const failingImpacts = new Set(['serious', 'critical']);

export const screenshotDir = join(repoRoot, '.data/console-screenshots');

/** Headless Chromium: Debian's package (CHROMIUM names another binary), not a browser playwright downloads. */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(executablePath))
    throw new Error(
      `Chromium not found at ${executablePath}: run \`bash scripts/install-tools.sh chromium\` (or set CHROMIUM)`,
    );
  // The tests run as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
}

function describeViolation(violation: Result): string {
  const targets = violation.nodes
    .slice(0, 3)
    .map((node) => node.target.join(' '))
    .join(', ');
  const more = violation.nodes.length > 3 ? ` and ${violation.nodes.length - 3} more` : '';
  return `- ${violation.id} (${violation.impact}): ${violation.help} — ${targets}${more}`;
}

/**
 * Checks the page as it is now against WCAG 2.1 A and AA with axe. Throws, listing each rule with
 * its impact, help text and first elements, when any violation is serious or critical; answers the
 * milder violations. The page must come from `browser.newContext()`, not `browser.newPage()`: axe
 * finishes its run in a blank page it opens in the same context.
 */
export async function expectAccessible(page: Page, viewName: string): Promise<Result[]> {
  const { violations } = await new AxeBuilder({ page }).withTags(wcagTags).analyze();
  const failing = violations.filter((v) => failingImpacts.has(v.impact ?? ''));
  if (failing.length > 0)
    throw new Error(
      `${viewName} (${page.url()}) has ${failing.length} serious or critical accessibility violations:\n` +
        failing.map(describeViolation).join('\n'),
    );
  return violations.filter((v) => !failingImpacts.has(v.impact ?? ''));
}

/** A full-page PNG at .data/console-screenshots/<name>.png (replacing the last run's); answers its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  if (!/^[\w.-]+$/.test(name)) throw new Error(`screenshot name ${JSON.stringify(name)} is not a file name`);
  await mkdir(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
