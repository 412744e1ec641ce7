// OAuth clients of the built-in authorization server, registered by an org's managers: created (the
// secret is shown once and stored wrapped by the master key), listed and shown (never the secret),
// revoked. The client_id carries its org (vlc_<org uuid hex>_<random>), so oidc-provider's lookup
// by client_id can enter that org's RLS scope; a revoked client is never found.
import { randomBytes } from 'node:crypto';
import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import type { AdapterPayload } from 'oidc-provider';
import type { ApiKeyScope } from '../../../core/rbac.js';
import type { Db, Tx } from '../../../db/client.js';
import { oauthClients, oidcPayloads, type OAuthGrantType } from '../../../db/schema/index.js';
import { withTenant } from '../../../db/tenant.js';
import { unwrap, wrap, type MasterKey } from '../../../runtime/envelope.js';
import { AppError } from '../../errors.js';
import { recordAudit, type UserActor } from '../../audit.js';

/** The OpenID scopes a client of the authorization-code flow may ask for besides its API scopes. */
export const openIdScopes = ['openid', 'offline_access', 'email', 'profile'] as const;

export const clientIdPattern = '^vlc_[0-9a-f]{32}_[0-9a-f]{24}$';

export interface OAuthClientView {
  id: string;
  clientId: string;
  name: string;
  grantTypes: OAuthGrantType[];
  redirectUris: string[];
  scopes: ApiKeyScope[];
  createdBy: string;
  revokedAt: string | null;
  createdAt: string;
}

export interface CreateOAuthClientInput {
  name: string;
  grantTypes: ('authorization_code' | 'client_credentials')[];
  redirectUris?: string[] | undefined;
  scopes: ApiKeyScope[];
}

/** The org a client_id names, or null when it is not one of ours. */
export function orgOfClientId(clientId: string): string | null {
  const hex = new RegExp(clientIdPattern).test(clientId) ? clientId.slice(4, 36) : null;
  if (!hex) return null;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function newClientId(orgId: string): string {
  return `vlc_${orgId.replaceAll('-', '').toLowerCase()}_${randomBytes(12).toString('hex')}`;
}

const loopbackHosts = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** Redirect URIs must be https, or http on a loopback address (native apps, RFC 8252); no fragment. */
function checkRedirectUri(uri: string): void {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new AppError('VALIDATION', `redirect URI ${uri} is not a URL.`, { field: 'redirectUris' });
  }
  const allowed = url.protocol === 'https:' || (url.protocol === 'http:' && loopbackHosts.has(url.hostname));
  if (!allowed || url.hash || url.username || url.password) {
    throw new AppError(
      'VALIDATION',
      'redirect URIs must be https (or http on a loopback address) without fragment or credentials.',
      { field: 'redirectUris' },
    );
  }
}

const viewColumns = {
  id: oauthClients.id,
  clientId: oauthClients.clientId,
  name: oauthClients.name,
  grantTypes: oauthClients.grantTypes,
  redirectUris: oauthClients.redirectUris,
  scopes: oauthClients.scopes,
  createdBy: oauthClients.createdBy,
  revokedAt: oauthClients.revokedAt,
  createdAt: oauthClients.createdAt,
};
type ViewRow = Omit<OAuthClientView, 'revokedAt' | 'createdAt'> & { revokedAt: Date | null; createdAt: Date };

function toView(row: ViewRow): OAuthClientView {
  return { ...row, revokedAt: row.revokedAt?.toISOString() ?? null, createdAt: row.createdAt.toISOString() };
}

const notFound = () => new AppError('NOT_FOUND', 'The OAuth client does not exist.');

async function findClient(tx: Tx, orgId: string, clientId: string): Promise<ViewRow> {
  const [row] = await tx
    .select(viewColumns)
    .from(oauthClients)
    .where(and(eq(oauthClients.orgId, orgId), eq(oauthClients.clientId, clientId)));
  if (!row) throw notFound();
  return row;
}

export async function createOAuthClient(
  db: Db,
  master: MasterKey,
  actor: UserActor,
  orgId: string,
  input: CreateOAuthClientInput,
): Promise<OAuthClientView & { clientSecret: string }> {
  const codeFlow = input.grantTypes.includes('authorization_code');
  const redirectUris = input.redirectUris ?? [];
  if (codeFlow && redirectUris.length === 0) {
    throw new AppError('VALIDATION', 'An authorization_code client needs redirectUris.', {
      field: 'redirectUris',
    });
  }
  if (!codeFlow && redirectUris.length > 0) {
    throw new AppError('VALIDATION', 'Only authorization_code clients take redirectUris.', {
      field: 'redirectUris',
    });
  }
  redirectUris.forEach(checkRedirectUri);
  // Refresh tokens come with the code flow; client credentials never get one.
  const grantTypes: OAuthGrantType[] = codeFlow ? [...input.grantTypes, 'refresh_token'] : input.grantTypes;
  const clientId = newClientId(orgId);
  const clientSecret = randomBytes(32).toString('base64url');
  const view = await withTenant(db, orgId, async (tx) => {
    await tx.insert(oauthClients).values({
      orgId,
      clientId,
      name: input.name.trim(),
      wrappedSecret: wrap(master, Buffer.from(clientSecret), clientId),
      grantTypes,
      redirectUris,
      scopes: input.scopes,
      createdBy: actor.userId,
    });
    const row = await findClient(tx, orgId, clientId);
    await recordAudit(tx, actor, {
      orgId,
      action: 'oauth-client.create',
      targetType: 'oauth-client',
      targetId: clientId,
      details: { name: row.name, grantTypes, redirectUris, scopes: row.scopes },
    });
    return toView(row);
  });
  return { ...view, clientSecret };
}

export function listOAuthClients(db: Db, orgId: string): Promise<OAuthClientView[]> {
  return withTenant(db, orgId, async (tx) => {
    const rows = await tx
      .select(viewColumns)
      .from(oauthClients)
      .where(eq(oauthClients.orgId, orgId))
      .orderBy(desc(oauthClients.createdAt), desc(oauthClients.id));
    return rows.map(toView);
  });
}

export function getOAuthClient(db: Db, orgId: string, clientId: string): Promise<OAuthClientView> {
  return withTenant(db, orgId, async (tx) => toView(await findClient(tx, orgId, clientId)));
}

/**
 * Revokes a client (idempotent). The provider stops finding it at once, and every grant, session
 * authorization and token it holds is deleted, so the API refuses its access tokens too.
 */
export async function revokeOAuthClient(
  db: Db,
  actor: UserActor,
  orgId: string,
  clientId: string,
): Promise<void> {
  await withTenant(db, orgId, async (tx) => {
    const client = await findClient(tx, orgId, clientId);
    if (client.revokedAt) return;
    await tx
      .update(oauthClients)
      .set({ revokedAt: sql`now()` })
      .where(and(eq(oauthClients.orgId, orgId), eq(oauthClients.clientId, clientId)));
    await tx.delete(oidcPayloads).where(sql`${oidcPayloads.payload}->>'clientId' = ${clientId}`);
    await recordAudit(tx, actor, {
      orgId,
      action: 'oauth-client.revoke',
      targetType: 'oauth-client',
      targetId: clientId,
    });
  });
}

/** A live (not revoked) client of ours, as stored; null for any other client_id. */
export async function findLiveClient(
  db: Db,
  clientId: string,
): Promise<typeof oauthClients.$inferSelect | null> {
  const orgId = orgOfClientId(clientId);
  if (!orgId) return null;
  const [row] = await withTenant(db, orgId, (tx) =>
    tx
      .select()
      .from(oauthClients)
      .where(
        and(
          eq(oauthClients.orgId, orgId),
          eq(oauthClients.clientId, clientId),
          isNull(oauthClients.revokedAt),
        ),
      ),
  );
  return row ?? null;
}

/** The client's metadata as oidc-provider expects it (RFC 7591 names), for its Client model. */
export async function findClientMetadata(
  db: Db,
  master: MasterKey,
  clientId: string,
): Promise<AdapterPayload | undefined> {
  const row = await findLiveClient(db, clientId);
  if (!row) return undefined;
  const codeFlow = row.grantTypes.includes('authorization_code');
  return {
    client_id: row.clientId,
    client_secret: unwrap(master, row.wrappedSecret, row.clientId).toString('utf8'),
    client_name: row.name,
    grant_types: row.grantTypes,
    response_types: codeFlow ? ['code'] : [],
    redirect_uris: row.redirectUris,
    scope: [...(codeFlow ? openIdScopes : []), ...row.scopes].join(' '),
    token_endpoint_auth_method: 'client_secret_basic',
  };
}
