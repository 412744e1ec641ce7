// The browser harness itself (test/support/browser.ts), on pages of a tiny local server: Chromium
// starts, an accessible page passes axe, a page with serious violations fails naming the rules, a
// milder violation is handed back, and a screenshot lands where the run keeps it.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, launchBrowser, saveScreenshot, screenshotDir } from '../support/browser.js';

const page = (title: string, body: string, head = '') =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>${head}</head>` +
  `<body><main><h1>${title}</h1>${body}</main></body></html>`;

const pages: Record<string, string> = {
  '/accessible': page(
    'Usage',
    '<form><label for="from">From</label><input id="from" type="date"><button>Show</button></form>',
  ),
  // An image without alt text and a field without a label: both critical.
  '/inaccessible': page('Members', '<img src="/avatar.png"><form><input type="email"></form>'),
  // Zoom capped at 100 %: a WCAG AA violation of moderate impact only.
  '/moderate': page('Keys', '<p>No keys yet.</p>', '<meta name="viewport" content="maximum-scale=1.0">'),
};

let server: Server;
let origin: string;
let browser: Browser;
let tab: Page;

beforeAll(async () => {
  server = createServer((req, res) => {
    const html = pages[req.url ?? ''];
    if (html) res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchBrowser();
  // A page of a context of its own (not browser.newPage()): axe finishes its run in another page of it.
  tab = await (await browser.newContext()).newPage();
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
});

describe('the browser harness', () => {
  it('passes an accessible page', async () => {
    await tab.goto(`${origin}/accessible`);
    expect(await expectAccessible(tab, 'usage')).toEqual([]);
  });

  it('fails a page with serious violations, naming each rule and element', async () => {
    await tab.goto(`${origin}/inaccessible`);
    const failure = await expectAccessible(tab, 'members').then(
      () => new Error('no failure'),
      (err: unknown) => err as Error,
    );
    expect(failure.message).toMatch(/^members \(http:\/\/127\.0\.0\.1:\d+\/inaccessible\) has 2 serious/);
    expect(failure.message).toContain('- image-alt (critical): Images must have alternative text — img');
    expect(failure.message).toContain('- label (critical): Form elements must have labels — input');
  });

  it('hands back violations of lower impact instead of failing', async () => {
    await tab.goto(`${origin}/moderate`);
    const milder = await expectAccessible(tab, 'keys');
    expect(milder.map((v) => [v.id, v.impact])).toEqual([['meta-viewport', 'moderate']]);
  });

  it('saves a full-page screenshot under .data/console-screenshots', async () => {
    await tab.goto(`${origin}/accessible`);
    const path = await saveScreenshot(tab, 'browser-harness');
    expect(path).toBe(`${screenshotDir}/browser-harness.png`);
    const png = await readFile(path);
    expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
    await expect(saveScreenshot(tab, '../outside')).rejects.toThrow(/not a file name/);
  });
});
