// An org's identity provider as openid-client sees it: its discovery document is fetched when the
// connection is saved (and kept with it), and each sign-in builds the client from what was kept.
// Only https issuers are reached unless SSO_ALLOW_HTTP_ISSUERS is set (development and tests).
import * as oidc from 'openid-client';
import type { IssuerMetadata } from '../../../db/schema/index.js';
import { AppError } from '../../errors.js';

/** Seconds one request to an identity provider may take. */
const requestTimeoutSeconds = 10;

export interface IssuerSettings {
  allowHttp: boolean;
}

/** The callback URL every identity provider redirects back to (register it there). */
export function ssoRedirectUri(publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/api/sso/callback`;
}

function transport(settings: IssuerSettings): oidc.DiscoveryRequestOptions {
  return {
    execute: settings.allowHttp ? [oidc.allowInsecureRequests] : [],
    timeout: requestTimeoutSeconds,
  };
}

/** Fetches and checks the issuer's discovery document; a bad issuer is the caller's mistake (400). */
export async function discoverIssuer(issuer: string, settings: IssuerSettings): Promise<IssuerMetadata> {
  const url = new URL(issuer);
  if (url.protocol !== 'https:' && !(settings.allowHttp && url.protocol === 'http:'))
    throw new AppError('VALIDATION', 'The issuer must be an https:// URL.');
  let metadata: oidc.ServerMetadata;
  try {
    // The client id plays no part in discovery; the real one is set per sign-in.
    metadata = (
      await oidc.discovery(url, 'discovery', undefined, oidc.None(), transport(settings))
    ).serverMetadata();
  } catch {
    // One answer for every failure: the message must not map the network behind the API.
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
  if (settings.allowHttp) oidc.allowInsecureRequests(config);
  config.timeout = requestTimeoutSeconds;
  return config;
}
