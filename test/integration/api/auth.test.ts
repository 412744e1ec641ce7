import { decodeProtectedHeader, decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { buildTestApp, useTestApp } from '../../support/app.js';
import {
  useAdminPool,
  auditRows,
  bearer,
  errorCode,
  linkToken,
  mailedLink,
  password,
  signUp,
  uniqueEmail,
} from './helpers.js';

const t = useTestApp();
const admin = useAdminPool();

describe('sign-up', () => {
  it('creates the account unverified, answers 202 without a session, mails a verification link, stores an argon2id hash and audits', async () => {
    const email = uniqueEmail('Signup').toUpperCase();
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/signup',
      payload: { email, password, displayName: 'Ada' },
    });
    expect(res.statusCode).toBe(202);
    expect(Object.keys(res.json<object>())).toEqual(['message']);

    const { rows } = await admin.query<{
      id: string;
      password_hash: string;
      display_name: string;
      email_verified_at: Date | null;
    }>('SELECT id, password_hash, display_name, email_verified_at FROM users WHERE email = $1', [
      email.toLowerCase(),
    ]);
    expect(rows[0]).toMatchObject({ display_name: 'Ada', email_verified_at: null });
    expect(rows[0]?.password_hash).toMatch(/^\$argon2id\$/);
    const userId = rows[0]!.id;
    const audit = await auditRows(admin, { actorId: userId, action: 'auth.signup' });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ org_id: null, target_type: 'user', target_id: userId, ip: '127.0.0.1' });

    const link = await mailedLink(t.app, email.toLowerCase(), 'verify_email');
    expect(link.startsWith(`${t.config.PUBLIC_URL}/console/verify-email?token=`)).toBe(true);
    const { rows: hashes } = await admin.query<{ token_hash: string }>(
      `SELECT token_hash FROM email_tokens WHERE user_id = $1 AND purpose = 'verify_email'`,
      [userId],
    );
    expect(hashes).toHaveLength(1);
    expect(hashes[0]?.token_hash).not.toContain(linkToken(link));

    const before = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email, password },
    });
    expect(before.statusCode).toBe(403);
    expect(errorCode(before)).toBe('EMAIL_NOT_VERIFIED');
    const verified = await t.app.inject({
      method: 'POST',
      url: '/api/auth/verify-email',
      payload: { token: linkToken(link) },
    });
    expect(verified.statusCode).toBe(204);
    const after = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email, password },
    });
    expect(after.statusCode).toBe(200);
    expect(after.json<{ user: { id: string } }>().user.id).toBe(userId);
  });

  it('answers an existing email, whatever its case, as a new one and mails its owner a reset link instead', async () => {
    const user = await signUp(t.app);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/signup',
      payload: { email: user.email.toUpperCase(), password: 'another password 2' },
    });
    expect(res.statusCode).toBe(202);
    const link = await mailedLink(t.app, user.email, 'sign_up_existing');
    expect(link.startsWith(`${t.config.PUBLIC_URL}/console/reset-password?token=`)).toBe(true);
    const { rowCount } = await admin.query('SELECT 1 FROM users WHERE lower(email) = $1', [user.email]);
    expect(rowCount).toBe(1);
    // The sign-up's password did not replace the owner's.
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: user.email, password },
    });
    expect(login.statusCode).toBe(200);
  });

  it.each([
    ['email missing', { password }],
    ['password missing', { email: uniqueEmail() }],
    ['email not an email', { email: 'not-an-email', password }],
    ['email of wrong type', { email: 42, password }],
    ['password too short', { email: uniqueEmail(), password: 'short-11chr' }],
    ['password too long', { email: uniqueEmail(), password: 'x'.repeat(257) }],
    ['password of wrong type', { email: uniqueEmail(), password: 123456789012 }],
    ['displayName of wrong type', { email: uniqueEmail(), password, displayName: 7 }],
    ['an unknown field (mass assignment)', { email: uniqueEmail(), password, platformRole: 'operator' }],
  ])('answers 400 VALIDATION and creates nothing: %s', async (_name, payload) => {
    const res = await t.app.inject({ method: 'POST', url: '/api/auth/signup', payload });
    expect(res.statusCode).toBe(400);
    expect(errorCode(res)).toBe('VALIDATION');
    const email = (payload as { email?: unknown }).email;
    if (typeof email === 'string') {
      const { rowCount } = await admin.query('SELECT 1 FROM users WHERE lower(email) = lower($1)', [email]);
      expect(rowCount).toBe(0);
    }
  });

  it('accepts passwords of exactly 12 and 256 characters', async () => {
    for (const pw of ['x'.repeat(12), 'y'.repeat(256)]) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/auth/signup',
        payload: { email: uniqueEmail(), password: pw },
      });
      expect(res.statusCode).toBe(202);
    }
  });
});

describe('login', () => {
  it('answers a token pair for the right password and records the login', async () => {
    const user = await signUp(t.app);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: user.email.toUpperCase(), password },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json<{ user: { id: string } }>().user.id).toBe(user.id);
    // The sign-up helper's login, then this one.
    expect(await auditRows(admin, { actorId: user.id, action: 'auth.login' })).toHaveLength(2);
  });

  it('answers the same error for a wrong password and an unknown email, and records both failures', async () => {
    const user = await signUp(t.app);
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: user.email, password: 'wrong password!' },
    });
    const unknownEmail = uniqueEmail('nobody');
    const unknown = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: unknownEmail, password },
    });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    const strip = (b: { error: { requestId?: string } }) => ({ ...b.error, requestId: undefined });
    expect(strip(wrong.json())).toEqual(strip(unknown.json()));
    expect(errorCode(wrong)).toBe('INVALID_CREDENTIALS');
    expect(await auditRows(admin, { actorId: user.id, action: 'auth.login_failed' })).toHaveLength(1);
  });

  it.each([
    ['email missing', { password }],
    ['password missing', { email: 'a@example.test' }],
    ['email of wrong type', { email: ['a@example.test'], password }],
    ['password of wrong type', { email: 'a@example.test', password: true }],
    ['an unknown field', { email: 'a@example.test', password, remember: true }],
  ])('answers 400 VALIDATION: %s', async (_name, payload) => {
    const res = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload });
    expect(res.statusCode).toBe(400);
    expect(errorCode(res)).toBe('VALIDATION');
  });
});

describe('access tokens and JWKS', () => {
  it('signs RS256 tokens with a kid that the JWKS publishes, for the configured issuer and audience', async () => {
    const user = await signUp(t.app);
    const header = decodeProtectedHeader(user.accessToken);
    const claims = decodeJwt(user.accessToken);
    expect(header.alg).toBe('RS256');
    expect(claims).toMatchObject({ iss: t.config.PUBLIC_URL, aud: 'vlinders-api', sub: user.id });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(t.config.ACCESS_TOKEN_TTL_SECONDS);
    const jwks = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    expect(jwks.statusCode).toBe(200);
    const keys = jwks.json<{ keys: { kid: string; kty: string; d?: string }[] }>().keys;
    expect(keys.map((k) => k.kid)).toContain(header.kid);
    expect(keys.every((k) => k.kty === 'RSA' && k.d === undefined)).toBe(true);
  });

  it('stores the private key wrapped, never in clear', async () => {
    const { rows } = await admin.query<{ kid: string; wrapped_private_jwk: string }>(
      'SELECT kid, wrapped_private_jwk FROM signing_keys',
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row.wrapped_private_jwk).not.toMatch(/"d"/);
  });

  it('GET /api/me answers the signed-in user; a missing, malformed or tampered token gets 401', async () => {
    const user = await signUp(t.app);
    const me = await t.app.inject({ method: 'GET', url: '/api/me', headers: bearer(user) });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ id: user.id, email: user.email });

    const [h, p, s] = user.accessToken.split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...decodeJwt(user.accessToken), sub: '00000000-0000-4000-8000-000000000000' }),
    ).toString('base64url');
    for (const headers of [
      {},
      { authorization: 'Basic abc' },
      { authorization: 'Bearer nonsense' },
      { authorization: `Bearer ${h}.${forged}.${s}` },
      { authorization: `Bearer ${h}.${p}.${s}x` },
    ]) {
      const res = await t.app.inject({ method: 'GET', url: '/api/me', headers });
      expect(res.statusCode).toBe(401);
    }
  });

  it('a restarted app signs with the newest un-retired key instead of creating another', async () => {
    const count = async () =>
      (await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM signing_keys')).rows[0]?.n;
    const before = await count();
    const other = await buildTestApp();
    try {
      expect(await count()).toBe(before);
      expect(other.app.accessTokens.currentKid).toBe(t.app.accessTokens.currentKid);
    } finally {
      await other.close();
    }
  });
});

describe('refresh tokens', () => {
  const refresh = (refreshToken: string) =>
    t.app.inject({ method: 'POST', url: '/api/auth/refresh', payload: { refreshToken } });

  it('rotate on use: each refresh answers a new pair and the old refresh token stops working', async () => {
    const user = await signUp(t.app);
    const first = await refresh(user.refreshToken);
    expect(first.statusCode).toBe(200);
    const pair = first.json<{ accessToken: string; refreshToken: string }>();
    expect(pair.refreshToken).not.toBe(user.refreshToken);
    expect((await t.app.inject({ method: 'GET', url: '/api/me', headers: bearer(pair) })).statusCode).toBe(
      200,
    );
    const second = await refresh(pair.refreshToken);
    expect(second.statusCode).toBe(200);
  });

  it('stores only hashes', async () => {
    const user = await signUp(t.app);
    const { rowCount } = await admin.query('SELECT 1 FROM refresh_tokens WHERE token_hash = $1', [
      user.refreshToken,
    ]);
    expect(rowCount).toBe(0);
  });

  it('reuse of a spent token revokes the whole family: the thief and the victim both get 401', async () => {
    const user = await signUp(t.app);
    const legit = (await refresh(user.refreshToken)).json<{ refreshToken: string }>();
    const reuse = await refresh(user.refreshToken);
    expect(reuse.statusCode).toBe(401);
    expect(errorCode(reuse)).toBe('INVALID_TOKEN');
    expect((await refresh(legit.refreshToken)).statusCode).toBe(401);
    expect(await auditRows(admin, { actorId: user.id, action: 'auth.refresh_reuse_detected' })).toHaveLength(
      1,
    );
  });

  it('a reuse in one family leaves other sign-ins alone', async () => {
    const user = await signUp(t.app);
    const login = (
      await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: user.email, password } })
    ).json<{ refreshToken: string }>();
    await refresh(user.refreshToken);
    await refresh(user.refreshToken);
    expect((await refresh(login.refreshToken)).statusCode).toBe(200);
  });

  it('logout revokes the sign-in and is recorded; logging out twice is fine', async () => {
    const user = await signUp(t.app);
    const out = await t.app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      payload: { refreshToken: user.refreshToken },
    });
    expect(out.statusCode).toBe(204);
    expect((await refresh(user.refreshToken)).statusCode).toBe(401);
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      payload: { refreshToken: user.refreshToken },
    });
    expect(again.statusCode).toBe(204);
    expect(await auditRows(admin, { actorId: user.id, action: 'auth.logout' })).toHaveLength(1);
  });

  it('an unknown or expired refresh token gets 401', async () => {
    expect((await refresh('not-a-token')).statusCode).toBe(401);
    const user = await signUp(t.app);
    await admin.query(
      `UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1`,
      [user.id],
    );
    expect((await refresh(user.refreshToken)).statusCode).toBe(401);
  });

  it.each([
    ['refresh', {}],
    ['refresh', { refreshToken: 5 }],
    ['refresh', { refreshToken: 'x', extra: 1 }],
    ['logout', {}],
    ['logout', { refreshToken: null }],
  ])('POST /api/auth/%s answers 400 VALIDATION for %j', async (route, payload) => {
    const res = await t.app.inject({ method: 'POST', url: `/api/auth/${route}`, payload });
    expect(res.statusCode).toBe(400);
    expect(errorCode(res)).toBe('VALIDATION');
  });
});
