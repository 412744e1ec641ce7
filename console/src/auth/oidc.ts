// Sign-in with the platform's own OpenID Connect server: authorization code with PKCE as a public
// client. Tokens live in memory only; what survives the redirect to the server and back is the PKCE
// verifier and the state, in sessionStorage (never a token).

export interface ConsoleConfig {
  issuer: string;
  clientId: string;
  redirectUri: string;
  postLogoutRedirectUri: string;
  scope: string;
  temporalUiUrl: string | null;
  temporalNamespace: string;
  grafanaUrl: string | null;
}

interface Endpoints {
  authorization_endpoint: string;
  token_endpoint: string;
  revocation_endpoint: string;
  end_session_endpoint: string;
}

export interface Tokens {
  accessToken: string;
  refreshToken: string | null;
  idToken: string | null;
  /** Epoch milliseconds. */
  expiresAt: number;
}

interface PendingSignIn {
  state: string;
  verifier: string;
  returnTo: string;
}

const pendingKey = 'vlinders.console.sign-in';

export class SignInError extends Error {}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

function randomString(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

async function challengeOf(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

export async function loadConfig(): Promise<ConsoleConfig> {
  const response = await fetch('/console/config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`The console's settings could not be loaded (HTTP ${response.status}).`);
  return (await response.json()) as ConsoleConfig;
}

let endpoints: Promise<Endpoints> | undefined;
function discover(config: ConsoleConfig): Promise<Endpoints> {
  endpoints ??= fetch(`${config.issuer}/.well-known/openid-configuration`).then(async (response) => {
    if (!response.ok) throw new Error(`The sign-in server did not answer (HTTP ${response.status}).`);
    return (await response.json()) as Endpoints;
  });
  return endpoints;
}

/** Leaves the page for the authorization server; it comes back to the callback route. */
export async function startSignIn(config: ConsoleConfig, returnTo: string): Promise<void> {
  const { authorization_endpoint } = await discover(config);
  const pending: PendingSignIn = { state: randomString(), verifier: randomString(), returnTo };
  sessionStorage.setItem(pendingKey, JSON.stringify(pending));
  const url = new URL(authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: config.clientId,
    redirect_uri: config.redirectUri,
    response_type: 'code',
    scope: config.scope,
    state: pending.state,
    code_challenge: await challengeOf(pending.verifier),
    code_challenge_method: 'S256',
  }).toString();
  window.location.assign(url.toString());
}

interface TokenAnswer {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  expires_in: number;
  error?: string;
  error_description?: string;
}

async function tokenRequest(config: ConsoleConfig, body: Record<string, string>): Promise<Tokens> {
  const { token_endpoint } = await discover(config);
  const response = await fetch(token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: config.clientId, ...body }),
  });
  const answer = (await response.json()) as TokenAnswer;
  if (!response.ok) throw new SignInError(answer.error_description ?? answer.error ?? 'The sign-in failed.');
  return {
    accessToken: answer.access_token,
    refreshToken: answer.refresh_token ?? null,
    idToken: answer.id_token ?? null,
    expiresAt: Date.now() + answer.expires_in * 1000,
  };
}

/** Finishes a sign-in on the callback URL: the code for tokens, with the verifier. */
export async function completeSignIn(
  config: ConsoleConfig,
  callbackUrl: URL,
): Promise<{ tokens: Tokens; returnTo: string }> {
  const stored = sessionStorage.getItem(pendingKey);
  sessionStorage.removeItem(pendingKey);
  const params = callbackUrl.searchParams;
  const error = params.get('error');
  if (error) throw new SignInError(params.get('error_description') ?? error);
  const pending = stored ? (JSON.parse(stored) as PendingSignIn) : null;
  if (!pending || params.get('state') !== pending.state)
    throw new SignInError('This sign-in was not started here, or it was already used. Sign in again.');
  const code = params.get('code');
  if (!code) throw new SignInError('The sign-in server sent no code. Sign in again.');
  const tokens = await tokenRequest(config, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: config.redirectUri,
    code_verifier: pending.verifier,
  });
  return { tokens, returnTo: pending.returnTo };
}

/** A new token pair for the refresh token, which the server rotates (the old one is spent). */
export function refreshTokens(config: ConsoleConfig, refreshToken: string): Promise<Tokens> {
  return tokenRequest(config, { grant_type: 'refresh_token', refresh_token: refreshToken });
}

/** Revokes the refresh token (and with it the grant), then ends the server's session. */
export async function signOut(config: ConsoleConfig, tokens: Tokens | null): Promise<void> {
  const { revocation_endpoint, end_session_endpoint } = await discover(config);
  if (tokens?.refreshToken) {
    await fetch(revocation_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: config.clientId,
        token: tokens.refreshToken,
        token_type_hint: 'refresh_token',
      }),
    });
  }
  const url = new URL(end_session_endpoint);
  url.search = new URLSearchParams({
    client_id: config.clientId,
    post_logout_redirect_uri: config.postLogoutRedirectUri,
    ...(tokens?.idToken ? { id_token_hint: tokens.idToken } : {}),
  }).toString();
  window.location.assign(url.toString());
}
