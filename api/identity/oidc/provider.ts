// The oidc-provider configuration: Vlinders as its own OAuth 2.0 / OpenID Connect server.
//
// - Issuer `${PUBLIC_URL}/oidc`; interactions (login, consent) are our own pages under it.
// - Authorization code with PKCE, required for every client, S256 only (oidc-provider 9 knows no
//   `plain`); client credentials for machine clients; no implicit or hybrid flows.
// - Refresh tokens rotate on every use; presenting a used one revokes the whole grant (oidc-provider
//   does that when rotation is on), so a stolen-and-replayed token kills the family.
// - Access tokens are RS256 JWTs for one resource, the Vlinders API: aud `${PUBLIC_URL}/api`. The
//   audience is the API's resource indicator (RFC 8707 wants an absolute URI, RFC 9068 puts it in
//   `aud`), and it differs from the platform's own tokens (`vlinders-api`), so each verifier accepts
//   exactly the tokens meant for it even though both issuers sign with the same keys.
// - Cookies are signed with a key derived from the master key (HKDF), httpOnly, SameSite=Lax, and
//   Secure whenever PUBLIC_URL is https.
// - Clients are the orgs' (oauth_clients, through the adapter) plus one static, platform-level
//   client: the admin console (console-client.ts), public, first-party, same-origin.
import { hkdfSync } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { JWK } from 'jose';
import { errors, Provider, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { apiKeyScopes } from '../../../core/rbac.js';
import type { Db } from '../../../db/client.js';
import { users } from '../../../db/schema/index.js';
import type { Config } from '../../../runtime/config.js';
import type { MasterKey } from '../../../runtime/envelope.js';
import { postgresAdapter } from './adapter.js';
import { consoleClient, consoleClientId, consoleOrigin, firstPartyGrant } from './console-client.js';
import { openIdScopes } from '../oauth-clients/clients.js';

export const mountPath = '/oidc';

export function oidcIssuer(config: Pick<Config, 'PUBLIC_URL'>): string {
  return `${config.PUBLIC_URL.replace(/\/+$/, '')}${mountPath}`;
}

/** The resource indicator (and access-token audience) of the Vlinders API. */
export function apiResource(config: Pick<Config, 'PUBLIC_URL'>): string {
  return `${config.PUBLIC_URL.replace(/\/+$/, '')}/api`;
}

export function interactionPath(uid: string): string {
  return `${mountPath}/interaction/${uid}`;
}

/** A cookie-signing key: HKDF-SHA-256 of a master key, bound to this one purpose. */
function cookieKey(masterKey: Buffer): string {
  return Buffer.from(hkdfSync('sha256', masterKey, 'vlinders', 'oidc-cookies/v1', 32)).toString('base64url');
}

/** The current master key's cookie key signs; the previous keys' still verify during a rotation. */
function cookieKeys(master: MasterKey): string[] {
  return [master.key, ...(master.previous?.values() ?? [])].map(cookieKey);
}

export interface ProviderOptions {
  config: Config;
  db: Db;
  master: MasterKey;
  /** Private signing JWKs, the one that signs first. */
  jwks: JWK[];
}

export function buildProvider({ config, db, master, jwks }: ProviderOptions): Provider {
  const resource = apiResource(config);
  const secure = new URL(config.PUBLIC_URL).protocol === 'https:';
  const cookie = { secure, httpOnly: true, sameSite: 'lax' as const };

  const configuration: Configuration = {
    adapter: postgresAdapter(db, master),
    jwks: { keys: jwks },
    clients: [consoleClient(config)],
    scopes: [...openIdScopes, ...apiKeyScopes],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // The ID token carries the claims the client was granted: there is no userinfo endpoint, every
    // access token is for the API.
    conformIdTokenClaims: false,
    async findAccount(_ctx, sub) {
      const [user] = await db
        .select({
          id: users.id,
          email: users.email,
          name: users.displayName,
          emailVerifiedAt: users.emailVerifiedAt,
        })
        .from(users)
        .where(eq(users.id, sub));
      if (!user) return undefined;
      return {
        accountId: user.id,
        // Verified once the user used a link mailed to the address (sign-up's, or a reset's).
        claims: () => ({
          sub: user.id,
          email: user.email,
          email_verified: user.emailVerifiedAt !== null,
          name: user.name,
        }),
      };
    },
    cookies: { keys: cookieKeys(master), long: cookie, short: cookie },
    interactions: { url: (_ctx, interaction) => interactionPath(interaction.uid) },
    pkce: { required: () => true },
    rotateRefreshToken: true,
    // The console alone gets a refresh token without asking for offline_access: a token bound to the
    // browser's session (it expires with it, oidc-provider's default without offline_access), so the
    // single-page app stays signed in across access-token lifetimes and signing out ends it.
    issueRefreshToken: (_ctx, client, code) =>
      client.grantTypeAllowed('refresh_token') &&
      (code.scopes.has('offline_access') || client.clientId === consoleClientId),
    // The console is first-party: its grant is made without a consent page. Every other client's
    // grant is the one the user consented to (oidc-provider's default lookup).
    loadExistingGrant: async (ctx) => {
      const clientId = ctx.oidc.client?.clientId;
      if (clientId === consoleClientId) return firstPartyGrant(ctx, resource);
      const grantId =
        ctx.oidc.result?.consent?.grantId ?? (clientId && ctx.oidc.session?.grantIdFor(clientId));
      return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
    },
    // A browser's fetch to the token endpoints carries Origin, even same-origin. Only the console, on
    // the platform's own origin, calls them from a browser; every other client is a server.
    clientBasedCORS: (_ctx, origin, client) =>
      client.clientId === consoleClientId && origin === consoleOrigin(config),
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: false },
      clientCredentials: { enabled: true },
      // Only the client that holds a token may introspect it: clients of other orgs learn nothing.
      introspection: {
        enabled: true,
        allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId,
      },
      revocation: { enabled: true },
      // /oidc/session/end: the console signs out there (id_token_hint, post_logout_redirect_uri).
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          if (indicator !== resource) throw new errors.InvalidTarget();
          return {
            scope: apiKeyScopes.join(' '),
            audience: resource,
            accessTokenTTL: config.ACCESS_TOKEN_TTL_SECONDS,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    // The grant id travels in user access tokens so the API can refuse them once the grant is
    // revoked (refresh-token reuse, revocation, a revoked client): JWTs are otherwise unrevocable.
    extraTokenClaims: (_ctx, token) =>
      'grantId' in token && typeof token.grantId === 'string' ? { grant: token.grantId } : undefined,
    enabledJWA: { idTokenSigningAlgValues: ['RS256'], authorizationSigningAlgValues: ['RS256'] },
    responseTypes: ['code'],
    ttl: {
      AccessToken: config.ACCESS_TOKEN_TTL_SECONDS,
      ClientCredentials: config.ACCESS_TOKEN_TTL_SECONDS,
      RefreshToken: config.REFRESH_TOKEN_TTL_SECONDS,
      Grant: config.REFRESH_TOKEN_TTL_SECONDS,
      Session: config.REFRESH_TOKEN_TTL_SECONDS,
      AuthorizationCode: 60,
      // Every signed token lives at most ACCESS_TOKEN_TTL_SECONDS: signing-key retirement counts on it.
      IdToken: config.ACCESS_TOKEN_TTL_SECONDS,
      Interaction: 600,
    },
    renderError: (ctx: KoaContextWithOIDC, out) => {
      ctx.type = 'html';
      ctx.body = errorPage(out.error, out.error_description);
    },
  };

  const provider = new Provider(oidcIssuer(config), configuration);
  // Behind a TLS-terminating ingress the provider must trust X-Forwarded-Proto to set Secure cookies.
  provider.proxy = secure;
  return provider;
}

const htmlEscapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => htmlEscapes[c] ?? c);
}

export function page(title: string, body: string, head = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">${head}<title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

/**
 * The provider's own pages (sign-out) as strictly as our interaction pages: no script, no style, and
 * forms that post only to the provider (and redirect only to where the client is, if elsewhere).
 */
function setPageHeaders(ctx: KoaContextWithOIDC) {
  const redirect = ctx.oidc.params?.post_logout_redirect_uri;
  const clientOrigin = typeof redirect === 'string' ? URL.parse(redirect)?.origin : undefined;
  ctx.set(
    'content-security-policy',
    `default-src 'none'; form-action 'self'${clientOrigin ? ` ${clientOrigin}` : ''}; frame-ancestors 'none'`,
  );
  ctx.type = 'html';
}

/** Asks before ending the session, so a cross-site link cannot sign the user out. */
async function logoutSource(ctx: KoaContextWithOIDC, form: string) {
  setPageHeaders(ctx);
  ctx.body = page(
    'Sign out of Vlinders?',
    `${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>`,
  );
}

async function postLogoutSuccessSource(ctx: KoaContextWithOIDC) {
  setPageHeaders(ctx);
  ctx.body = page('Signed out', '<p>You are signed out of Vlinders.</p>');
}

function errorPage(error: string, description?: string): string {
  return page(
    'Sign-in failed',
    `<p><strong>${escapeHtml(error)}</strong></p><p>${escapeHtml(description ?? '')}</p>`,
  );
}
