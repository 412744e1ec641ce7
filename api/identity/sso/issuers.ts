// An org's identity provider as openid-client sees it: its discovery document is fetched when the
// connection is saved (and kept with it), and each sign-in builds the client from what was kept.
// Every request to the issuer (discovery, token, userinfo) goes through the egress guard
// (runtime/egress.ts): public https addresses only, unless the operator allows more.
import * as oidc from 'openid-client';
import type { IssuerMetadata } from '../../../db/schema/index.js';
import { egressErrorOf, type EgressGuard } from '../../../runtime/egress.js';
import { AppError } from '../../errors.js';

/** Seconds one request to an identity provider may take. */
const requestTimeoutSeconds = 10;

export interface IssuerSettings {
  egress: EgressGuard;
}

/** The callback URL every identity provider redirects back to (register it there). */
export function ssoRedirectUri(publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/api/sso/callback`;
}

function transport(settings: IssuerSettings): oidc.DiscoveryRequestOptions {
  return {
    // The guard decides about http (EGRESS_ALLOW_HTTP); openid-client's own check would only repeat it.
    execute: settings.egress.allowsHttp ? [oidc.allowInsecureRequests] : [],
    timeout: requestTimeoutSeconds,
    [oidc.customFetch]: settings.egress.fetch,
  };
}

/** The answer when the guard refuses an issuer: the same whether the name is private or unknown. */
const refusedIssuer = () =>
  new AppError(
    'VALIDATION',
    'The issuer URL is refused: it must be an https URL of a public host that resolves (private, loopback, link-local, unique-local and metadata addresses, and redirects or answers that lead there, are refused unless the operator allows them).',
  );

/** Fetches and checks the issuer's discovery document; a bad issuer is the caller's mistake (400). */
export async function discoverIssuer(issuer: string, settings: IssuerSettings): Promise<IssuerMetadata> {
  const url = new URL(issuer);
  let metadata: oidc.ServerMetadata;
  try {
    // The client id plays no part in discovery; the real one is set per sign-in.
    metadata = (
      await oidc.discovery(url, 'discovery', undefined, oidc.None(), transport(settings))
    ).serverMetadata();
  } catch (err) {
    // openid-client refuses http itself too (when EGRESS_ALLOW_HTTP is off): the same answer.
    const httpRefused = err instanceof oidc.ClientError && err.code === 'OAUTH_HTTP_REQUEST_FORBIDDEN';
    if (egressErrorOf(err)?.refused || httpRefused) throw refusedIssuer();
    // One answer for every other failure: the message must not map the network behind the API.
    throw new AppError(
      'VALIDATION',
      'The issuer has no usable OpenID configuration at /.well-known/openid-configuration.',
    );
  }
  if (!metadata.authorization_endpoint || !metadata.token_endpoint || !metadata.jwks_uri)
    throw new AppError(
      'VALIDATION',
      "The issuer's OpenID configuration lacks an authorization, token or JWKS endpoint.",
    );
  return { ...metadata, issuer: metadata.issuer };
}

/** An openid-client configuration for one connection, from its kept discovery document. */
export function issuerClient(
  metadata: IssuerMetadata,
  clientId: string,
  clientSecret: string,
  settings: IssuerSettings,
): oidc.Configuration {
  const config = new oidc.Configuration(
    metadata as oidc.ServerMetadata,
    clientId,
    undefined,
    oidc.ClientSecretBasic(clientSecret),
  );
  if (settings.egress.allowsHttp) oidc.allowInsecureRequests(config);
  config.timeout = requestTimeoutSeconds;
  config[oidc.customFetch] = settings.egress.fetch;
  return config;
}
