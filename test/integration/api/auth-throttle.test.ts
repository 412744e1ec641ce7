// Brute-force protection: a per-address budget on the auth endpoints, and an account lockout after
// repeated failed logins that answers the same for existing and unknown emails.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { useTestApp } from '../../support/app.js';
import { password, signUp as signUpFrom, uniqueEmail } from './helpers.js';

const t = useTestApp({
  AUTH_ATTEMPTS_PER_MINUTE: '5',
  LOGIN_MAX_FAILURES: '3',
  LOGIN_LOCKOUT_SECONDS: '600',
});
/** A second replica sharing the same Redis. */
const replica = useTestApp({
  AUTH_ATTEMPTS_PER_MINUTE: '5',
  LOGIN_MAX_FAILURES: '3',
  LOGIN_LOCKOUT_SECONDS: '600',
});
/** A single instance without Redis: counters in process. */
const alone = useTestApp({ REDIS_URL: '', AUTH_ATTEMPTS_PER_MINUTE: '5', LOGIN_MAX_FAILURES: '3' });

/** Each test gets its own client address, so budgets do not leak between tests. */
function fromAddress() {
  const octets = randomUUID()
    .replace(/-/g, '')
    .slice(0, 6)
    .match(/../g)!
    .map((h) => parseInt(h, 16));
  return `10.${octets.join('.')}`;
}

/** Signs up from an address of its own: 127.0.0.1's budget is spent by every other test file. */
const signUp = (app: FastifyInstance, label: string) => signUpFrom(app, label, fromAddress());

function login(app: FastifyInstance, ip: string, email: string, pass: string) {
  return app.inject({
    method: 'POST',
    url: '/api/auth/login',
    remoteAddress: ip,
    payload: { email, password: pass },
  });
}

describe('per-address budget', () => {
  it('refuses the sixth auth request in a minute with 429 and retry-after, across endpoints', async () => {
    const ip = fromAddress();
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await login(t.app, ip, uniqueEmail(), 'wrong password 1')).statusCode);
    for (let i = 0; i < 2; i++) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/auth/refresh',
        remoteAddress: ip,
        payload: { refreshToken: 'x'.repeat(40) },
      });
      statuses.push(res.statusCode);
    }
    const refused = await t.app.inject({
      method: 'POST',
      url: '/api/auth/signup',
      remoteAddress: ip,
      payload: { email: uniqueEmail(), password },
    });
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
  });

  it('is shared by replicas through Redis', async () => {
    const ip = fromAddress();
    for (let i = 0; i < 5; i++)
      await login(i % 2 ? replica.app : t.app, ip, uniqueEmail(), 'wrong password 1');
    expect((await login(replica.app, ip, uniqueEmail(), 'wrong password 1')).statusCode).toBe(429);
  });

  it('holds in process when no Redis is configured', async () => {
    const ip = fromAddress();
    for (let i = 0; i < 5; i++) await login(alone.app, ip, uniqueEmail(), 'wrong password 1');
    expect((await login(alone.app, ip, uniqueEmail(), 'wrong password 1')).statusCode).toBe(429);
  });
});

describe('account lockout', () => {
  it('locks an account after repeated failures, even against the right password', async () => {
    const user = await signUp(t.app, 'locked');
    for (let i = 0; i < 3; i++)
      expect((await login(t.app, fromAddress(), user.email, 'wrong password 1')).statusCode).toBe(401);
    const locked = await login(t.app, fromAddress(), user.email, user.password);
    expect(locked.statusCode).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(500);
    // From another replica too.
    expect((await login(replica.app, fromAddress(), user.email, user.password)).statusCode).toBe(429);
  });

  it('answers an unknown email exactly like an existing one', async () => {
    const user = await signUp(t.app, 'known');
    const unknown = uniqueEmail('nobody');
    const answers = async (email: string) => {
      const seen: unknown[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await login(t.app, fromAddress(), email, 'wrong password 1');
        seen.push([res.statusCode, res.json<{ error: { code: string; message: string } }>().error.message]);
      }
      return seen;
    };
    expect(await answers(unknown)).toEqual(await answers(user.email));
  });

  it('forgets earlier failures after a successful login', async () => {
    const user = await signUp(t.app, 'forgiven');
    for (let i = 0; i < 2; i++) await login(t.app, fromAddress(), user.email, 'wrong password 1');
    expect((await login(t.app, fromAddress(), user.email, user.password)).statusCode).toBe(200);
    for (let i = 0; i < 2; i++) await login(t.app, fromAddress(), user.email, 'wrong password 1');
    expect((await login(t.app, fromAddress(), user.email, user.password)).statusCode).toBe(200);
  });
});
