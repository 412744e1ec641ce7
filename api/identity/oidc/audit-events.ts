// Audit entries for what the authorization server does: tokens issued at the token endpoint,
// tokens revoked at the revocation endpoint, and grants revoked (by revocation, or because a used
// refresh token was presented again). The org is the client's (its client_id carries it); the actor
// is the user for user grants, none for machine clients. Tokens themselves are never recorded.
import type { FastifyBaseLogger } from 'fastify';
import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import type { Db } from '../../../db/client.js';
import { withTenant } from '../../../db/tenant.js';
import { recordAudit } from '../../audit.js';
import { orgOfClientId } from '../oauth-clients/clients.js';

interface ProviderEvent {
  action: string;
  targetId: string | null;
  details: Record<string, unknown>;
}

export function auditProviderEvents(provider: Provider, db: Db, log: FastifyBaseLogger): void {
  const record = (ctx: KoaContextWithOIDC, event: ProviderEvent) => {
    const clientId = ctx.oidc.client?.clientId;
    const orgId = clientId ? orgOfClientId(clientId) : null;
    if (!clientId || !orgId) return;
    const accountId = ctx.oidc.entities.Account?.accountId ?? null;
    // The socket's address, as Fastify records it: the provider trusts X-Forwarded-For behind https.
    const ip = ctx.req.socket.remoteAddress ?? null;
    const entry = { orgId, targetType: 'oauth-client', ...event, details: { clientId, ...event.details } };
    withTenant(db, orgId, (tx) => recordAudit(tx, { userId: accountId, ip }, entry)).catch((err: unknown) =>
      log.error({ err, action: event.action }, 'audit entry for the authorization server failed'),
    );
  };

  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    const body = ctx.body as { scope?: string; refresh_token?: string } | undefined;
    record(ctx, {
      action: 'oauth.token.issue',
      targetId: ctx.oidc.client?.clientId ?? null,
      details: {
        grantType: ctx.oidc.params?.grant_type ?? null,
        scope: body?.scope ?? null,
        refreshToken: Boolean(body?.refresh_token),
      },
    });
  });

  provider.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => {
    const reason = ctx.oidc.route === 'token' ? 'refresh token reused' : ctx.oidc.route;
    record(ctx, {
      action: 'oauth.grant.revoke',
      targetId: ctx.oidc.client?.clientId ?? null,
      details: { grantId, reason },
    });
  });

  provider.use(async (koaCtx, next) => {
    await next();
    // Requests outside the provider's routes carry no oidc context.
    const ctx = koaCtx as KoaContextWithOIDC;
    if ((ctx.oidc as KoaContextWithOIDC['oidc'] | undefined)?.route !== 'revocation' || ctx.status !== 200)
      return;
    const { AccessToken, RefreshToken, ClientCredentials } = ctx.oidc.entities;
    const token = RefreshToken ?? AccessToken ?? ClientCredentials;
    if (!token) return;
    record(ctx, {
      action: 'oauth.token.revoke',
      targetId: ctx.oidc.client?.clientId ?? null,
      details: { tokenType: token.kind },
    });
  });

  provider.on('server_error', (_ctx: KoaContextWithOIDC, err: Error) =>
    log.error({ err }, 'authorization server error'),
  );
}
