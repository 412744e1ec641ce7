// The admin console under /console: a fake build in a temporary CONSOLE_DIR is served as the Vite
// build would be (hashed assets cached for good, index.html for every client-side route, never
// cached), under the console's own strict CSP; no URL reaches a file outside the build; the settings
// the app signs in with; and a missing build answers 503 without stopping the API.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestApp } from '../../support/app.js';

const root = mkdtempSync(join(tmpdir(), 'vlinders-console-'));
const dir = join(root, 'dist');
const secret = 'SECRET-OUTSIDE-THE-BUILD';
const indexHtml =
  '<!doctype html><html><head><script type="module" src="/console/assets/index-a1b2c3.js"></script></head><body><div id="root"></div></body></html>';
const script = 'console.log("console app");';
const style = 'body{margin:0}';
mkdirSync(join(dir, 'assets', 'nested'), { recursive: true });
writeFileSync(join(dir, 'index.html'), indexHtml);
writeFileSync(join(dir, 'assets', 'index-a1b2c3.js'), script);
writeFileSync(join(dir, 'assets', 'index-d4e5f6.css'), style);
writeFileSync(join(dir, 'assets', 'nested', 'deep-000000.js'), script);
// Files outside the assets folder, one beside the build, and a link out of it.
writeFileSync(join(dir, 'secret.txt'), secret);
writeFileSync(join(root, 'secret.txt'), secret);
symlinkSync(join(root, 'secret.txt'), join(dir, 'assets', 'linked-000000.js'));

const t = useTestApp({
  CONSOLE_DIR: dir,
  PUBLIC_URL: 'https://vlinders.example',
  TEMPORAL_UI_ORIGIN: 'https://temporal.vlinders.example',
  TEMPORAL_NAMESPACE: 'vlinders',
  GRAFANA_URL: 'https://grafana.vlinders.example',
});
let port: number;
beforeAll(async () => {
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  port = (t.app.server.address() as AddressInfo).port;
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A GET whose path goes on the wire exactly as written (inject and fetch would resolve its dots). */
function rawGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const consoleCsp =
  "default-src 'none';script-src 'self';style-src 'self';img-src 'self' data:;font-src 'self';connect-src 'self';base-uri 'none';form-action 'self';frame-ancestors 'none'";

function expectConsoleHeaders(headers: Record<string, unknown>) {
  expect(headers['content-security-policy']).toBe(consoleCsp);
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['referrer-policy']).toBe('no-referrer');
  expect(headers['x-frame-options']).toBe('DENY');
}

describe('the app', () => {
  it('redirects /console to /console/, keeping the query', async () => {
    const res = await t.app.inject('/console');
    expect(res.statusCode).toBe(301);
    expect(res.headers.location).toBe('/console/');
    const withQuery = await t.app.inject('/console?from=mail');
    expect(withQuery.headers.location).toBe('/console/?from=mail');
  });

  it('answers index.html, never cached, for the root and every client-side route', async () => {
    for (const url of ['/console/', '/console/orgs/x/keys', '/console/callback?code=abc&state=xyz']) {
      const res = await t.app.inject(url);
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toBe(indexHtml);
      expectConsoleHeaders(res.headers);
    }
  });

  it('serves hashed assets with their type, cached for good', async () => {
    for (const [name, type, body] of [
      ['index-a1b2c3.js', 'text/javascript; charset=utf-8', script],
      ['index-d4e5f6.css', 'text/css; charset=utf-8', style],
    ] as const) {
      const res = await t.app.inject(`/console/assets/${name}`);
      expect(res.statusCode, name).toBe(200);
      expect(res.headers['content-type']).toBe(type);
      expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(res.body).toBe(body);
      expectConsoleHeaders(res.headers);
    }
    const head = await t.app.inject({ method: 'HEAD', url: '/console/assets/index-a1b2c3.js' });
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe('');
  });

  it('answers 404 for an asset the build does not have, not index.html', async () => {
    for (const url of [
      '/console/assets/index-000000.js',
      '/console/assets/',
      '/console/assets/nested/deep-000000.js',
    ]) {
      const res = await t.app.inject(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.json<{ error: { code: string } }>().error.code).toBe('NOT_FOUND');
      expectConsoleHeaders(res.headers);
    }
  });

  it('reaches no file outside the assets it read, whatever the URL', async () => {
    for (const path of [
      '/console/assets/../secret.txt',
      '/console/assets/../../secret.txt',
      '/console/assets/..%2fsecret.txt',
      '/console/assets/..%2f..%2fsecret.txt',
      '/console/assets/%2e%2e/%2e%2e/secret.txt',
      '/console/assets/..%5c..%5csecret.txt',
      '/console/assets/%2Fetc%2Fpasswd',
      '/console/assets//etc/passwd',
      '/console/../secret.txt',
      '/console/secret.txt',
      '/console/..%2fsecret.txt',
      '/console/assets/linked-000000.js',
    ]) {
      const res = await rawGet(path);
      expect(res.body, path).not.toContain(secret);
      expect(res.body, path).not.toContain('root:');
      expect([200, 404], path).toContain(res.status);
      // Outside the assets folder only index.html is ever answered.
      if (res.status === 200) expect(res.body, path).toBe(indexHtml);
    }
  });
});

describe('config.json', () => {
  it('gives the app the settings it signs in with, never cached', async () => {
    const res = await t.app.inject('/console/config.json');
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expectConsoleHeaders(res.headers);
    expect(res.json()).toEqual({
      issuer: 'https://vlinders.example/oidc',
      clientId: 'vlinders-console',
      redirectUri: 'https://vlinders.example/console/callback',
      postLogoutRedirectUri: 'https://vlinders.example/console/',
      scope: 'openid email profile admin',
      temporalUiUrl: 'https://temporal.vlinders.example',
      temporalNamespace: 'vlinders',
      grafanaUrl: 'https://grafana.vlinders.example',
    });
  });
});

describe('headers elsewhere', () => {
  it('leave the rest of the browser-facing API under its own policy', async () => {
    const res = await t.app.inject('/api/me');
    expect(res.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
  });
});

describe('without a build', () => {
  const missing = join(root, 'not-built');
  const bare = useTestApp({ CONSOLE_DIR: missing });

  it('the API runs and /console answers 503 saying how to build it; Grafana is null when unset', async () => {
    expect((await bare.app.inject('/healthz')).statusCode).toBe(200);
    for (const url of ['/console/', '/console/orgs', '/console/assets/index-a1b2c3.js']) {
      const res = await bare.app.inject(url);
      expect(res.statusCode, url).toBe(503);
      const { error } = res.json<{ error: { code: string; message: string } }>();
      expect(error.code).toBe('CONSOLE_NOT_BUILT');
      expect(error.message).toContain('bash scripts/build.sh');
      expectConsoleHeaders(res.headers);
    }
    const settings = await bare.app.inject('/console/config.json');
    expect(settings.statusCode).toBe(200);
    expect(settings.json()).toMatchObject({ grafanaUrl: null, temporalUiUrl: 'http://localhost:8233' });
  });

  it('serves a build made after start from the next request on', async () => {
    mkdirSync(join(missing, 'assets'), { recursive: true });
    writeFileSync(join(missing, 'assets', 'index-a1b2c3.js'), script);
    writeFileSync(join(missing, 'index.html'), indexHtml);
    const res = await bare.app.inject('/console/');
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe(indexHtml);
    expect((await bare.app.inject('/console/assets/index-a1b2c3.js')).body).toBe(script);
  });
});
