// Server-side request forgery through the URLs an org admin sets (OWASP API7): an SSO issuer, and
// the endpoints and JWKS its discovery document names. Every request goes through the egress guard
// (runtime/egress.ts). Public addresses cannot be reached from here, so the test plays DNS: the
// guard's resolver is the test's own, `idp.public.test` stands for a public identity provider at
// 127.0.0.2, and the operator's allow-list (EGRESS_ALLOW_HOSTS) holds exactly that address. The
// platform's "internal network" is 127.0.0.1 and ::1 on the same port: a server there counts every
// request that reaches it, and must count none.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LightMyRequestResponse } from 'fastify';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';
import {
  auditRows,
  bearer,
  seedActiveOrg,
  signUp,
  useAdminPool,
  type TestUser,
} from '../integration/api/helpers.js';
import { expectRefusal, invalidToken } from './support.js';

const maxBytes = 65_536;
const timeoutMs = 1_500;
const admin = useAdminPool();

/** A server that answers OpenID discovery for whatever host and path prefix it is asked under. */
class Stand {
  readonly hits: string[] = [];
  bytesWritten = 0;
  closedEarly = 0;
  server: Server;
  constructor(readonly name: string) {
    this.server = createServer((req, res) => this.handle(req, res));
  }

  async listen(host: string, port: number): Promise<number> {
    this.server.listen(port, host);
    await once(this.server, 'listening');
    return (this.server.address() as AddressInfo).port;
  }

  private handle(req: IncomingMessage, res: ServerResponse) {
    this.hits.push(`${req.method} ${req.headers.host}${req.url}`);
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    const prefix = url.pathname.replace(/\/(\.well-known\/openid-configuration|jwks)$/, '');
    const issuer = `http://${req.headers.host}${prefix}`;
    res.on('close', () => {
      if (!res.writableFinished) this.closedEarly++;
    });
    if (prefix === '/redirect') {
      res.writeHead(302, { location: `http://127.0.0.1:${port}/redirect/.well-known/openid-configuration` });
      res.end();
    } else if (prefix === '/huge') {
      // An endless discovery document: a JSON string that never closes.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"issuer":"');
      const chunk = 'x'.repeat(16_384);
      const pump = () => {
        while (!res.destroyed && this.bytesWritten < 64 * 1_048_576) {
          this.bytesWritten += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end('"}');
      };
      pump();
    } else if (prefix === '/slow') {
      // Headers at once, then a byte now and then: never idle long enough for a per-read timeout.
      res.writeHead(200, { 'content-type': 'application/json' });
      const timer = setInterval(() => res.write(' '), 200);
      res.on('close', () => clearInterval(timer));
    } else if (url.pathname.endsWith('/jwks')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: jwks }));
    } else if (url.pathname.endsWith('/.well-known/openid-configuration')) {
      const jwksUri = prefix === '/internal-jwks' ? `http://127.0.0.1:${port}/jwks` : `${issuer}/jwks`;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          issuer,
          authorization_endpoint: `${issuer}/auth`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: jwksUri,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
        }),
      );
    } else {
      res.writeHead(404).end();
    }
  }
}

// The identity provider's stand-in ("public", 127.0.0.2) and the internal network (127.0.0.1, ::1).
const publicIdp = new Stand('public');
const internal = new Stand('internal v4');
const internal6 = new Stand('internal v6');
let port = 0;
let jwks: object[] = [];
const { privateKey, publicKey } = await generateKeyPair('RS256');

/** What the test's DNS answers, per name: successive answers (the last one repeats). */
const dns = new Map<string, string[][]>();
const asked: string[] = [];
async function lookup(hostname: string) {
  asked.push(hostname);
  const answers = dns.get(hostname);
  if (!answers) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  const answer = answers.length > 1 ? answers.shift()! : answers[0]!;
  return answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
}

let t: TestApp;
let owner: TestUser;
let orgId: string;

beforeAll(async () => {
  port = await publicIdp.listen('127.0.0.2', 0);
  await internal.listen('127.0.0.1', port);
  await internal6.listen('::1', port);
  jwks = [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }];
  dns.set('idp.public.test', [['127.0.0.2']]);
  dns.set('localhost', [['127.0.0.1', '::1']]);
  dns.set('internal.attacker.test', [['127.0.0.1']]);
  dns.set('v6.attacker.test', [['::1']]);
  dns.set('mapped.attacker.test', [['::ffff:127.0.0.1']]);
  dns.set('metadata.attacker.test', [['169.254.169.254']]);
  dns.set('private.attacker.test', [['10.0.0.1']]);
  dns.set('idp.mixed.test', [['127.0.0.2', '127.0.0.1']]);
  t = await buildTestApp(
    {
      EGRESS_ALLOW_HTTP: 'true',
      EGRESS_ALLOW_HOSTS: '127.0.0.2',
      EGRESS_MAX_BYTES: String(maxBytes),
      EGRESS_TIMEOUT_MS: String(timeoutMs),
      SSO_JWKS_COOLDOWN_SECONDS: '0',
    },
    { egressLookup: lookup },
  );
  owner = await signUp(t.app, 'egress-owner');
  orgId = await seedActiveOrg(admin, owner, 'Egress attack');
});

afterAll(async () => {
  await t?.close();
  for (const stand of [publicIdp, internal, internal6]) {
    stand.server.closeAllConnections();
    stand.server.close();
  }
});

// Each test counts only what reached the inside during that test, and starts without a connection
// (so one defect fails its own test, not every later one).
beforeEach(async () => {
  internal.hits.length = 0;
  internal6.hits.length = 0;
  if (orgId) await admin.query('DELETE FROM sso_connections WHERE org_id = $1', [orgId]);
});

/** The connections' API audience: without one, a token would be refused before any JWKS fetch. */
const apiAudience = 'https://api.company.test';

function putIssuer(issuer: string, org = orgId, user = owner) {
  return t.app.inject({
    method: 'PUT',
    url: `/api/orgs/${org}/sso`,
    headers: bearer(user),
    payload: {
      issuer,
      clientId: 'platform',
      clientSecret: 'client-secret',
      allowedDomains: ['company.test'],
      roleMapping: { claim: 'groups', values: {}, default: 'member' },
      audience: apiAudience,
    },
  });
}

/** A token signed as `issuer` is refused by /api/me (its JWKS fetch goes nowhere inside). */
async function expectTokenRefused(issuer: string): Promise<void> {
  const token = await new SignJWT({ sub: 'someone', aud: apiAudience })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(issuer)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(privateKey);
  const me = await t.app.inject({
    method: 'GET',
    url: '/api/me',
    headers: { authorization: `Bearer ${token}` },
  });
  expectRefusal(me, invalidToken, token);
}

async function storedConnections(org: string): Promise<number> {
  const { rows } = await admin.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM sso_connections WHERE org_id = $1',
    [org],
  );
  return rows[0]?.n ?? 0;
}

const internalHits = () => [...internal.hits, ...internal6.hits];

/** The documented 400 body; it names no address (the answer must not map the network behind the API). */
function expectIssuerRefusal(res: LightMyRequestResponse, issuer: string) {
  expect(res.statusCode, `${issuer}: ${res.body.slice(0, 300)}`).toBe(400);
  const body = res.json<{ error: Record<string, unknown> }>();
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.code).toBe('VALIDATION');
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'requestId']);
  expect(res.body).not.toMatch(/127\.0\.0\.|::1|10\.0\.0\.1|169\.254|ENOTFOUND/);
}

/** A 400 naming the egress policy, nothing stored, nothing audited, nothing reached inside. */
async function expectRefusedIssuer(issuer: string) {
  const audited = (await auditRows(admin, { orgId })).length;
  const res = await putIssuer(issuer);
  expectIssuerRefusal(res, issuer);
  expect(res.json<{ error: { message: string } }>().error.message, issuer).toMatch(/issuer URL is refused/);
  expect(await storedConnections(orgId)).toBe(0);
  expect((await auditRows(admin, { orgId })).length).toBe(audited);
  expect(internalHits(), issuer).toEqual([]);
}

describe('an SSO issuer at an internal address, in every spelling', () => {
  it.each([
    'http://127.0.0.1:{port}',
    'http://2130706433:{port}',
    'http://0x7f000001:{port}',
    'http://0x7f.1:{port}',
    'http://017700000001:{port}',
    'http://0177.0.0.1:{port}',
    'http://127.1:{port}',
    'http://127.0.0.1.:{port}',
    'http://0.0.0.0:{port}',
    'http://0:{port}',
    'http://[::1]:{port}',
    'http://[0:0:0:0:0:0:0:1]:{port}',
    'http://[::ffff:127.0.0.1]:{port}',
    'http://[::ffff:7f00:1]:{port}',
    'http://[64:ff9b::7f00:1]:{port}',
    'http://[64:ff9b::a9fe:a9fe]/',
    'http://169.254.169.254/latest/meta-data',
    'http://169.254.43518/',
    'http://[::ffff:169.254.169.254]/',
    'http://[fd00:ec2::254]/',
    'http://[fe80::1]:{port}',
    'http://[fc00::1]/',
    'http://10.0.0.1/',
    'http://172.16.0.1/',
    'http://192.168.1.1/',
    'http://100.100.100.200/',
    'http://255.255.255.255/',
    'http://localhost:{port}',
    'http://LOCALHOST.:{port}',
    'http://internal.attacker.test:{port}',
    'http://internal.attacker.test.:{port}',
    'http://v6.attacker.test:{port}',
    'http://mapped.attacker.test:{port}',
    'http://metadata.attacker.test/',
    'http://private.attacker.test/',
    // One public answer and one private: refused outright, not raced.
    'http://idp.mixed.test:{port}/good',
    // Names that do not resolve answer the same as private ones (no map of the internal DNS).
    'http://unknown.attacker.test/',
    // Credentials in the URL, even to the allowed provider.
    'http://user:secret@idp.public.test:{port}/good',
  ])('%s is refused with 400 before any connection', async (form) => {
    await expectRefusedIssuer(form.replace('{port}', String(port)));
  });

  it('still reaches the allowed provider (the refusals above are the policy, not a broken set-up)', async () => {
    const other = await signUp(t.app, 'egress-control');
    const otherOrg = await seedActiveOrg(admin, other, 'Egress control');
    const res = await putIssuer(`http://idp.public.test:${port}/good`, otherOrg, other);
    expect(res.statusCode, res.body).toBe(201);
    expect(await storedConnections(otherOrg)).toBe(1);
    expect(publicIdp.hits).toContain(`GET idp.public.test:${port}/good/.well-known/openid-configuration`);
    expect(internalHits()).toEqual([]);
  });
});

describe('where an allowed provider leads', () => {
  it('a redirect from the allowed provider to 127.0.0.1 is refused, and 127.0.0.1 is never asked', async () => {
    const before = publicIdp.hits.length;
    await expectRefusedIssuer(`http://idp.public.test:${port}/redirect`);
    expect(publicIdp.hits.slice(before)).toEqual([
      `GET idp.public.test:${port}/redirect/.well-known/openid-configuration`,
    ]);
  });

  it('DNS rebinding: the connection goes to the address that was checked, never to a second answer', async () => {
    // First answer public (allowed), every later one internal.
    dns.set('idp.rebind.test', [['127.0.0.2'], ['127.0.0.1']]);
    const other = await signUp(t.app, 'egress-rebind');
    const otherOrg = await seedActiveOrg(admin, other, 'Egress rebind');
    const before = asked.filter((h) => h === 'idp.rebind.test').length;
    const res = await putIssuer(`http://idp.rebind.test:${port}/good`, otherOrg, other);
    expect(res.statusCode, res.body).toBe(201);
    // Resolved once, connected to that answer: the public stand-in served it, the inside saw nothing.
    expect(asked.filter((h) => h === 'idp.rebind.test').length - before).toBe(1);
    expect(publicIdp.hits).toContain(`GET idp.rebind.test:${port}/good/.well-known/openid-configuration`);
    expect(internalHits()).toEqual([]);

    // Now the name points inside: a token from this issuer needs its JWKS, which is refused.
    await expectTokenRefused(`http://idp.rebind.test:${port}/good`);
    expect(internalHits()).toEqual([]);
  });

  it("a discovery document whose jwks_uri points inside: a token's key fetch is refused (401), never sent", async () => {
    const other = await signUp(t.app, 'egress-jwks');
    const otherOrg = await seedActiveOrg(admin, other, 'Egress JWKS');
    const issuer = `http://idp.public.test:${port}/internal-jwks`;
    const res = await putIssuer(issuer, otherOrg, other);
    expect(res.statusCode, res.body).toBe(201);
    await expectTokenRefused(issuer);
    expect(internalHits()).toEqual([]);
  });
});

describe('size and time', () => {
  it(`an endless answer is cut off after ${maxBytes} bytes`, async () => {
    const started = Date.now();
    await expectRefusedIssuer(`http://idp.public.test:${port}/huge`);
    // What the server managed to write before the guard hung up: the cap plus socket buffers.
    await expect.poll(() => publicIdp.closedEarly).toBeGreaterThanOrEqual(1);
    expect(publicIdp.bytesWritten).toBeLessThan(8 * 1_048_576);
    expect(Date.now() - started).toBeLessThan(timeoutMs * 3);
  });

  it(`a slow answer is cut off after ${timeoutMs} ms in all, however often it trickles`, async () => {
    const closed = publicIdp.closedEarly;
    const started = Date.now();
    const res = await putIssuer(`http://idp.public.test:${port}/slow`);
    const elapsed = Date.now() - started;
    expectIssuerRefusal(res, 'slow');
    expect(await storedConnections(orgId)).toBe(0);
    // openid-client's own limit is 10 s: only the guard's deadline answers this soon.
    expect(elapsed).toBeGreaterThanOrEqual(timeoutMs - 100);
    expect(elapsed).toBeLessThan(timeoutMs + 3_000);
    await expect.poll(() => publicIdp.closedEarly).toBeGreaterThan(closed);
  });
});
