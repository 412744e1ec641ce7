// An organization with something in every store a GDPR export reads: two members (the owner and
// another person), each with an API key, audit entries and usage; a billing account whose Stripe
// customer lives in stripe-mock; an object in its storage and a file uploaded through /v1/files (a
// row and its bytes). And the export request's row.
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { TenantObjects } from '../../activities/storage/index.js';
import { requestDueAt, type DataRequestScope } from '../../core/data-requests.js';
import type { Db } from '../../db/client.js';
import { dataRequests, users } from '../../db/schema/index.js';
import { withTenant } from '../../db/tenant.js';
import type { Stripe } from '../../runtime/stripe.js';
import type { GdprExportInput } from '../../workflows/definitions.js';
import { createPendingTenant } from './tenant-fixture.js';

export interface ExportTenant {
  orgId: string;
  owner: { id: string; email: string; keyId: string };
  other: { id: string; email: string; keyId: string };
  /** The uploaded file (`files` row, bytes under files/<id>). */
  fileId: string;
}

export async function seedExportTenant(
  db: Db,
  objects: (orgId: string) => TenantObjects,
  stripe: Stripe,
): Promise<ExportTenant> {
  const { orgId, ownerUserId, ownerEmail } = await createPendingTenant(db, 'Export Co');
  const otherId = randomUUID();
  const otherEmail = `other-${otherId.slice(0, 8)}@example.test`;
  await db
    .insert(users)
    .values({ id: otherId, email: otherEmail, passwordHash: 'x', displayName: 'Other Person' });
  const customer = await stripe.customers.create({ email: ownerEmail, metadata: { orgId } });
  const keyIds = { owner: randomUUID(), other: randomUUID() };
  await withTenant(db, orgId, async (tx) => {
    for (const [userId, role, keyId] of [
      [ownerUserId, 'owner', keyIds.owner],
      [otherId, 'member', keyIds.other],
    ] as const) {
      await tx.execute(
        sql`INSERT INTO memberships (org_id, user_id, role) VALUES (${orgId}, ${userId}, ${role})`,
      );
      await tx.execute(sql`INSERT INTO api_keys (id, org_id, created_by, name, prefix, secret_hash, scopes)
        VALUES (${keyId}, ${orgId}, ${userId}, ${`key of ${role}`}, ${`vl_${keyId.slice(0, 8)}`}, 'hash', ARRAY['inference'])`);
      await tx.execute(sql`INSERT INTO audit_log (org_id, actor_id, action, target_type, target_id)
        VALUES (${orgId}, ${userId}, 'api_key.created', 'api_key', ${keyId})`);
      await tx.execute(sql`INSERT INTO usage_hourly (org_id, hour, key_id, model, requests, errors, cancelled,
          prompt_tokens, completion_tokens, cached_tokens, estimated)
        VALUES (${orgId}, date_trunc('hour', now()), ${keyId}, 'chat', 3, 0, 0, 30, 60, 0, 0)`);
    }
    await tx.execute(sql`INSERT INTO billing_accounts (org_id, stripe_customer_id, plan, seats, status)
      VALUES (${orgId}, ${customer.id}, 'developer', 5, 'trialing')`);
  });
  await objects(orgId).put('files/handbook.txt', Buffer.from('the handbook'), { contentType: 'text/plain' });
  const fileId = randomUUID();
  await objects(orgId).put(`files/${fileId}`, Buffer.from('the uploaded guide'), {
    contentType: 'text/plain',
  });
  await withTenant(db, orgId, (tx) =>
    tx.execute(sql`INSERT INTO files (id, org_id, filename, bytes, purpose, content_type)
      VALUES (${fileId}, ${orgId}, 'guide.txt', 18, 'assistants', 'text/plain')`),
  );
  return {
    fileId,
    orgId,
    owner: { id: ownerUserId, email: ownerEmail, keyId: keyIds.owner },
    other: { id: otherId, email: otherEmail, keyId: keyIds.other },
  };
}

/** The request's row, as the API writes it, and the workflow's input. */
export async function exportRequest(
  db: Db,
  orgId: string,
  scope: DataRequestScope,
  subjectUserId: string | null,
  requestedAt = new Date(),
): Promise<GdprExportInput> {
  const dueAt = requestDueAt(requestedAt);
  const [row] = await withTenant(db, orgId, (tx) =>
    tx
      .insert(dataRequests)
      .values({ orgId, kind: 'export', scope, subjectUserId, requestedBy: subjectUserId, requestedAt, dueAt })
      .returning({ id: dataRequests.id }),
  );
  return { orgId, requestId: row!.id, scope, subjectUserId, dueAt: dueAt.toISOString() };
}
