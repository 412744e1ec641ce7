// The authorization server's security events (api/identity/security-events.ts): every refused token
// request (a wrong client secret, a spent or stolen code, an unknown refresh token), and a spent
// refresh token presented again, which revokes its whole grant as the platform's own refresh tokens
// revoke their sign-in. The address is the socket's, as for the provider's audit entries.
import type { FastifyBaseLogger } from 'fastify';
import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import type { EventSource, SecurityEvents } from '../security-events.js';

export function reportProviderSecurityEvents(
  provider: Provider,
  events: SecurityEvents,
  log: FastifyBaseLogger,
): void {
  const sourceOf = (ctx: KoaContextWithOIDC): EventSource => ({
    log,
    ip: ctx.req.socket.remoteAddress ?? null,
  });
  const param = (ctx: KoaContextWithOIDC, name: string) => {
    const value = ctx.oidc.params?.[name];
    return typeof value === 'string' ? value : null;
  };

  provider.on('grant.error', (ctx: KoaContextWithOIDC, err: { error?: unknown }) => {
    events.tokenRequestFailed(sourceOf(ctx), {
      error: typeof err.error === 'string' ? err.error : 'other',
      // Known once the client was found, even when its authentication then failed.
      clientId: ctx.oidc.client?.clientId ?? param(ctx, 'client_id'),
      grantType: param(ctx, 'grant_type'),
    });
  });

  provider.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => {
    // At the token endpoint a grant is revoked for one reason: its spent refresh token came back.
    if (ctx.oidc.route !== 'token') return;
    events.refreshTokenReused(sourceOf(ctx), {
      userId: ctx.oidc.entities.Account?.accountId ?? null,
      familyId: grantId,
      clientId: ctx.oidc.client?.clientId,
    });
  });
}
