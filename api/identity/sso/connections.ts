// An org's single sign-on connection: one per org, managed by its owners and admins. The client
// secret is wrapped under the master key (the org bound as context) and never leaves the service.
import { eq } from 'drizzle-orm';
import type { RoleMapping } from '../../../core/sso.js';
import type { Db } from '../../../db/client.js';
import { ssoConnections, ssoIdentities } from '../../../db/schema/index.js';
import { withTenant } from '../../../db/tenant.js';
import { unwrap, wrap, type MasterKey } from '../../../runtime/envelope.js';
import { AppError } from '../../errors.js';
import { recordAudit, type UserActor } from '../../audit.js';
import { isUniqueViolation } from '../../db-errors.js';
import { discoverIssuer, ssoRedirectUri, type IssuerSettings } from './issuers.js';

export type SsoConnectionRow = typeof ssoConnections.$inferSelect;

export interface SsoSettings extends IssuerSettings {
  publicUrl: string;
  master: MasterKey;
}

export interface SsoConnectionInput {
  issuer: string;
  clientId: string;
  clientSecret?: string | undefined;
  allowedDomains: string[];
  roleMapping: RoleMapping;
  audience?: string | undefined;
}

export interface SsoConnectionView {
  id: string;
  issuer: string;
  clientId: string;
  allowedDomains: string[];
  roleMapping: RoleMapping;
  audience: string | null;
  redirectUri: string;
  createdAt: string;
  updatedAt: string;
}

function toView(row: SsoConnectionRow, publicUrl: string): SsoConnectionView {
  return {
    id: row.id,
    issuer: row.issuer,
    clientId: row.clientId,
    allowedDomains: row.allowedDomains,
    roleMapping: row.roleMapping,
    audience: row.audience,
    redirectUri: ssoRedirectUri(publicUrl),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function secretContext(orgId: string): string {
  return `sso-client-secret:${orgId}`;
}

export function clientSecretOf(row: SsoConnectionRow, master: MasterKey): string {
  return unwrap(master, row.clientSecretWrapped, secretContext(row.orgId)).toString('utf8');
}

const notConfigured = () => new AppError('NOT_FOUND', 'The organization has no single sign-on connection.');

export async function getSsoConnection(db: Db, orgId: string, publicUrl: string): Promise<SsoConnectionView> {
  const [row] = await withTenant(db, orgId, (tx) =>
    tx.select().from(ssoConnections).where(eq(ssoConnections.orgId, orgId)),
  );
  if (!row) throw notConfigured();
  return toView(row, publicUrl);
}

/** Creates or replaces the org's connection; the issuer's discovery document is fetched first. */
export async function putSsoConnection(
  db: Db,
  settings: SsoSettings,
  actor: UserActor,
  orgId: string,
  input: SsoConnectionInput,
): Promise<{ view: SsoConnectionView; created: boolean }> {
  // Every ID token of the connection carries the client id as its audience: an API audience equal to
  // it would let ID tokens call the API.
  if (input.audience === input.clientId)
    throw new AppError('VALIDATION', 'audience must differ from clientId, which ID tokens carry.', {
      field: 'audience',
    });
  const metadata = await discoverIssuer(input.issuer, settings);
  try {
    return await withTenant(db, orgId, async (tx) => {
      const [existing] = await tx
        .select()
        .from(ssoConnections)
        .where(eq(ssoConnections.orgId, orgId))
        .for('update');
      const clientSecretWrapped = input.clientSecret
        ? wrap(settings.master, Buffer.from(input.clientSecret, 'utf8'), secretContext(orgId))
        : existing?.clientSecretWrapped;
      if (!clientSecretWrapped)
        throw new AppError('VALIDATION', 'clientSecret is required to create the connection.');
      const values = {
        issuer: metadata.issuer,
        clientId: input.clientId,
        clientSecretWrapped,
        allowedDomains: input.allowedDomains,
        roleMapping: input.roleMapping,
        audience: input.audience ?? null,
        metadata,
        updatedAt: new Date(),
      };
      const [row] = existing
        ? await tx.update(ssoConnections).set(values).where(eq(ssoConnections.id, existing.id)).returning()
        : await tx
            .insert(ssoConnections)
            .values({ orgId, ...values })
            .returning();
      if (!row) throw new Error('sso connection write returned no row');
      // Subjects are only unique per issuer: links made through another issuer must not carry over.
      const issuerChanged = existing !== undefined && existing.issuer !== row.issuer;
      if (issuerChanged) await tx.delete(ssoIdentities).where(eq(ssoIdentities.connectionId, row.id));
      await recordAudit(tx, actor, {
        orgId,
        action: existing ? 'sso.connection_update' : 'sso.connection_create',
        targetType: 'sso_connection',
        targetId: row.id,
        details: {
          issuer: row.issuer,
          clientId: row.clientId,
          allowedDomains: row.allowedDomains,
          roleMapping: row.roleMapping,
          audience: row.audience,
          clientSecretChanged: Boolean(input.clientSecret),
          identityLinksCleared: issuerChanged,
        },
      });
      return { view: toView(row, settings.publicUrl), created: !existing };
    });
  } catch (err) {
    if (isUniqueViolation(err, 'sso_connections_issuer_audience_key'))
      throw new AppError(
        'CONFLICT',
        'Another connection already accepts tokens of this issuer for this audience; set a distinct audience.',
      );
    throw err;
  }
}

/** Removes the connection with its identity links: its tokens stop working at once. */
export async function deleteSsoConnection(db: Db, actor: UserActor, orgId: string): Promise<void> {
  await withTenant(db, orgId, async (tx) => {
    const [row] = await tx.delete(ssoConnections).where(eq(ssoConnections.orgId, orgId)).returning();
    if (!row) throw notConfigured();
    await recordAudit(tx, actor, {
      orgId,
      action: 'sso.connection_delete',
      targetType: 'sso_connection',
      targetId: row.id,
      details: { issuer: row.issuer, clientId: row.clientId },
    });
  });
}
