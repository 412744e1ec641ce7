// An organization with something in every store an erasure reaches: the export fixture's members,
// keys, audit entries, usage, billing account and file, made unique by name; plus a team, an
// invitation, a refresh token, limiter and sign-in counters in Redis and points in the vector store.
// And the erasure request's row, as the API writes it.
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import type { TenantObjects } from '../../activities/storage/index.js';
import type { VectorStore } from '../../activities/vectors/port.js';
import { erasureGraceEndsAt, requestDueAt, type DataRequestScope } from '../../core/data-requests.js';
import type { Db } from '../../db/client.js';
import { dataRequests } from '../../db/schema/index.js';
import { withTenant } from '../../db/tenant.js';
import type { Stripe } from '../../runtime/stripe.js';
import type { GdprErasureInput } from '../../workflows/definitions.js';
import { seedExportTenant, type ExportTenant } from './gdpr-export-fixture.js';

export const erasureCollection = { model: 'erasure-test-embedding', dimensions: 3 };

export interface ErasureTenant extends ExportTenant {
  orgName: string;
  teamName: string;
  inviteeEmail: string;
  otherName: string;
  /** A phrase found only in the tenant's vector points. */
  documentPhrase: string;
  keyPrefixes: string[];
}

export async function seedErasureTenant(
  db: Db,
  objects: (orgId: string) => TenantObjects,
  stripe: Stripe,
  redis: Redis,
  openVectors: () => Promise<VectorStore>,
): Promise<ErasureTenant> {
  const tenant = await seedExportTenant(db, objects, stripe);
  const unique = randomUUID().slice(0, 8);
  const names = {
    orgName: `Erasure Co ${unique}`,
    teamName: `Team ${unique}`,
    inviteeEmail: `invitee-${unique}@example.test`,
    otherName: `Other Person ${unique}`,
    documentPhrase: `the handbook of erasure co ${unique}`,
  };
  await db.execute(sql`UPDATE users SET display_name = ${names.otherName} WHERE id = ${tenant.other.id}`);
  await db.execute(sql`INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at)
    VALUES (${tenant.other.id}, gen_random_uuid(), ${`hash-${unique}`}, now() + interval '1 day')`);
  const keyPrefixes = await withTenant(db, tenant.orgId, async (tx) => {
    await tx.execute(sql`UPDATE organizations SET name = ${names.orgName} WHERE id = ${tenant.orgId}`);
    const [team] = (
      await tx.execute<{ id: string }>(
        sql`INSERT INTO teams (org_id, name) VALUES (${tenant.orgId}, ${names.teamName}) RETURNING id`,
      )
    ).rows;
    await tx.execute(sql`INSERT INTO team_members (org_id, team_id, user_id)
      VALUES (${tenant.orgId}, ${team!.id}, ${tenant.other.id})`);
    await tx.execute(sql`INSERT INTO invitations (org_id, email, role, token_hash, invited_by, expires_at)
      VALUES (${tenant.orgId}, ${names.inviteeEmail}, 'member', ${`invite-${unique}`}, ${tenant.owner.id},
              now() + interval '7 days')`);
    const keys = await tx.execute<{ prefix: string }>(
      sql`SELECT prefix FROM api_keys WHERE org_id = ${tenant.orgId} ORDER BY prefix`,
    );
    return keys.rows.map((k) => k.prefix);
  });
  const lim = `vl:lim:{${tenant.orgId}}`;
  await redis.set(`${lim}:rpm`, '3', 'EX', 3600);
  await redis.set(`${lim}:key:${tenant.other.keyId}:rpm`, '2', 'EX', 3600);
  await redis.set(`${lim}:key:${tenant.owner.keyId}:rpm`, '1', 'EX', 3600);
  await redis.set(`vlinders:auth:account:${tenant.other.email}`, '1', 'EX', 3600);
  const vectors = await openVectors();
  await vectors.ensureCollection(erasureCollection);
  await vectors.forTenant(tenant.orgId).upsert(erasureCollection, [
    {
      id: randomUUID(),
      vector: [1, 0, 0],
      storeId: 'vs_handbook',
      fileId: 'file_handbook',
      text: names.documentPhrase,
      attributes: {},
    },
  ]);
  return { ...tenant, ...names, keyPrefixes };
}

/** The request's row, as the API writes it, and the workflow's input. */
export async function erasureRequest(
  db: Db,
  orgId: string,
  scope: DataRequestScope,
  subjectUserId: string | null,
  requestedAt = new Date(),
): Promise<GdprErasureInput> {
  const dueAt = requestDueAt(requestedAt);
  const graceEndsAt = erasureGraceEndsAt(requestedAt);
  const [row] = await withTenant(db, orgId, (tx) =>
    tx
      .insert(dataRequests)
      .values({
        orgId,
        kind: 'erasure',
        scope,
        subjectUserId,
        requestedBy: subjectUserId,
        requestedAt,
        dueAt,
        graceEndsAt,
      })
      .returning({ id: dataRequests.id }),
  );
  return {
    erasedOrgId: orgId,
    requestId: row!.id,
    scope,
    subjectUserId,
    graceEndsAt: graceEndsAt.toISOString(),
    dueAt: dueAt.toISOString(),
  };
}
