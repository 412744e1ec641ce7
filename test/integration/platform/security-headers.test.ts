// Security headers and CORS on what browsers call (identity, control, billing), CORS only for
// configured origins (the codec keeps its own), and none of it on the data plane (/v1).
import { describe, expect, it } from 'vitest';
import { useTestApp } from '../../support/app.js';

const allowed = 'https://console.example.com';
const t = useTestApp({
  CORS_ORIGINS: `${allowed}, https://admin.example.com`,
  TEMPORAL_UI_ORIGIN: 'http://localhost:8233',
});

describe('security headers', () => {
  it("sets helmet's headers on the browser-facing systems' answers and errors", async () => {
    for (const url of [
      '/api/me',
      '/api/orgs',
      '/api/orgs/nope',
      '/.well-known/jwks.json',
      '/api/orgs/x/billing',
    ]) {
      const res = await t.app.inject(url);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      expect(res.headers['content-security-policy']).toMatch(/default-src 'self'/);
      expect(res.headers['x-powered-by']).toBeUndefined();
    }
  });

  it('leaves them off the data plane, which no browser calls', async () => {
    const res = await t.app.inject({ url: '/v1/models', headers: { origin: allowed } });
    expect(res.statusCode).toBe(401);
    expect(res.headers['x-content-type-options']).toBeUndefined();
    expect(res.headers['content-security-policy']).toBeUndefined();
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('still serves the docs page under its own content security policy', async () => {
    const res = await t.app.inject('/docs/');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-security-policy']).toMatch(/script-src/);
  });
});

describe('CORS', () => {
  it('allows a configured origin, with a preflight', async () => {
    const preflight = await t.app.inject({
      method: 'OPTIONS',
      url: '/api/orgs',
      headers: {
        origin: allowed,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(allowed);
    expect(preflight.headers['access-control-allow-headers']).toMatch(/authorization/);
    const get = await t.app.inject({ url: '/api/me', headers: { origin: allowed } });
    expect(get.headers['access-control-allow-origin']).toBe(allowed);
  });

  it('gives any other origin no allow-origin header', async () => {
    for (const origin of ['https://evil.example.com', 'null', 'https://console.example.com.evil.test']) {
      const res = await t.app.inject({ url: '/api/me', headers: { origin } });
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    }
  });

  it('leaves the codec routes to the Temporal UI origin only', async () => {
    const fromUi = await t.app.inject({
      method: 'OPTIONS',
      url: '/codec/decode',
      headers: { origin: 'http://localhost:8233', 'access-control-request-method': 'POST' },
    });
    expect(fromUi.headers['access-control-allow-origin']).toBe('http://localhost:8233');
    const fromConsole = await t.app.inject({
      method: 'OPTIONS',
      url: '/codec/decode',
      headers: { origin: allowed, 'access-control-request-method': 'POST' },
    });
    expect(fromConsole.headers['access-control-allow-origin']).toBeUndefined();
  });
});
