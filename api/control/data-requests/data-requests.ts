// GDPR data-subject requests: a member asks for their own data, an owner for the organization's.
// The request's row and its audit entry are written together, then `gdpr-export/<requestId>` is
// started on the tenants queue; it records its progress in the row. The archive is read back
// through here, decrypted, by whoever may read the request, until it expires.
import type { Client } from '@temporalio/client';
import { and, desc, eq } from 'drizzle-orm';
import type { Static } from 'typebox';
import {
  archivePrefix,
  exportDueAt,
  type DataRequestScope,
  type ExportManifest,
} from '../../../core/data-requests.js';
import { denial, permits } from '../../../core/policy.js';
import type { Db, Tx } from '../../../db/client.js';
import { dataRequests } from '../../../db/schema/index.js';
import { withTenant } from '../../../db/tenant.js';
import { taskQueues, workflowIds } from '../../../temporal.config.js';
import { workflowTypes, type GdprExportInput } from '../../../workflows/definitions.js';
import type { ObjectStorage, TenantObject } from '../../../activities/storage/index.js';
import { recordAudit, type UserActor } from '../../audit.js';
import type { OrgAccess } from '../../identity/caller.js';
import { AppError } from '../../errors.js';
import { tenantSearchAttributes } from '../orgs/onboarding.js';
import type { DataRequest as DataRequestBody } from './schemas.js';

export interface DataRequestDeps {
  db: Db;
  temporal: Client;
  storage: ObjectStorage;
}

type Row = typeof dataRequests.$inferSelect;
type DataRequest = Static<typeof DataRequestBody>;

const manifestName = 'manifest.json';

/** The request as its reader sees it: the archive's files while it can be downloaded. */
async function view(storage: ObjectStorage, row: Row, now = new Date()): Promise<DataRequest> {
  const downloadable = row.status === 'completed' && (row.archiveExpiresAt ?? now) > now;
  return {
    id: row.id,
    kind: row.kind,
    scope: row.scope,
    subjectUserId: row.subjectUserId,
    requestedBy: row.requestedBy,
    status: row.status,
    requestedAt: row.requestedAt.toISOString(),
    dueAt: row.dueAt.toISOString(),
    overdueAt: row.overdueAt?.toISOString() ?? null,
    finishedAt: row.finishedAt?.toISOString() ?? null,
    archiveExpiresAt: row.archiveExpiresAt?.toISOString() ?? null,
    manifestSha256: row.manifestSha256,
    files: downloadable ? await archiveFiles(storage, row) : [],
  };
}

/** The manifest, then every part it lists, by their names in the archive's folder. */
async function archiveFiles(storage: ObjectStorage, row: Row): Promise<DataRequest['files']> {
  const folder = archivePrefix(row.id);
  const manifest = await storage.forTenant(row.orgId).get(folder + manifestName);
  if (!manifest || row.manifestSha256 === null) return [];
  const { files } = JSON.parse(manifest.body.toString('utf8')) as ExportManifest;
  return [
    { name: manifestName, bytes: manifest.body.length, sha256: row.manifestSha256 },
    ...files.map((f) => ({ name: f.name.slice(folder.length), bytes: f.bytes, sha256: f.sha256 })),
  ];
}

const subjectOf = (scope: DataRequestScope, actor: UserActor) => (scope === 'person' ? actor.userId : null);

/** Records the request (and its audit entry), then starts its export; 202 with the request. */
export async function requestExport(
  deps: DataRequestDeps,
  actor: UserActor,
  access: OrgAccess,
  scope: DataRequestScope,
): Promise<DataRequest> {
  const { orgId } = access;
  const subjectUserId = subjectOf(scope, actor);
  const refusal = denial(access.ability, 'create', 'DataRequest', { orgId, subjectUserId, scope });
  if (refusal) throw new AppError('FORBIDDEN', refusal);

  const requestedAt = new Date();
  const row = await withTenant(deps.db, orgId, async (tx) => {
    const [created] = await tx
      .insert(dataRequests)
      .values({
        orgId,
        kind: 'export',
        scope,
        subjectUserId,
        requestedBy: actor.userId,
        requestedAt,
        dueAt: exportDueAt(requestedAt),
      })
      .returning();
    await recordAudit(tx, actor, {
      orgId,
      action: 'data_request.created',
      targetType: 'data_request',
      targetId: created!.id,
      details: { kind: 'export', scope },
    });
    return created!;
  });

  const input: GdprExportInput = {
    orgId,
    requestId: row.id,
    scope,
    subjectUserId,
    dueAt: row.dueAt.toISOString(),
  };
  try {
    await deps.temporal.workflow.start(workflowTypes.gdprExport, {
      taskQueue: taskQueues.tenants,
      workflowId: workflowIds.gdprExport(row.id),
      args: [input],
      typedSearchAttributes: tenantSearchAttributes(orgId),
    });
  } catch (err) {
    await withTenant(deps.db, orgId, (tx) => markFailed(tx, row.id));
    throw new AppError('UNAVAILABLE', 'The export could not be started; it is marked failed. Ask again.', {
      reason: err instanceof Error ? err.message : String(err),
    });
  }
  return view(deps.storage, row);
}

function markFailed(tx: Tx, requestId: string) {
  return tx
    .update(dataRequests)
    .set({ status: 'failed', finishedAt: new Date() })
    .where(and(eq(dataRequests.id, requestId), eq(dataRequests.status, 'pending')));
}

/** Whether the caller reads every request of the org, or only those about themselves. */
function readsAll(access: OrgAccess): boolean {
  return permits(access.ability, 'read', 'DataRequest', {
    orgId: access.orgId,
    subjectUserId: null,
    scope: 'organization',
  });
}

export async function listDataRequests(
  deps: DataRequestDeps,
  actor: UserActor,
  access: OrgAccess,
): Promise<DataRequest[]> {
  const rows = await withTenant(deps.db, access.orgId, (tx) =>
    tx
      .select()
      .from(dataRequests)
      .where(
        // What the policy lets a non-owner read: requests about themselves (always `person`).
        readsAll(access) ? undefined : eq(dataRequests.subjectUserId, actor.userId),
      )
      .orderBy(desc(dataRequests.requestedAt), desc(dataRequests.id)),
  );
  return Promise.all(rows.map((row) => view(deps.storage, row)));
}

function mayRead(access: OrgAccess, row: Row): boolean {
  return permits(access.ability, 'read', 'DataRequest', {
    orgId: row.orgId,
    subjectUserId: row.subjectUserId,
    scope: row.scope,
  });
}

/** A request the caller may read; one they may not is as missing as one that does not exist. */
async function readable(db: Db, access: OrgAccess, requestId: string): Promise<Row> {
  const [row] = await withTenant(db, access.orgId, (tx) =>
    tx.select().from(dataRequests).where(eq(dataRequests.id, requestId)),
  );
  if (!row || !mayRead(access, row)) throw new AppError('NOT_FOUND', 'The data request does not exist.');
  return row;
}

export async function getDataRequest(
  deps: DataRequestDeps,
  access: OrgAccess,
  requestId: string,
): Promise<DataRequest> {
  return view(deps.storage, await readable(deps.db, access, requestId));
}

/** One file of a completed export's archive, decrypted; each download is audited. */
export async function downloadArchiveFile(
  deps: DataRequestDeps,
  actor: UserActor,
  access: OrgAccess,
  requestId: string,
  file: string,
): Promise<TenantObject> {
  const row = await readable(deps.db, access, requestId);
  const now = new Date();
  if (row.status === 'expired' || (row.archiveExpiresAt !== null && row.archiveExpiresAt <= now))
    throw new AppError('GONE', 'The archive has expired and was deleted; ask for a new export.');
  if (row.status !== 'completed')
    throw new AppError('CONFLICT', `The export is ${row.status}; its archive is not ready yet.`);
  const object = await deps.storage.forTenant(row.orgId).get(archivePrefix(row.id) + file, now);
  if (!object) throw new AppError('NOT_FOUND', `The archive has no file ${file}.`);
  await withTenant(deps.db, access.orgId, (tx) =>
    recordAudit(tx, actor, {
      orgId: access.orgId,
      action: 'data_request.downloaded',
      targetType: 'data_request',
      targetId: row.id,
      details: { file },
    }),
  );
  return object;
}
