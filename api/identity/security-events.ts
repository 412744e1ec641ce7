// The API's security events (issue 14 §5), each a counter on /metrics and one structured log line
// with `security: <event>` (runtime/security-events.ts): failed logins and the lockouts they cause,
// on every sign-in form (the password login, the OIDC server's login page, the SSO callback); a
// spent refresh token presented again (a stolen token: its family is revoked), of the platform's
// own sign-in or the OIDC server's; policy denials (403) by route; failed API-key checks and the
// addresses they put over their budget; keys used from a network they never came from or from an
// address with no country, and a key's spike against its own baseline (api-keys/usage-watch.ts);
// failed requests at the OIDC token endpoint (a wrong client secret, a spent code). The counters
// carry no tenant, user or key labels (bounded label sets); the log lines carry the address and
// ids for the investigation. Alerts: deploy/helm/vlinders/alerts/security.rules.yaml.
import type { Meter } from '@opentelemetry/api';
import type { FastifyRequest } from 'fastify';
import { logSecurityEvent, type SecurityLog } from '../../runtime/security-events.js';

/** Where a sign-in form is: the password login route, the OIDC server's login page, the SSO callback. */
export type SignInForm = 'password' | 'oidc-login' | 'sso';

/** Where an event happened: a request's logger and client address. A Fastify request is one. */
export interface EventSource {
  log: SecurityLog;
  ip: string | null;
}

/** The key an event is about. */
export interface KeyRef {
  keyId: string;
  orgId: string;
}

// The token endpoint's error codes (RFC 6749 §5.2, RFC 8707); any other is counted as `other`, so
// the label set stays bounded whatever the provider answers.
const tokenErrors = new Set([
  'invalid_client',
  'invalid_grant',
  'invalid_request',
  'invalid_scope',
  'invalid_target',
  'unauthorized_client',
  'unsupported_grant_type',
]);

export class SecurityEvents {
  private readonly loginFailures;
  private readonly lockouts;
  private readonly refreshTokenReuse;
  private readonly policyDenials;
  private readonly apiKeyFailures;
  private readonly apiKeyAddressBlocks;
  private readonly apiKeyNewNetworks;
  private readonly apiKeyCountrylessAddresses;
  private readonly apiKeySpikes;
  private readonly tokenRequestFailures;

  constructor(meter: Meter) {
    this.loginFailures = meter.createCounter('vlinders_security_login_failures', {
      description: 'Failed sign-ins (wrong email or password, a refused SSO callback), by sign-in form',
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
    this.apiKeyFailures = meter.createCounter('vlinders_security_api_key_failures', {
      description: 'API keys refused as invalid, expired or revoked',
    });
    this.apiKeyAddressBlocks = meter.createCounter('vlinders_security_api_key_address_blocks', {
      description: 'Addresses put over their failed-key budget (API_KEY_FAILURES_PER_MINUTE)',
    });
    this.apiKeyNewNetworks = meter.createCounter('vlinders_security_api_key_new_networks', {
      description: 'API keys used from a network (IPv4 /24, IPv6 /48) they were never used from before',
    });
    this.apiKeyCountrylessAddresses = meter.createCounter('vlinders_security_api_key_countryless_addresses', {
      description: 'API keys used from a new network whose address has no country (IP_COUNTRY_RANGES_FILE)',
    });
    this.apiKeySpikes = meter.createCounter('vlinders_security_api_key_spikes', {
      description: 'API keys whose request rate rose above API_KEY_SPIKE_FACTOR times their own baseline',
    });
    this.tokenRequestFailures = meter.createCounter('vlinders_security_token_request_failures', {
      description: 'Refused requests at the OIDC token endpoint, by OAuth error code',
    });
  }

  /** A failed sign-in; `locked` when this failure locked the account; `details` (never a secret) go into the log line. */
  loginFailed(
    source: EventSource,
    form: SignInForm,
    locked: boolean,
    details: Record<string, string> = {},
  ): void {
    this.loginFailures.add(1, { form });
    logSecurityEvent(source.log, 'login-failed', { ...details, form, ip: source.ip });
    if (!locked) return;
    this.lockouts.add(1, { form });
    logSecurityEvent(source.log, 'login-locked', { form, ip: source.ip });
  }

  /** A spent refresh token came back: its family (the sign-in; an OIDC grant) has been revoked. */
  refreshTokenReused(
    source: EventSource,
    reuse: { userId: string | null; familyId: string; clientId?: string },
  ): void {
    this.refreshTokenReuse.add(1);
    logSecurityEvent(source.log, 'refresh-token-reuse', { ...reuse, ip: source.ip });
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

  /** An API key was refused (its form was right: a wrong secret, an unknown prefix, expired or revoked). */
  apiKeyRejected(source: EventSource): void {
    this.apiKeyFailures.add(1);
    logSecurityEvent(source.log, 'api-key-invalid', { ip: source.ip });
  }

  /** This address has just gone over its failed-key budget: every key from it is refused for a while. */
  apiKeyAddressBlocked(source: EventSource, retryAfterSeconds: number): void {
    this.apiKeyAddressBlocks.add(1);
    logSecurityEvent(source.log, 'api-key-address-blocked', { ip: source.ip, retryAfterSeconds });
  }

  /** A key came from a network it was never used from (it has `networks` now). */
  apiKeyNewNetwork(
    source: EventSource,
    use: KeyRef & { network: string; networks: number; country: string | null },
  ): void {
    this.apiKeyNewNetworks.add(1);
    logSecurityEvent(source.log, 'api-key-new-network', { ...use, ip: source.ip });
  }

  /** A key came from a new network whose address is in no country's range. */
  apiKeyCountrylessAddress(source: EventSource, use: KeyRef & { network: string }): void {
    this.apiKeyCountrylessAddresses.add(1);
    logSecurityEvent(source.log, 'api-key-countryless-address', { ...use, ip: source.ip });
  }

  /** A key's rate rose far above its own baseline. */
  apiKeySpike(
    source: EventSource,
    spike: KeyRef & { requestsPerMinute: number; baselinePerMinute: number },
  ): void {
    this.apiKeySpikes.add(1);
    logSecurityEvent(source.log, 'api-key-spike', { ...spike, ip: source.ip });
  }

  /** The OIDC token endpoint refused a request (client authentication, a code or refresh token). */
  tokenRequestFailed(
    source: EventSource,
    failure: { error: string; clientId: string | null; grantType: string | null },
  ): void {
    const error = tokenErrors.has(failure.error) ? failure.error : 'other';
    this.tokenRequestFailures.add(1, { error });
    logSecurityEvent(source.log, 'token-request-failed', { ...failure, ip: source.ip });
  }
}
