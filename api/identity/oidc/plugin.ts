// The built-in OAuth 2.0 / OpenID Connect server as an app-wide service: the provider's host (built
// from the database's clients and keys) as `oidcHost`, for the identity system's /oidc routes
// (index.ts), and the verifier of its access tokens as `oidcTokens`, for the auth hooks
// (api/identity/auth.ts) that every system authenticates with.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { masterKeyFromConfig } from '../../../runtime/envelope.js';
import { preparePasswordVerification } from '../accounts/passwords.js';
import { maxCacheTtlMs } from '../api-keys/verifier.js';
import { OidcAccessTokens } from './access-tokens.js';
import { deleteExpiredPayloads } from './adapter.js';
import { auditProviderEvents } from './audit-events.js';
import { reportProviderSecurityEvents } from './security-events.js';
import { OidcHost } from './host.js';
import { introspectJwtAccessTokens } from './jwt-introspection.js';
import { apiResource, oidcIssuer } from './provider.js';

declare module 'fastify' {
  interface FastifyInstance {
    oidcHost: OidcHost;
    oidcTokens: OidcAccessTokens;
  }
}

/** Expired provider rows are never answered; this sweep only keeps the table small. */
const sweepIntervalMs = 10 * 60_000;

export default fp(
  async function oidc(app: FastifyInstance) {
    const { config, db } = app;
    const host = new OidcHost({
      config,
      db,
      master: masterKeyFromConfig(config),
      onBuild: (provider) => {
        auditProviderEvents(provider, db, app.log);
        reportProviderSecurityEvents(provider, app.securityEvents, app.log);
        // The verifier below exists before any request reaches the provider.
        introspectJwtAccessTokens(provider, () => tokens);
      },
    });
    await host.refresh();
    await preparePasswordVerification();
    app.decorate('oidcHost', host);
    const tokens = new OidcAccessTokens(
      host,
      db,
      oidcIssuer(config),
      apiResource(config),
      // The API keys' cache: the same TTL and the same stale-serve bound through an outage.
      { cacheTtlMs: maxCacheTtlMs, staleServeMs: config.API_KEY_STALE_SERVE_SECONDS * 1000 },
    );
    // A client revoked on any replica is forgotten here too (the api-keys invalidation channel).
    app.apiKeyVerifier.onInvalidation((id) => tokens.forget(id));
    app.decorate('oidcTokens', tokens);

    const sweep = setInterval(() => {
      deleteExpiredPayloads(db).catch((err: unknown) => app.log.warn({ err }, 'oidc payload sweep failed'));
    }, sweepIntervalMs);
    sweep.unref();
    app.addHook('onClose', async () => clearInterval(sweep));
  },
  { name: 'oidc', dependencies: ['services', 'api-keys', 'auth'] },
);
