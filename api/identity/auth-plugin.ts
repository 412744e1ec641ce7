// Authentication and authorization. The plugin decorates the app with the access-token service
// and two hooks; route plugins that need a signed-in user add `authenticate` as an encapsulated
// onRequest hook, and `authorizeOrg` as a preHandler that asks the policy (core/policy.ts)
// whether the caller may perform the action the route declares in its config: an org action
// against the caller's membership in `params.orgId`, a platform action against their platform
// role. `authenticate` takes either credential: a JWT (a user: ours, or one from an org's identity
// provider) or an API key (`vl_…`, verified by the api-keys plugin). Routes that take keys declare
// the access 'api-key'; every other route needs a user and answers 401 to a key.
import { and, eq } from 'drizzle-orm';
import type { ObservableResult } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import {
  abilityFor,
  allows,
  isPlatformAction,
  refusedFields,
  type SubjectAttributes,
  type writableFields,
} from '../../core/policy.js';
import { isPlatformRole } from '../../core/rbac.js';
import { memberships, teamMembers, users } from '../../db/schema/index.js';
import { withTenant } from '../../db/tenant.js';
import { masterKeyFromConfig } from '../../runtime/envelope.js';
import { AppError, RateLimitError } from '../errors.js';
import { AccessTokens } from './accounts/access-tokens.js';
import { AuthThrottle, MemoryAttemptCounter, RedisAttemptCounter } from './auth-throttle.js';
import { looksLikeApiKey } from '../../runtime/api-key-secrets.js';
import type { VerifiedKey } from './api-keys/verifier.js';
import { SsoTokenVerifier, unverifiedIssuer } from './sso/tokens.js';
import { SecurityEvents } from './security-events.js';
import { keyUsageWatchFromConfig } from './api-keys/usage-watch.js';
import { recordAudit, type AuditEntry, type UserActor } from '../audit.js';
import type { AuthenticatedUser, OrgAccess, RouteAccess } from './caller.js';

declare module 'fastify' {
  interface FastifyInstance {
    accessTokens: AccessTokens;
    /** Brute-force counters of every sign-in endpoint (password, OIDC login page, SSO) and of failed API keys. */
    authThrottle: AuthThrottle;
    /** Security events: counters on /metrics and `security` log lines. */
    securityEvents: SecurityEvents;
    authenticate: (request: FastifyRequest) => Promise<void>;
    authorizeOrg: (request: FastifyRequest) => Promise<void>;
  }
  interface FastifyRequest {
    user: AuthenticatedUser | null;
    apiKey: VerifiedKey | null;
    orgAccess: OrgAccess | null;
  }
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
}

/** The signed-in user; only for handlers behind `authenticate`. */
export function currentUser(request: FastifyRequest): AuthenticatedUser {
  if (!request.user) throw new AppError('UNAUTHENTICATED');
  return request.user;
}

/** The signed-in user and their address, for audit entries. */
export function actorOf(request: FastifyRequest): UserActor {
  return { userId: currentUser(request).id, ip: request.ip };
}

function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  const match = header ? /^Bearer ([^\s]+)$/i.exec(header) : null;
  if (!match?.[1]) throw new AppError('UNAUTHENTICATED');
  return match[1];
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export default fp(
  async function auth(app: FastifyInstance) {
    const tokens = new AccessTokens(app.db, masterKeyFromConfig(app.config), {
      issuer: app.config.PUBLIC_URL,
      ttlSeconds: app.config.ACCESS_TOKEN_TTL_SECONDS,
    });
    await tokens.start();
    app.decorate('accessTokens', tokens);
    // The signing key's age, for the alert that says a rotation is overdue (docs/observability.md).
    const signingSince = app.meter.createObservableGauge('vlinders_signing_key_activated_timestamp_seconds', {
      description: 'Unix time at which the signing key of new access tokens began to sign',
      unit: 's',
    });
    const observeSigningKey = (result: ObservableResult) =>
      result.observe(tokens.signingSince.getTime() / 1000);
    signingSince.addCallback(observeSigningKey);
    app.addHook('onClose', async () => signingSince.removeCallback(observeSigningKey));
    // One set of counters for every way to sign in, so no endpoint is a second budget.
    app.decorate(
      'authThrottle',
      new AuthThrottle(app.redis ? new RedisAttemptCounter(app.redis) : new MemoryAttemptCounter(), {
        attemptsPerMinutePerAddress: app.config.AUTH_ATTEMPTS_PER_MINUTE,
        maxFailedLogins: app.config.LOGIN_MAX_FAILURES,
        lockoutSeconds: app.config.LOGIN_LOCKOUT_SECONDS,
        failedKeysPerMinutePerAddress: app.config.API_KEY_FAILURES_PER_MINUTE,
      }),
    );
    const securityEvents = new SecurityEvents(app.meter);
    app.decorate('securityEvents', securityEvents);
    const keyUsage = keyUsageWatchFromConfig(app.config, app.redis, securityEvents);
    const ssoTokens = new SsoTokenVerifier(app.db, {
      egress: app.egress,
      clockToleranceSeconds: app.config.SSO_CLOCK_TOLERANCE_SECONDS,
      jwksCooldownSeconds: app.config.SSO_JWKS_COOLDOWN_SECONDS,
    });
    app.decorateRequest('user', null);
    app.decorateRequest('apiKey', null);
    app.decorateRequest('orgAccess', null);

    app.decorate('authenticate', async (request: FastifyRequest) => {
      const credential = bearerToken(request);
      if (looksLikeApiKey(credential)) {
        // Every route that takes a key comes through here: one failed-key budget per address.
        app.authThrottle.admitKeyCheck(request.ip);
        const key = await app.apiKeyVerifier.verify(credential, request.ip);
        if (!key) {
          securityEvents.apiKeyRejected(request);
          try {
            await app.authThrottle.keyCheckFailed(request.ip);
          } catch (err) {
            if (err instanceof RateLimitError) {
              securityEvents.apiKeyAddressBlocked(request, err.retryAfterSeconds);
              throw err;
            }
            // The key is refused all the same; only its budget goes uncounted while the counter is down.
            request.log.warn({ err }, 'a failed API key was not counted against its address');
          }
          throw new AppError('INVALID_TOKEN', 'The API key is invalid, expired or revoked.');
        }
        request.apiKey = key;
        keyUsage.observe(key, request);
        return;
      }
      // A token of the built-in authorization server (issuer PUBLIC_URL/oidc): a user or a machine client.
      if (app.oidcTokens.issuedByUs(credential)) {
        const identity = await app.oidcTokens.verify(credential);
        if ('userId' in identity) request.user = { id: identity.userId };
        else {
          request.apiKey = identity.key;
          keyUsage.observe(identity.key, request);
        }
        return;
      }
      // A JWT from another issuer can only be an org's identity provider's (api/services/sso-tokens.ts).
      const issuer = unverifiedIssuer(credential);
      if (issuer !== undefined && issuer !== app.config.PUBLIC_URL) {
        request.user = await ssoTokens.verify(credential);
        return;
      }
      const { userId } = await tokens.verify(credential);
      request.user = { id: userId };
    });

    // A policy denial (403) is a security event: counted and logged (security: policy-denied), and
    // it goes into the org's audit chain (a platform row outside an org) before the answer is sent.
    // Failing to audit it never changes the answer.
    app.addHook('onError', async (request, _reply, error) => {
      if (!(error instanceof AppError) || error.code !== 'FORBIDDEN') return;
      if (!request.user && !request.apiKey) return;
      const orgIdParam = (request.params as { orgId?: unknown } | undefined)?.orgId;
      const orgId =
        request.apiKey?.orgId ??
        (typeof orgIdParam === 'string' && uuidPattern.test(orgIdParam) ? orgIdParam : null);
      const entry: AuditEntry = {
        orgId,
        action: 'policy.deny',
        targetType: 'route',
        details: {
          method: request.method,
          route: request.routeOptions.url ?? null,
          access: request.routeOptions.config.access ?? null,
          ...(request.apiKey ? { apiKeyId: request.apiKey.keyId } : {}),
        },
      };
      const actor = { userId: request.user?.id ?? null, ip: request.ip };
      securityEvents.policyDenied(request, {
        orgId,
        userId: actor.userId,
        apiKeyId: request.apiKey?.keyId ?? null,
      });
      try {
        if (orgId) await withTenant(app.db, orgId, (tx) => recordAudit(tx, actor, entry));
        else await app.db.transaction((tx) => recordAudit(tx, actor, entry));
      } catch (err) {
        request.log.error({ err }, 'could not audit a policy denial');
      }
    });

    app.decorate('authorizeOrg', async (request: FastifyRequest) => {
      const access = request.routeOptions.config.access;
      // Fail closed: a route behind this hook that forgot to declare its access is a bug.
      if (!access) throw new Error(`route ${request.routeOptions.url ?? request.url} declares no access`);
      if (access === 'api-key') {
        if (!request.apiKey) throw new AppError('UNAUTHENTICATED', 'This route takes an API key.');
        return;
      }
      if (!request.user)
        throw new AppError('UNAUTHENTICATED', 'This route takes a user token, not an API key.');
      if (access === 'signed-in') return;
      const user = currentUser(request);
      if (isPlatformAction(access)) {
        const [row] = await app.db
          .select({ platformRole: users.platformRole })
          .from(users)
          .where(eq(users.id, user.id));
        const platformRole = row?.platformRole ?? null;
        const ability = abilityFor({
          kind: 'user',
          userId: user.id,
          platformRole: isPlatformRole(platformRole) ? platformRole : null,
        });
        if (!allows(ability, access)) throw new AppError('FORBIDDEN', 'This is for platform operators.');
        return;
      }
      const orgId = (request.params as { orgId?: unknown }).orgId;
      if (typeof orgId !== 'string' || !uuidPattern.test(orgId)) throw new AppError('NOT_FOUND');
      const membership = await withTenant(app.db, orgId, async (tx) => {
        const [member] = await tx
          .select({ role: memberships.role })
          .from(memberships)
          .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, user.id)));
        if (!member) return null;
        const teams = await tx
          .select({ teamId: teamMembers.teamId })
          .from(teamMembers)
          .where(and(eq(teamMembers.orgId, orgId), eq(teamMembers.userId, user.id)));
        return { role: member.role, teamIds: teams.map((t) => t.teamId) };
      });
      // Not a member: the org is indistinguishable from one that does not exist.
      if (!membership) throw new AppError('NOT_FOUND', 'The organization does not exist.');
      const ability = abilityFor({ kind: 'member', userId: user.id, orgId, ...membership });
      if (!allows(ability, access)) throw new AppError('FORBIDDEN');
      request.orgAccess = { orgId, role: membership.role, ability };
    });
  },
  { name: 'auth', dependencies: ['services', 'metrics', 'api-keys'] },
);

/** Adds the authentication and authorization hooks to an (encapsulated) route plugin. */
export function requireSignedIn(app: FastifyInstance): void {
  app.addHook('onRequest', app.authenticate);
  app.addHook('preHandler', app.authorizeOrg);
}

/** The verified API key; only for handlers whose route declares the access 'api-key'. */
export function currentApiKey(request: FastifyRequest): VerifiedKey {
  if (!request.apiKey) throw new AppError('UNAUTHENTICATED');
  return request.apiKey;
}

/** The caller's role in the route's org; only for handlers whose route declares an org action. */
export function orgAccess(request: FastifyRequest): OrgAccess {
  if (!request.orgAccess) throw new Error('orgAccess read on a route without an org action');
  return request.orgAccess;
}

/**
 * Property-level authorization of a body that updates an entity: every field it sets must be one
 * the policy lets the caller write on this very entity (403 naming the refused fields otherwise).
 */
export function authorizeFields<K extends keyof typeof writableFields>(
  request: FastifyRequest,
  type: K,
  entity: SubjectAttributes[K],
  body: object,
): void {
  const refused = refusedFields(orgAccess(request).ability, type, entity, Object.keys(body));
  if (refused.length > 0)
    throw new AppError('FORBIDDEN', 'You may not change these fields.', { fields: refused });
}
