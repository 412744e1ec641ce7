// The API's security events as an operator sees them: counters on /metrics and `security` log
// lines. Failed logins count, and the failure that locks the account counts once as a lockout; a
// spent refresh token presented again counts as reuse (and names the user and the revoked sign-in,
// never the token); a policy denial counts under its route.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loggerOptions } from '../../../runtime/logger.js';
import { buildTestApp, type TestApp } from '../../support/app.js';
import { metricValue } from '../../support/metrics.js';
import { bearer, signUp } from './helpers.js';

let t: TestApp;
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  t = await buildTestApp(
    { AUTH_ATTEMPTS_PER_MINUTE: '50', LOGIN_MAX_FAILURES: '3', LOGIN_LOCKOUT_SECONDS: '600' },
    { logger: pino(loggerOptions('info', 'security-events-test'), stream) },
  );
});
afterAll(async () => {
  await t?.close();
});

/** An address of the test's own, so no other test file's budget is spent. */
const address = () => `10.77.${randomUUID().charCodeAt(0) % 250}.${Math.floor(Math.random() * 250) + 1}`;

/** A counter's value on /metrics for exactly these labels (0 when absent). */
const counter = (name: string, labels: Record<string, string> = {}) => metricValue(t.app, name, labels);

const events = (name: string) => lines.filter((l) => l.security === name);

describe('security events', () => {
  it('counts failed logins, and the lockout once, with a log line each', async () => {
    const ip = address();
    const user = await signUp(t.app, 'locked', ip);
    const login = (pass: string) =>
      t.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        remoteAddress: ip,
        payload: { email: user.email, password: pass },
      });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await login(`wrong password ${i}`)).statusCode);
    // The third failure locks the account; the fourth attempt is refused before the password is checked.
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect(await counter('vlinders_security_login_failures_total', { form: 'password' })).toBe(3);
    expect(await counter('vlinders_security_lockouts_total', { form: 'password' })).toBe(1);
    expect(events('login-failed').filter((l) => l.ip === ip)).toHaveLength(3);
    expect(events('login-locked')).toEqual([
      expect.objectContaining({
        security: 'login-locked',
        form: 'password',
        ip,
        msg: 'security login-locked',
      }),
    ]);
    expect(JSON.stringify(lines)).not.toContain('wrong password');
  });

  it('counts a reused refresh token and names the user and the revoked sign-in, never the token', async () => {
    const ip = address();
    const user = await signUp(t.app, 'stolen', ip);
    const refresh = (token: string) =>
      t.app.inject({
        method: 'POST',
        url: '/api/auth/refresh',
        remoteAddress: ip,
        payload: { refreshToken: token },
      });
    expect((await refresh(user.refreshToken)).statusCode).toBe(200);
    expect(await counter('vlinders_security_refresh_token_reuse_total')).toBe(0);
    // The spent token again: the thief (or the victim) is refused and the whole sign-in revoked.
    expect((await refresh(user.refreshToken)).statusCode).toBe(401);
    expect(await counter('vlinders_security_refresh_token_reuse_total')).toBe(1);
    expect(events('refresh-token-reuse')).toEqual([
      expect.objectContaining({ userId: user.id, familyId: expect.any(String), ip }),
    ]);
    expect(JSON.stringify(lines)).not.toContain(user.refreshToken);
  });

  it('counts a policy denial under its route', async () => {
    const user = await signUp(t.app, 'not-operator', address());
    const res = await t.app.inject({
      method: 'GET',
      url: '/api/admin/billing/reconciliation?from=2026-01-01T00:00:00Z&to=2026-01-01T01:00:00Z',
      headers: bearer(user),
    });
    expect(res.statusCode).toBe(403);
    expect(
      await counter('vlinders_security_policy_denials_total', {
        method: 'GET',
        route: '/api/admin/billing/reconciliation',
      }),
    ).toBe(1);
    expect(events('policy-denied')).toEqual([
      expect.objectContaining({
        method: 'GET',
        route: '/api/admin/billing/reconciliation',
        userId: user.id,
        orgId: null,
      }),
    ]);
  });

  it('counts a refused SSO callback as a failed sign-in of the sso form, with the reason', async () => {
    const ip = address();
    const res = await t.app.inject({
      method: 'GET',
      url: '/api/sso/callback?state=forged-state&code=stolen-code',
      remoteAddress: ip,
      headers: { cookie: 'vl_sso_state=another-state' },
    });
    expect(res.statusCode).toBe(400);
    expect(await counter('vlinders_security_login_failures_total', { form: 'sso' })).toBe(1);
    expect(events('login-failed').filter((l) => l.ip === ip)).toEqual([
      expect.objectContaining({ form: 'sso', reason: 'VALIDATION' }),
    ]);
    expect(JSON.stringify(lines)).not.toContain('stolen-code');
  });

  it('counts a wrong client secret at the token endpoint as invalid_client, naming the client', async () => {
    const ip = address();
    const clientId = 'oc_unknown-client';
    const res = await t.app.inject({
      method: 'POST',
      url: '/oidc/token',
      remoteAddress: ip,
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:guessed-secret`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: 'grant_type=client_credentials&scope=inference',
    });
    expect(res.statusCode).toBe(401);
    expect(await counter('vlinders_security_token_request_failures_total', { error: 'invalid_client' })).toBe(
      1,
    );
    expect(events('token-request-failed')).toEqual([
      expect.objectContaining({ error: 'invalid_client', grantType: 'client_credentials', ip }),
    ]);
    expect(JSON.stringify(lines)).not.toContain('guessed-secret');
  });
});
