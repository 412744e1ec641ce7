// Unrestricted resource consumption on the authentication endpoints (OWASP API4), beyond what
// test/integration/api/auth-throttle.test.ts covers (the shared per-address budget across login,
// refresh and sign-up; replicas; lockout; unknown vs known email by status and message): each
// endpoint's own budget, that a refused request consumes nothing, lockout by any spelling of the
// email, answers that cannot tell an existing account from an unknown one, oversized input refused
// before any hashing, and a per-address budget of failed API-key checks wherever a key is taken
// (the management API and the gateway, shared by replicas).
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { describe, expect, it } from 'vitest';
import { useTestApp } from '../support/app.js';
import {
  bearer,
  password,
  seedActiveOrg,
  signUp as signUpFrom,
  uniqueEmail,
  useAdminPool,
  type TestUser,
} from '../integration/api/helpers.js';
import { expectRefusal, freshAddress, invalidRequest, invalidToken, type Refusal } from './support.js';

const budget = 5;
const settings = {
  AUTH_ATTEMPTS_PER_MINUTE: String(budget),
  LOGIN_MAX_FAILURES: '3',
  LOGIN_LOCKOUT_SECONDS: '600',
  API_KEY_FAILURES_PER_MINUTE: String(budget),
};
const t = useTestApp(settings);
/** A second replica sharing the same Redis. */
const replica = useTestApp(settings);
const admin = useAdminPool();

const rateLimited: Refusal = { status: 429, code: 'RATE_LIMITED' };

function post(app: FastifyInstance, url: string, ip: string, payload: Record<string, unknown>) {
  return app.inject({ method: 'POST', url, remoteAddress: ip, payload });
}

/** Signs up from an address of its own, so no test's budget is spent by another's set-up. */
const signUp = (): Promise<TestUser> => signUpFrom(t.app, 'consumption', freshAddress());

const login = (ip: string, email: string, pass: string) =>
  post(t.app, '/api/auth/login', ip, { email, password: pass });

async function usersWithEmail(email: string): Promise<number> {
  const { rows } = await admin.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM users WHERE lower(email) = lower($1)',
    [email],
  );
  return rows[0]?.n ?? 0;
}

/** Spends an address's whole budget with requests the endpoint answers normally. */
async function spend(request: () => Promise<LightMyRequestResponse>, expected: number) {
  for (let i = 0; i < budget; i++) expect((await request()).statusCode).toBe(expected);
}

function expectRateLimited(res: LightMyRequestResponse) {
  expectRefusal(res, rateLimited);
  const retryAfter = Number(res.headers['retry-after']);
  expect(retryAfter).toBeGreaterThan(0);
}

describe('per-address budget, per endpoint', () => {
  it('sign-up: the request past the budget is refused and creates no account', async () => {
    const ip = freshAddress();
    await spend(() => post(t.app, '/api/auth/signup', ip, { email: uniqueEmail('burst'), password }), 202);
    const email = uniqueEmail('refused');
    expectRateLimited(await post(t.app, '/api/auth/signup', ip, { email, password }));
    expect(await usersWithEmail(email)).toBe(0);
  });

  it('login: past the budget even the right password is refused, and another address is unaffected', async () => {
    const user = await signUp();
    const ip = freshAddress();
    await spend(() => login(ip, uniqueEmail('spray'), 'wrong password 1'), 401);
    expectRateLimited(await login(ip, user.email, password));
    expect((await login(freshAddress(), user.email, password)).statusCode).toBe(200);
  });

  it('refresh: past the budget a valid refresh token is refused and not consumed', async () => {
    const user = await signUp();
    const ip = freshAddress();
    await spend(() => post(t.app, '/api/auth/refresh', ip, { refreshToken: 'x'.repeat(43) }), 401);
    expectRateLimited(await post(t.app, '/api/auth/refresh', ip, { refreshToken: user.refreshToken }));
    const later = await post(t.app, '/api/auth/refresh', freshAddress(), { refreshToken: user.refreshToken });
    expect(later.statusCode, later.body).toBe(200);
  });

  it('logout spends the same budget', async () => {
    const ip = freshAddress();
    await spend(() => post(t.app, '/api/auth/logout', ip, { refreshToken: 'x'.repeat(43) }), 204);
    expectRateLimited(await post(t.app, '/api/auth/logout', ip, { refreshToken: 'x'.repeat(43) }));
  });

  it('sign-up answers an existing email like a new one, and probing it is still held to the budget', async () => {
    const user = await signUp();
    const ip = freshAddress();
    await spend(() => post(t.app, '/api/auth/signup', ip, { email: user.email, password }), 202);
    expectRateLimited(await post(t.app, '/api/auth/signup', ip, { email: user.email, password }));
  });

  it('password reset spends the same budget', async () => {
    const ip = freshAddress();
    await spend(() => post(t.app, '/api/auth/password-reset', ip, { email: uniqueEmail('reset') }), 202);
    expectRateLimited(await post(t.app, '/api/auth/password-reset', ip, { email: uniqueEmail('reset') }));
  });
});

describe('account lockout', () => {
  it('counts failures under any spelling of the email (case, surrounding spaces)', async () => {
    const user = await signUp();
    for (const spelling of [user.email.toUpperCase(), ` ${user.email}`, `${user.email} `])
      expect((await login(freshAddress(), spelling, 'wrong password 1')).statusCode).toBe(401);
    expectRateLimited(await login(freshAddress(), user.email, password));
  });

  it('locks an unknown email exactly like an existing one: same statuses, bodies, headers', async () => {
    const user = await signUp();
    const shape = (res: LightMyRequestResponse) => {
      const error = res.json<{ error: { code: string; message: string } }>().error;
      return {
        status: res.statusCode,
        code: error.code,
        message: error.message,
        fields: Object.keys(error).sort(),
        headers: Object.keys(res.headers)
          .filter((h) => !['date', 'content-length', 'x-request-id'].includes(h))
          .sort(),
      };
    };
    const answers = async (email: string) => {
      const seen = [];
      for (let i = 0; i < 5; i++) seen.push(shape(await login(freshAddress(), email, 'wrong password 1')));
      return seen;
    };
    const known = await answers(user.email);
    expect(known.map((a) => a.status)).toEqual([401, 401, 401, 429, 429]);
    expect(await answers(uniqueEmail('nobody'))).toEqual(known);
  });

  it('takes about as long to refuse an unknown email as a wrong password (a password hash either way)', async () => {
    const user = await signUp();
    const fastest = async (email: string) => {
      const times: number[] = [];
      for (let i = 0; i < 2; i++) {
        const start = performance.now();
        expect((await login(freshAddress(), email, 'wrong password 1')).statusCode).toBe(401);
        times.push(performance.now() - start);
      }
      return times.sort((a, b) => a - b)[0]!;
    };
    const [known, unknown] = [await fastest(user.email), await fastest(uniqueEmail('nobody'))];
    // Loose on purpose (a shared CI machine): skipping the hash would make unknown emails ~50x faster.
    expect(unknown / known).toBeGreaterThan(0.25);
  });
});

describe('oversized input', () => {
  it('a password longer than the limit is refused by validation, before any hashing, and spends no budget', async () => {
    const ip = freshAddress();
    for (let i = 0; i <= budget; i++) {
      const res = await login(ip, uniqueEmail(), 'p'.repeat(100_000));
      expectRefusal(res, invalidRequest);
    }
    expect((await login(ip, uniqueEmail(), 'wrong password 1')).statusCode).toBe(401);
  });

  it('a body over the limit is refused with 413 on every auth endpoint', async () => {
    const huge = { email: uniqueEmail(), password, padding: 'x'.repeat(t.config.BODY_LIMIT_BYTES) };
    for (const url of [
      '/api/auth/signup',
      '/api/auth/login',
      '/api/auth/refresh',
      '/api/auth/logout',
      '/api/auth/verify-email',
      '/api/auth/password-reset',
      '/api/auth/password-reset/confirm',
    ]) {
      const res = await post(t.app, url, freshAddress(), huge);
      expectRefusal(res, { status: 413, code: 'PAYLOAD_TOO_LARGE' });
    }
  });
});

describe('failed API-key checks, per address', () => {
  async function liveKey(): Promise<{ id: string; key: string }> {
    const owner = await signUp();
    const orgId = await seedActiveOrg(admin, owner, 'Flooded');
    const created = await t.app.inject({
      method: 'POST',
      url: `/api/orgs/${orgId}/api-keys`,
      headers: bearer(owner),
      payload: { name: 'flooded', scopes: ['inference'] },
    });
    expect(created.statusCode, created.body).toBe(201);
    return created.json<{ id: string; key: string }>();
  }
  const wrongSecret = (key: string, i: number) =>
    key.slice(0, -43) + Buffer.from(`wrong-${i}`.padEnd(32, '.')).toString('base64url');
  const withKey = (app: FastifyInstance, url: string, ip: string, key: string) =>
    app.inject({ method: 'GET', url, remoteAddress: ip, headers: { authorization: `Bearer ${key}` } });

  it('wrong secrets for a real prefix spend the budget, then even the real key is refused from that address (429), not from others; nothing written', async () => {
    const { id, key } = await liveKey();
    const row = () =>
      admin
        .query<{ last_used_at: Date | null; revoked_at: Date | null }>(
          'SELECT last_used_at, revoked_at FROM api_keys WHERE id = $1',
          [id],
        )
        .then((r) => r.rows[0]);
    const before = await row();
    const ip = freshAddress();
    for (let i = 0; i < budget; i++) {
      const wrong = wrongSecret(key, i);
      expectRefusal(await withKey(t.app, '/api/auth/key', ip, wrong), invalidToken, wrong);
    }
    for (let i = budget; i < 3 * budget; i++)
      expectRateLimited(await withKey(t.app, '/api/auth/key', ip, wrongSecret(key, i)));
    // Over budget, the address cannot learn that a key is right: the real one is refused too.
    expectRateLimited(await withKey(t.app, '/api/auth/key', ip, key));
    expect(await row()).toEqual(before);
    const { rows } = await admin.query('SELECT 1 FROM audit_log WHERE ip = $1::inet', [ip]);
    expect(rows).toEqual([]);
    expect((await withKey(t.app, '/api/auth/key', freshAddress(), key)).statusCode).toBe(200);
  });

  it('the gateway spends the same budget: 429 in OpenAI shape with Retry-After, on /v1 and the management API alike', async () => {
    const { key } = await liveKey();
    const ip = freshAddress();
    for (let i = 0; i < budget; i++) {
      const res = await withKey(t.app, '/v1/models', ip, wrongSecret(key, i));
      expect(res.statusCode, res.body).toBe(401);
    }
    const refused = await withKey(t.app, '/v1/models', ip, wrongSecret(key, budget));
    expect(refused.statusCode, refused.body).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.json<{ error: { type: string } }>().error.type).toEqual(expect.any(String));
    // The real key from that address is refused before it is checked.
    const real = await withKey(t.app, '/v1/models', ip, key);
    expect(real.statusCode, real.body).toBe(429);
    expect(real.body).not.toContain(key);
    expectRateLimited(await withKey(t.app, '/api/auth/key', ip, key));
    expect((await withKey(t.app, '/v1/models', freshAddress(), key)).statusCode).toBe(200);
  });

  it('replicas share the budget: failures on one count on the other', async () => {
    const { key } = await liveKey();
    const ip = freshAddress();
    for (let i = 0; i < budget; i++)
      expectRefusal(await withKey(t.app, '/api/auth/key', ip, wrongSecret(key, i)), invalidToken);
    expectRateLimited(await withKey(replica.app, '/api/auth/key', ip, wrongSecret(key, budget)));
    expectRateLimited(await withKey(replica.app, '/api/auth/key', ip, key));
  });

  it('credentials that are not keys (JWTs, anything without the vl_ form) spend nothing of it', async () => {
    const { key } = await liveKey();
    const ip = freshAddress();
    for (let i = 0; i < 3 * budget; i++) {
      const res = await withKey(t.app, '/api/auth/key', ip, `not-a-key-${i}`);
      expect(res.statusCode).toBe(401);
    }
    expect((await withKey(t.app, '/api/auth/key', ip, key)).statusCode).toBe(200);
  });
});
