// Broken authentication (OWASP API2) for the platform's own credentials: RS256 access tokens from
// /api/auth/login (iss = PUBLIC_URL, aud = vlinders-api, kid, typ at+jwt), API keys, and refresh
// tokens. Every forged, stale or revoked credential is refused with the documented code and body.
import { randomUUID } from 'node:crypto';
import {
  exportJWK,
  exportSPKI,
  generateKeyPair,
  importJWK,
  SignJWT,
  UnsecuredJWT,
  type CryptoKey,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
} from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { accessTokenAudience } from '../../api/identity/accounts/access-tokens.js';
import { masterKeyFromConfig, unwrap } from '../../runtime/envelope.js';
import { useTestApp } from '../support/app.js';
import {
  addMember,
  auditRows,
  bearer,
  password,
  seedActiveOrg,
  signUp,
  useAdminPool,
  type TestUser,
} from '../integration/api/helpers.js';
import {
  expectRefusal,
  freshAddress,
  invalidRequest,
  invalidToken,
  notFound,
  unauthenticated,
  type Refusal,
} from './support.js';
import {
  describeTokenMatrix,
  everywhere,
  present,
  type MatrixContext,
  type TokenCase,
} from './token-matrix.js';

// No grace period: a rotated key's old secret is refused at once.
const t = useTestApp({ API_KEY_ROTATION_GRACE_SECONDS: '0' });
const admin = useAdminPool();

interface Fixture {
  owner: TestUser;
  orgId: string;
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  publicPem: string;
}
let fx: Fixture;
const context = (): MatrixContext => ({ app: t.app, admin, orgId: fx.orgId });

/** The private half of the key the app signs with, opened as the app opens it. */
async function platformSigningKey(kid: string): Promise<CryptoKey> {
  const { rows } = await admin.query<{ wrapped_private_jwk: string }>(
    'SELECT wrapped_private_jwk FROM signing_keys WHERE kid = $1',
    [kid],
  );
  const jwk = JSON.parse(
    unwrap(masterKeyFromConfig(t.config), rows[0]!.wrapped_private_jwk, kid).toString('utf8'),
  ) as JWK;
  return (await importJWK(jwk, 'RS256')) as CryptoKey;
}

beforeAll(async () => {
  const owner = await signUp(t.app, 'matrix-owner');
  const orgId = await seedActiveOrg(admin, owner, 'Matrix target');
  const kid = t.app.accessTokens.currentKid;
  const jwks = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
  const publicJwk = jwks.json<{ keys: JWK[] }>().keys.find((k) => k.kid === kid)!;
  const publicKey = (await importJWK(publicJwk, 'RS256')) as CryptoKey;
  fx = {
    owner,
    orgId,
    kid,
    privateKey: await platformSigningKey(kid),
    publicJwk,
    publicPem: await exportSPKI(publicKey),
  };
});

const now = () => Math.floor(Date.now() / 1000);

/** The claims of a genuine access token for `sub`; a case overrides what it attacks (undefined drops a claim). */
function claims(sub: string, overrides: JWTPayload = {}): JWTPayload {
  return {
    iss: t.config.PUBLIC_URL,
    aud: accessTokenAudience,
    sub,
    iat: now(),
    exp: now() + 900,
    ...overrides,
  };
}

interface SignOptions {
  claims?: JWTPayload;
  header?: Partial<JWTHeaderParameters>;
  key?: CryptoKey | Uint8Array;
}

/** Signs like the platform (RS256, its kid, typ at+jwt) unless the case says otherwise. */
function sign(options: SignOptions = {}): Promise<string> {
  return new SignJWT(options.claims ?? claims(fx.owner.id))
    .setProtectedHeader({ alg: 'RS256', kid: fx.kid, typ: 'at+jwt', ...options.header })
    .sign(options.key ?? fx.privateKey);
}

async function foreignRsaKey(): Promise<{ privateKey: CryptoKey; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { privateKey, publicJwk: await exportJWK(publicKey) };
}

const segments = (token: string) => token.split('.') as [string, string, string];
const b64json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function createKey(payload: Record<string, unknown> = {}, as: TestUser = fx.owner) {
  const res = await t.app.inject({
    method: 'POST',
    url: `/api/orgs/${fx.orgId}/api-keys`,
    headers: bearer(as),
    payload: { name: 'matrix', scopes: ['inference'], ...payload },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string; key: string; prefix: string }>();
}

async function introspects(key: string): Promise<number> {
  return (await present(context(), 'key', key)).statusCode;
}

/** A member of the fixture org, signed in: the victim of the membership and deletion cases. */
async function member(): Promise<TestUser> {
  const user = await signUp(t.app, 'matrix-member');
  await addMember(admin, fx.orgId, user.id, 'member');
  return user;
}

const accessTokenCases: TokenCase[] = [
  { name: 'no credential', forge: async () => null, expected: everywhere(unauthenticated) },
  {
    name: 'expired (exp a minute ago)',
    forge: () => sign({ claims: claims(fx.owner.id, { iat: now() - 960, exp: now() - 60 }) }),
    expected: everywhere(invalidToken),
  },
  {
    name: 'not yet valid (nbf in 5 minutes)',
    forge: () => sign({ claims: claims(fx.owner.id, { nbf: now() + 300 }) }),
    expected: everywhere(invalidToken),
  },
  {
    name: 'issued in the future (iat in an hour)',
    forge: () => sign({ claims: claims(fx.owner.id, { iat: now() + 3600, exp: now() + 4500 }) }),
    expected: everywhere(invalidToken),
  },
  {
    name: 'wrong audience',
    forge: () => sign({ claims: claims(fx.owner.id, { aud: 'vlinders-admin' }) }),
    expected: everywhere(invalidToken),
  },
  {
    name: 'audience list without ours',
    forge: () => sign({ claims: claims(fx.owner.id, { aud: ['other-api', 'vlinders'] }) }),
    expected: everywhere(invalidToken),
  },
  {
    name: 'wrong issuer',
    forge: () => sign({ claims: claims(fx.owner.id, { iss: 'https://evil.example' }) }),
    expected: everywhere(invalidToken),
  },
  {
    name: 'issuer with a trailing slash added',
    forge: () => sign({ claims: claims(fx.owner.id, { iss: `${t.config.PUBLIC_URL}/` }) }),
    expected: everywhere(invalidToken),
  },
  {
    name: 'no exp',
    forge: () => sign({ claims: claims(fx.owner.id, { exp: undefined }) }),
    expected: everywhere(invalidToken),
  },
  {
    name: 'no sub',
    forge: () => sign({ claims: claims(fx.owner.id, { sub: undefined }) }),
    expected: everywhere(invalidToken),
  },
  {
    name: 'another token type (typ JWT, e.g. an ID token)',
    forge: () => sign({ header: { typ: 'JWT' } }),
    expected: everywhere(invalidToken),
  },
  {
    name: 'alg none (unsigned), with the real kid',
    forge: async () => {
      const unsigned = new UnsecuredJWT(claims(fx.owner.id)).encode();
      const [, payload] = segments(unsigned);
      return `${b64json({ alg: 'none', kid: fx.kid, typ: 'at+jwt' })}.${payload}.`;
    },
    expected: everywhere(invalidToken),
  },
  {
    name: 'HS256 signed with the public key (PEM) as HMAC secret',
    forge: () => sign({ header: { alg: 'HS256' }, key: new TextEncoder().encode(fx.publicPem) }),
    expected: everywhere(invalidToken),
  },
  {
    name: 'HS256 signed with the published JWK (JSON) as HMAC secret',
    forge: () =>
      sign({ header: { alg: 'HS256' }, key: new TextEncoder().encode(JSON.stringify(fx.publicJwk)) }),
    expected: everywhere(invalidToken),
  },
  {
    name: "tampered payload (sub changed to another user's), original signature",
    forge: async () => {
      const victim = await member();
      const [header, , signature] = segments(fx.owner.accessToken);
      return `${header}.${b64json(claims(victim.id))}.${signature}`;
    },
    expected: everywhere(invalidToken),
  },
  {
    name: 'tampered signature (one character changed)',
    forge: async () => {
      const [header, payload, signature] = segments(await sign());
      const flipped = (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11);
      return `${header}.${payload}.${signature.slice(0, 10)}${flipped}`;
    },
    expected: everywhere(invalidToken),
  },
  {
    name: 'signature stripped',
    forge: async () =>
      `${segments(await sign())
        .slice(0, 2)
        .join('.')}.`,
    expected: everywhere(invalidToken),
  },
  {
    name: 'no kid',
    forge: () => sign({ header: { kid: undefined } }),
    expected: everywhere(invalidToken),
  },
  {
    name: 'unknown kid (a foreign RSA key)',
    forge: async () => sign({ header: { kid: randomUUID() }, key: (await foreignRsaKey()).privateKey }),
    expected: everywhere(invalidToken),
  },
  {
    name: 'signed by a foreign RSA key, with our known kid',
    forge: async () => sign({ key: (await foreignRsaKey()).privateKey }),
    expected: everywhere(invalidToken),
  },
  {
    name: "the attacker's own key embedded in the header (jwk), our kid",
    forge: async () => {
      const foreign = await foreignRsaKey();
      return sign({ header: { jwk: foreign.publicJwk }, key: foreign.privateKey });
    },
    expected: everywhere(invalidToken),
  },
  {
    name: 'kid carrying SQL and path injection',
    forge: () => sign({ header: { kid: "' OR '1'='1' --/../../../dev/null" } }),
    expected: everywhere(invalidToken),
  },
  {
    name: 'a refresh token presented as an access token',
    forge: async () => fx.owner.refreshToken,
    expected: everywhere(invalidToken),
  },
  {
    name: "a deleted user's token",
    forge: async () => {
      const gone = await member();
      await admin.query('DELETE FROM users WHERE id = $1', [gone.id]);
      return gone.accessToken;
    },
    expected: { user: invalidToken, org: notFound, key: unauthenticated },
  },
  {
    name: 'a token whose user was removed from the org',
    forge: async () => {
      const removed = await member();
      const res = await t.app.inject({
        method: 'DELETE',
        url: `/api/orgs/${fx.orgId}/members/${removed.id}`,
        headers: bearer(fx.owner),
      });
      expect(res.statusCode, res.body).toBe(204);
      return removed.accessToken;
    },
    expected: { org: notFound },
  },
];

const apiKeyCases: TokenCase[] = [
  {
    name: 'a revoked API key',
    forge: async () => {
      const { id, key } = await createKey();
      const res = await t.app.inject({
        method: 'DELETE',
        url: `/api/orgs/${fx.orgId}/api-keys/${id}`,
        headers: bearer(fx.owner),
      });
      expect(res.statusCode, res.body).toBe(204);
      return key;
    },
    expected: everywhere(invalidToken),
  },
  {
    name: 'an expired API key',
    forge: async () => {
      const { id, key, prefix } = await createKey();
      await admin.query(`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
      await t.app.apiKeyVerifier.invalidate(prefix);
      return key;
    },
    expected: everywhere(invalidToken),
  },
  {
    name: "a rotated API key's old secret (no grace period)",
    forge: async () => {
      const { id, key } = await createKey();
      const res = await t.app.inject({
        method: 'POST',
        url: `/api/orgs/${fx.orgId}/api-keys/${id}/rotate`,
        headers: bearer(fx.owner),
      });
      expect(res.statusCode, res.body).toBe(200);
      return key;
    },
    expected: everywhere(invalidToken),
  },
  {
    name: 'a valid key with another environment segment',
    forge: async () => (await createKey()).key.replace(/^vl_live_/, 'vl_test_'),
    expected: everywhere(invalidToken),
  },
  {
    name: 'a valid prefix with a wrong secret',
    forge: async () => {
      const { key } = await createKey();
      return key.slice(0, -43) + 'A'.repeat(43);
    },
    expected: everywhere(invalidToken),
  },
  {
    name: 'a key whose creator was removed from the org',
    forge: async () => {
      const admin2 = await signUp(t.app, 'matrix-admin');
      await addMember(admin, fx.orgId, admin2.id, 'admin');
      const { key, prefix } = await createKey({}, admin2);
      await admin.query('DELETE FROM memberships WHERE org_id = $1 AND user_id = $2', [fx.orgId, admin2.id]);
      await t.app.apiKeyVerifier.invalidate(prefix);
      return key;
    },
    expected: everywhere(invalidToken),
  },
  {
    name: 'a valid API key on user and org routes',
    forge: async () => (await createKey()).key,
    expected: { user: unauthenticated, org: unauthenticated },
  },
];

describe('the forging helpers (control)', () => {
  it('a token forged with the platform key and genuine claims is accepted, so each refusal below is the attack', async () => {
    const token = await sign();
    expect((await present(context(), 'user', token)).statusCode).toBe(200);
    expect((await present(context(), 'org', token)).statusCode).toBe(200);
    // Within the 30 s clock-skew allowance: a replica whose clock runs a little ahead.
    const early = await sign({ claims: claims(fx.owner.id, { iat: now() + 10, nbf: now() + 10 }) });
    expect((await present(context(), 'user', early)).statusCode).toBe(200);
    const { id, key } = await createKey();
    expect(await introspects(key)).toBe(200);
    // Let the off-path last-used write land now, not while a case below compares the org's rows.
    await expect
      .poll(
        async () =>
          (await admin.query('SELECT 1 FROM api_keys WHERE id = $1 AND last_used_at IS NOT NULL', [id]))
            .rowCount,
      )
      .toBe(1);
  });
});

describeTokenMatrix('access tokens', context, accessTokenCases);
describeTokenMatrix('API keys', context, apiKeyCases);

describe('refresh tokens', () => {
  async function login(user: TestUser) {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      remoteAddress: freshAddress(),
      payload: { email: user.email, password },
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ refreshToken: string; accessToken: string }>();
  }
  const refresh = (refreshToken: string) =>
    t.app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      remoteAddress: freshAddress(),
      payload: { refreshToken },
    });

  it('a reused refresh token is refused and revokes the whole family (the successor too), audited', async () => {
    const user = await signUp(t.app, 'matrix-refresh');
    const first = await login(user);
    const second = await refresh(first.refreshToken);
    expect(second.statusCode).toBe(200);
    const successor = second.json<{ refreshToken: string }>().refreshToken;

    expectRefusal(await refresh(first.refreshToken), invalidToken, first.refreshToken);
    expectRefusal(await refresh(successor), invalidToken, successor);
    const { rows } = await admin.query<{ open: number }>(
      'SELECT count(*)::int AS open FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL AND used_at IS NULL',
      [user.id],
    );
    // Only the sign-up's own family is still open.
    expect(rows[0]?.open).toBe(1);
    expect(await auditRows(admin, { actorId: user.id, action: 'auth.refresh_reuse_detected' })).toHaveLength(
      1,
    );
  });

  const refreshCases: { name: string; forge: () => Promise<string>; expected?: Refusal }[] = [
    { name: 'unknown', forge: async () => randomUUID() + randomUUID() },
    {
      name: 'logged out',
      forge: async () => {
        const { refreshToken } = await login(await signUp(t.app, 'matrix-logout'));
        const res = await t.app.inject({
          method: 'POST',
          url: '/api/auth/logout',
          remoteAddress: freshAddress(),
          payload: { refreshToken },
        });
        expect(res.statusCode).toBe(204);
        return refreshToken;
      },
    },
    {
      name: 'expired',
      forge: async () => {
        const user = await signUp(t.app, 'matrix-expired');
        await admin.query(
          `UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1`,
          [user.id],
        );
        return user.refreshToken;
      },
    },
    {
      name: 'an access token presented as a refresh token (too long for one)',
      forge: async () => fx.owner.accessToken,
      expected: invalidRequest,
    },
    {
      name: "a deleted user's",
      forge: async () => {
        const user = await signUp(t.app, 'matrix-deleted');
        await admin.query('DELETE FROM users WHERE id = $1', [user.id]);
        return user.refreshToken;
      },
    },
  ];

  it.each(refreshCases.map((c) => [c.name, c] as const))(
    '%s: refused, no token issued',
    async (_name, { forge, expected = invalidToken }) => {
      const token = await forge();
      expectRefusal(await refresh(token), expected, token);
    },
  );
});
