// The admin console (served under /console) as a client of the built-in authorization server: one
// platform-level client, declared in the provider's configuration rather than stored per org. It is
// a public client (a single-page app keeps no secret), so it proves possession with PKCE (required
// for every client) and its tokens are bound to the browser's session. It is first-party: signing in
// grants it the user's management rights without a consent page, which is why its scopes are fixed
// here and not chosen by the request.
import type { ClientMetadata, KoaContextWithOIDC } from 'oidc-provider';
import type { Config } from '../../../runtime/config.js';

/** Not of the per-org form (vlc_<org hex>_<random>), so it names no org and none can shadow it. */
export const consoleClientId = 'vlinders-console';

/** The API resource's scope that management calls need (access-tokens.ts). */
const apiScope = 'admin';
export const consoleScope = `openid email profile ${apiScope}`;

function consoleUrl(config: Pick<Config, 'PUBLIC_URL'>): string {
  return `${config.PUBLIC_URL.replace(/\/+$/, '')}/console`;
}

export function consoleRedirectUri(config: Pick<Config, 'PUBLIC_URL'>): string {
  return `${consoleUrl(config)}/callback`;
}

export function consolePostLogoutRedirectUri(config: Pick<Config, 'PUBLIC_URL'>): string {
  return `${consoleUrl(config)}/`;
}

/** The browser origin the console's fetches to the token endpoints come from. */
export function consoleOrigin(config: Pick<Config, 'PUBLIC_URL'>): string {
  return new URL(config.PUBLIC_URL).origin;
}

export function consoleClient(config: Pick<Config, 'PUBLIC_URL'>): ClientMetadata {
  return {
    client_id: consoleClientId,
    client_name: 'Vlinders console',
    application_type: 'web',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [consoleRedirectUri(config)],
    post_logout_redirect_uris: [consolePostLogoutRedirectUri(config)],
    scope: consoleScope,
  };
}

/**
 * The console's grant, made without asking: the session's existing one when it still lives (it is
 * gone after a revocation or a refresh-token reuse), a new one otherwise, holding the console's
 * scopes. The provider then finds nothing missing and skips the consent prompt.
 */
export async function firstPartyGrant(ctx: KoaContextWithOIDC, apiResource: string) {
  const { provider, session, client, result } = ctx.oidc;
  const accountId = session?.accountId;
  if (!client || !accountId) return undefined;
  const grantId = result?.consent?.grantId ?? session.grantIdFor(client.clientId);
  const grant =
    (grantId ? await provider.Grant.find(grantId) : undefined) ??
    new provider.Grant({ accountId, clientId: client.clientId });
  // What the consent page would have granted: the provider counts every configured scope (the API's
  // too) as an OpenID scope, and the API's scope again for its resource.
  grant.addOIDCScope(consoleScope);
  grant.addResourceScope(apiResource, apiScope);
  await grant.save();
  return grant;
}
