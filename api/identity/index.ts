// Identity: sign-up and login, refresh tokens, API keys, the OAuth 2.0 / OIDC server (/oidc), SSO
// with external identity providers, and the signing keys with their JWKS. Its routes keep the URLs
// clients know (/api/auth, /api/me, /api/orgs/:orgId/{api-keys,oauth-clients,sso}, /api/sso,
// /api/admin/signing-keys, /oidc, /.well-known/jwks.json). The hooks other systems authenticate
// with (auth.ts), the API-key verifier (api-keys/plugin.ts) and the OIDC provider with its token
// verifier (oidc/plugin.ts) are app-wide services, registered by app.ts.
import type { FastifyInstance } from 'fastify';
import accountRoutes from './accounts/routes.js';
import apiKeyRoutes from './api-keys/routes.js';
import oauthClientRoutes from './oauth-clients/routes.js';
import oidcRoutes from './oidc/routes.js';
import jwksRoutes from './signing-keys/jwks-routes.js';
import rotateRoutes from './signing-keys/rotate-routes.js';
import ssoLoginRoutes from './sso/login-routes.js';
import ssoRoutes from './sso/routes.js';

export default async function identity(app: FastifyInstance) {
  await app.register(accountRoutes);
  await app.register(jwksRoutes);
  await app.register(rotateRoutes);
  await app.register(apiKeyRoutes);
  await app.register(oauthClientRoutes);
  await app.register(ssoRoutes);
  await app.register(ssoLoginRoutes);
  await app.register(oidcRoutes);
}
