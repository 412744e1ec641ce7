// Sign-in through an org's identity provider: authorization code with PKCE (S256), state and nonce
// (openid-client). The state, nonce and code verifier are kept server-side in a one-time row found
// by the state's hash, and the state is also set as a cookie in the browser that started the
// sign-in, so a callback replayed, forged or finished in another browser is refused. A sign-in
// started from the authorization server's login page keeps that interaction's uid in the same row,
// and ends with a ticket back to it (interaction-tickets.ts) instead of the platform's tokens.
import { timingSafeEqual } from 'node:crypto';
import { and, eq, lt, sql } from 'drizzle-orm';
import * as oidc from 'openid-client';
import type { Db } from '../../../db/client.js';
import { organizations, ssoConnections, ssoLogins } from '../../../db/schema/index.js';
import { withTenant } from '../../../db/tenant.js';
import { egressErrorOf } from '../../../runtime/egress.js';
import { unwrap, wrap } from '../../../runtime/envelope.js';
import { AppError } from '../../errors.js';
import { recordAudit } from '../../audit.js';
import { issueRefreshToken } from '../accounts/refresh-tokens.js';
import { hashSecret } from '../opaque-secrets.js';
import { clientSecretOf, type SsoConnectionRow, type SsoSettings } from './connections.js';
import { createInteractionTicket } from './interaction-tickets.js';
import { issuerClient, ssoRedirectUri } from './issuers.js';
import { provisionSsoUser, type SsoSignedIn } from './provisioning.js';

/** How long a started sign-in may take to come back. */
const loginTtlMs = 10 * 60 * 1000;

export const ssoStateCookie = 'vl_sso_state';

/** The state cookie: sent back only to the callback, never readable by scripts. */
export function ssoStateCookieHeader(value: string, maxAgeSeconds = loginTtlMs / 1000): string {
  return `${ssoStateCookie}=${value}; Path=/api/sso/callback; Max-Age=${maxAgeSeconds}; HttpOnly; Secure; SameSite=Lax`;
}

function verifierContext(stateHash: string): string {
  return `sso-login:${stateHash}`;
}

function clientFor(connection: SsoConnectionRow, settings: SsoSettings): oidc.Configuration {
  return issuerClient(
    connection.metadata,
    connection.clientId,
    clientSecretOf(connection, settings.master),
    settings,
  );
}

/** Scopes to ask for: the standard ones, plus the mapping's claim when the issuer offers it as a scope. */
function scopesFor(connection: SsoConnectionRow): string {
  const offered = connection.metadata.scopes_supported;
  const claim = connection.roleMapping.claim;
  const extra = Array.isArray(offered) && offered.includes(claim) ? [claim] : [];
  return ['openid', 'email', 'profile', ...extra].join(' ');
}

/**
 * The org a person named by its slug on the login page, read before any tenant is known (the
 * organizations_lookup_by_slug policy shows that one row).
 */
export async function orgIdBySlug(db: Db, slug: string): Promise<string | undefined> {
  const [org] = await db.transaction(async (tx) => {
    await tx.execute(sql`SELECT set_config('app.org_slug', ${slug}, true)`);
    return tx.select({ id: organizations.id }).from(organizations).where(eq(organizations.slug, slug));
  });
  return org?.id;
}

/**
 * Records a new sign-in and answers the identity provider's authorization URL and the state. A sign-in
 * started from an authorization server interaction names its uid, kept server-side with the state.
 */
export async function startSsoLogin(
  db: Db,
  settings: SsoSettings,
  orgId: string,
  interactionUid?: string,
): Promise<{ url: string; state: string }> {
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const stateHash = hashSecret(state);
  const connection = await withTenant(db, orgId, async (tx) => {
    const [row] = await tx.select().from(ssoConnections).where(eq(ssoConnections.orgId, orgId));
    if (!row) throw new AppError('NOT_FOUND', 'The organization has no single sign-on connection.');
    // Sign-ins that were never finished are swept here, in the org's own scope.
    await tx.delete(ssoLogins).where(and(eq(ssoLogins.orgId, orgId), lt(ssoLogins.expiresAt, new Date())));
    await tx.insert(ssoLogins).values({
      orgId,
      connectionId: row.id,
      stateHash,
      nonce,
      codeVerifierWrapped: wrap(settings.master, Buffer.from(codeVerifier), verifierContext(stateHash)),
      expiresAt: new Date(Date.now() + loginTtlMs),
      interactionUid,
    });
    return row;
  });
  const url = oidc.buildAuthorizationUrl(clientFor(connection, settings), {
    redirect_uri: ssoRedirectUri(settings.publicUrl),
    scope: scopesFor(connection),
    state,
    nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  });
  return { url: url.href, state };
}

function sameState(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const unknownState = () =>
  new AppError('VALIDATION', 'The sign-in request is unknown, expired or already used; start again.');

/** Takes the sign-in named by the state out of the table: a second callback finds nothing. */
async function consumeLogin(db: Db, state: string): Promise<typeof ssoLogins.$inferSelect> {
  const stateHash = hashSecret(state);
  const login = await db.transaction(async (tx) => {
    await tx.execute(sql`SELECT set_config('app.sso_state_hash', ${stateHash}, true)`);
    const [found] = await tx
      .select({ orgId: ssoLogins.orgId })
      .from(ssoLogins)
      .where(eq(ssoLogins.stateHash, stateHash));
    if (!found) return undefined;
    await tx.execute(sql`SELECT set_config('app.org_id', ${found.orgId}, true)`);
    const [deleted] = await tx.delete(ssoLogins).where(eq(ssoLogins.stateHash, stateHash)).returning();
    return deleted;
  });
  if (!login || login.expiresAt.getTime() <= Date.now()) throw unknownState();
  return login;
}

/**
 * Maps openid-client's failures: the identity provider said no or answered something invalid (401),
 * or could not be reached (503). Anything else is a bug and is rethrown.
 */
function idpFailure(err: unknown): AppError {
  const egress = egressErrorOf(err);
  if (egress?.refused)
    return new AppError(
      'UNAUTHENTICATED',
      "The identity provider's endpoint is refused by the egress policy.",
    );
  if (egress) return new AppError('UNAVAILABLE', 'The identity provider cannot be reached; try again.');
  if (err instanceof oidc.AuthorizationResponseError)
    return new AppError('UNAUTHENTICATED', `The identity provider refused the sign-in: ${err.error}.`);
  if (err instanceof oidc.ResponseBodyError)
    return new AppError('UNAUTHENTICATED', `The identity provider refused the code: ${err.error}.`);
  const unreachable =
    (err instanceof TypeError && err.message === 'fetch failed') ||
    (err instanceof oidc.ClientError && (err.code === 'OAUTH_TIMEOUT' || err.code === 'OAUTH_ABORT'));
  if (unreachable) return new AppError('UNAVAILABLE', 'The identity provider cannot be reached; try again.');
  if (err instanceof oidc.ClientError)
    return new AppError('UNAUTHENTICATED', "The identity provider's answer failed validation.");
  throw err;
}

export interface SsoCallback {
  /** The callback's query string, as the identity provider sent it (with the leading `?`). */
  search: string;
  state: string;
  /** The state cookie set by the login redirect, if the browser sent it back. */
  cookieState: string | undefined;
  ip: string | null;
}

/**
 * A finished sign-in: with a platform refresh token as its credential, or, when it was started from an
 * authorization server interaction, with a ticket back to that interaction (and no refresh token).
 */
export type SsoFinished = SsoSignedIn & { interactionUid: string | null };

/** Finishes a sign-in: exchanges the code, checks the identity, provisions it and answers a credential. */
export async function finishSsoLogin(
  db: Db,
  settings: SsoSettings & { refreshTtlSeconds: number },
  callback: SsoCallback,
): Promise<SsoFinished> {
  if (!callback.cookieState || !sameState(callback.cookieState, callback.state))
    throw new AppError('VALIDATION', 'The sign-in was not started in this browser; start again.');
  const login = await consumeLogin(db, callback.state);
  const connection = await withTenant(db, login.orgId, async (tx) => {
    const [row] = await tx.select().from(ssoConnections).where(eq(ssoConnections.id, login.connectionId));
    return row;
  });
  if (!connection) throw unknownState();
  const client = clientFor(connection, settings);
  const currentUrl = new URL(ssoRedirectUri(settings.publicUrl));
  currentUrl.search = callback.search;
  let claims: Record<string, unknown>;
  try {
    const tokens = await oidc.authorizationCodeGrant(client, currentUrl, {
      pkceCodeVerifier: unwrap(
        settings.master,
        login.codeVerifierWrapped,
        verifierContext(login.stateHash),
      ).toString(),
      expectedState: callback.state,
      expectedNonce: login.nonce,
      idTokenExpected: true,
    });
    const idClaims = tokens.claims();
    if (!idClaims) throw new AppError('UNAUTHENTICATED', 'The identity provider sent no ID token.');
    // The userinfo endpoint may hold claims the ID token leaves out (email, groups), per IdP settings.
    const userinfo = connection.metadata.userinfo_endpoint
      ? await oidc.fetchUserInfo(client, tokens.access_token, idClaims.sub)
      : {};
    claims = { ...userinfo, ...idClaims };
  } catch (err) {
    if (err instanceof AppError) throw err;
    const failure = idpFailure(err);
    await withTenant(db, login.orgId, (tx) =>
      recordAudit(
        tx,
        { userId: null, ip: callback.ip },
        {
          orgId: login.orgId,
          action: 'auth.sso_login_failed',
          targetType: 'sso_connection',
          targetId: connection.id,
          details: { reason: failure.message },
        },
      ),
    );
    throw failure;
  }
  const { interactionUid } = login;
  const signedIn = await provisionSsoUser(db, connection, claims, {
    ip: callback.ip,
    issue: (tx, userId) =>
      interactionUid === null
        ? issueRefreshToken(tx, userId, settings.refreshTtlSeconds)
        : createInteractionTicket(tx, { orgId: login.orgId, interactionUid, userId }),
  });
  return { ...signedIn, interactionUid };
}
