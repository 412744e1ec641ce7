// Every documented path asked with a method it does not serve answers 405 with `Allow` listing the
// methods it does serve (HEAD with GET, OPTIONS where CORS preflights are answered), in the shape of
// the system it belongs to; a path that does not exist is still 404.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => {
  await t?.close();
});

// The document is built from the routes once the app is ready; the cases need it at collection
// time, so they are listed from an app built for that alone.
const documented = await (async () => {
  const app = await buildTestApp();
  const doc = app.app.swagger() as { paths: Record<string, Record<string, unknown>> };
  await app.close();
  return Object.entries(doc.paths).map(([path, ops]) => ({
    path,
    methods: Object.keys(ops).map((m) => m.toUpperCase()),
  }));
})();

const probes = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
const sample = '00000000-0000-4000-8000-000000000001';
const oauthClientId = 'vlc_00000000000040008000000000000001_000000000000000000000000';

/** A concrete URL for a documented path: ids that match their parameters' patterns. */
function concrete(path: string): string {
  return path.replace(/\{(\w+)\}/g, (_whole, name: string) => (name === 'clientId' ? oauthClientId : sample));
}

/** Whether another documented operation serves `method` on this path's URL (`/invitations/accept` is also `/invitations/{invitationId}`). */
function servedElsewhere(path: string, method: string): boolean {
  const url = concrete(path);
  return documented.some(
    (other) =>
      other.path !== path &&
      other.methods.includes(method) &&
      new RegExp(`^${other.path.replace(/\{\w+\}/g, '[^/]+')}$`).test(url),
  );
}

const cases = documented.flatMap(({ path, methods }) =>
  probes
    .filter((m) => !methods.includes(m) && !servedElsewhere(path, m))
    .map((method) => ({ path, method, methods })),
);

describe.each(cases)('$method $path', ({ path, method, methods }) => {
  it('answers 405 with the methods it serves in Allow', async () => {
    const res = await t.app.inject({ method, url: concrete(path) });
    expect(res.statusCode, res.body).toBe(405);
    const allow = String(res.headers.allow).split(', ');
    for (const served of methods) expect(allow).toContain(served);
    if (methods.includes('GET')) expect(allow).toContain('HEAD');
    expect(allow).not.toContain(method);
  });
});

describe('outside the document', () => {
  it('answers 405 in the management shape, naming the methods', async () => {
    const res = await t.app.inject({ method: 'DELETE', url: '/api/orgs' });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD, OPTIONS, POST');
    expect(res.json()).toMatchObject({
      error: { code: 'METHOD_NOT_ALLOWED', details: { allow: ['GET', 'HEAD', 'OPTIONS', 'POST'] } },
    });
  });

  it("answers 405 in OpenAI's shape under /v1", async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/chat/completions' });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toContain('POST');
    expect(res.json()).toMatchObject({ error: { code: 'method_not_allowed', type: expect.any(String) } });
  });

  it('answers 405 to a method whose body Fastify cannot parse (QUERY without a content type)', async () => {
    const res = await t.app.inject({ method: 'QUERY' as 'GET', url: '/api/me' });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toContain('GET');
  });

  it.each([
    ['GET', '/api/no-such-thing'],
    ['DELETE', '/api/orgs/x/y/z/nothing'],
    ['POST', '/v1/no-such-thing'],
  ])('still answers 404 to %s %s, a path no route has', async (method, url) => {
    const res = await t.app.inject({ method: method as 'GET', url });
    expect(res.statusCode).toBe(404);
    expect(res.headers.allow).toBeUndefined();
  });
});
