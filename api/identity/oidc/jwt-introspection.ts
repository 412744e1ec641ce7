// Introspection of the server's own JWT access tokens. oidc-provider answers every structured token
// at its introspection endpoint with `unsupported_token_type` (it stores no JWT access tokens to
// look up). This middleware lets the provider authenticate the client and apply its budget first,
// and only then, in place of that error, answers RFC 7662 from the API's own verifier: active while
// the token verifies, is live (grant or machine client) and belongs to the asking client.
import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import type { OidcAccessTokens } from './access-tokens.js';

export function introspectJwtAccessTokens(provider: Provider, tokens: () => OidcAccessTokens): void {
  provider.use(async (ctx, next) => {
    await next();
    // Set once the request reached one of the provider's routes.
    const oidc = (ctx as Partial<KoaContextWithOIDC>).oidc;
    if (oidc?.route !== 'introspection' || !oidc.client) return;
    const refused = ctx.body as { error?: unknown } | undefined;
    if (ctx.status !== 400 || refused?.error !== 'unsupported_token_type') return;
    const token: unknown = oidc.params?.token;
    if (typeof token !== 'string') return;
    ctx.status = 200;
    ctx.body = await tokens().introspect(token, oidc.client.clientId);
  });
}
