// The API's security events (issue 14 §5), each a counter on /metrics and one structured log line
// with `security: <event>` (runtime/security-events.ts): failed logins and the lockouts they cause,
// on every sign-in form (the password login and the OIDC server's login page); a spent refresh token
// presented again (a stolen token: its family is revoked); policy denials (403) by route. The
// counters carry no tenant or user labels (bounded label sets); the log lines carry the address and
// ids for the investigation. Alerts: deploy/helm/vlinders/alerts/security.rules.yaml.
import type { Meter } from '@opentelemetry/api';
import type { FastifyRequest } from 'fastify';
import { logSecurityEvent } from '../../runtime/security-events.js';

/** Where a sign-in form is: the password login route, or the OIDC server's login page. */
export type SignInForm = 'password' | 'oidc-login';

export class SecurityEvents {
  private readonly loginFailures;
  private readonly lockouts;
  private readonly refreshTokenReuse;
  private readonly policyDenials;

  constructor(meter: Meter) {
    this.loginFailures = meter.createCounter('vlinders_security_login_failures', {
      description: 'Failed sign-ins (wrong email or password), by sign-in form',
    });
    this.lockouts = meter.createCounter('vlinders_security_lockouts', {
      description: 'Accounts locked by repeated failed sign-ins (LOGIN_MAX_FAILURES), by sign-in form',
    });
    this.refreshTokenReuse = meter.createCounter('vlinders_security_refresh_token_reuse', {
      description: 'Spent refresh tokens presented again (a stolen token); each revoked its whole sign-in',
    });
    this.policyDenials = meter.createCounter('vlinders_security_policy_denials', {
      description: 'Requests the policy refused (403 FORBIDDEN), by method and route',
    });
  }

  /** A failed sign-in; `locked` when this failure locked the account. */
  loginFailed(request: FastifyRequest, form: SignInForm, locked: boolean): void {
    this.loginFailures.add(1, { form });
    logSecurityEvent(request.log, 'login-failed', { form, ip: request.ip });
    if (!locked) return;
    this.lockouts.add(1, { form });
    logSecurityEvent(request.log, 'login-locked', { form, ip: request.ip });
  }

  /** A spent refresh token came back: its family (the sign-in) has been revoked. */
  refreshTokenReused(request: FastifyRequest, reuse: { userId: string; familyId: string }): void {
    this.refreshTokenReuse.add(1);
    logSecurityEvent(request.log, 'refresh-token-reuse', { ...reuse, ip: request.ip });
  }

  /** The policy refused the request (403). */
  policyDenied(
    request: FastifyRequest,
    who: { orgId: string | null; userId: string | null; apiKeyId: string | null },
  ): void {
    const route = request.routeOptions.url ?? 'unmatched';
    this.policyDenials.add(1, { method: request.method, route });
    logSecurityEvent(request.log, 'policy-denied', { method: request.method, route, ...who, ip: request.ip });
  }
}
