// GDPR data-subject requests: a member asks for an export or erasure of their own data, an owner
// for the organization's. The request's row and its audit entry are written together, then its
// workflow (`gdpr-export/<requestId>` or `gdpr-erasure/<requestId>`) is started on the tenants
// queue; it records its progress in the row. An export's archive is read back through here,
// decrypted, by whoever may read the request, until it expires; an erasure can be cancelled through
// here during its grace period.
import type { Client } from '@temporalio/client';
import { and, desc, eq, inArray } from 'drizzle-orm';
import type { Static } from 'typebox';
import {
  archivePrefix,
  erasureGraceEndsAt,
  requestDueAt,
  type DataRequestKind,
  type DataRequestScope,
  type ExportManifest,
} from '../../../core/data-requests.js';
import { denial, permits } from '../../../core/policy.js';
import type { Db, Tx } from '../../../db/client.js';
import { dataRequests, erasureTombstones } from '../../../db/schema/index.js';
import { withTenant } from '../../../db/tenant.js';
import { taskQueues, workflowIds } from '../../../temporal.config.js';
import {
  gdprErasureSignals,
  workflowTypes,
  type GdprErasureInput,
  type GdprExportInput,
} from '../../../workflows/definitions.js';
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

/** The request as its reader sees it: an export's files while they can be downloaded, an erasure's tombstone. */
async function view(deps: DataRequestDeps, row: Row, now = new Date()): Promise<DataRequest> {
  const downloadable =
    row.kind === 'export' && row.status === 'completed' && (row.archiveExpiresAt ?? now) > now;
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
    files: downloadable ? await archiveFiles(deps.storage, row) : [],
    graceEndsAt: row.graceEndsAt?.toISOString() ?? null,
    blockedReason: row.blockedReason,
    erasure: row.kind === 'erasure' && row.status === 'completed' ? await tombstone(deps.db, row) : null,
  };
}

async function tombstone(db: Db, row: Row): Promise<DataRequest['erasure']> {
  const [found] = await withTenant(db, row.orgId, (tx) =>
    tx
      .select({ subjectSha256: erasureTombstones.subjectSha256, stores: erasureTombstones.stores })
      .from(erasureTombstones)
      .where(eq(erasureTombstones.requestId, row.id)),
  );
  return found ?? null;
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

/**
 * Records the request (and its audit entry), then starts its workflow; 202 with the request. An
 * erasure asked for while one of the same subject is still open answers that one: asking twice
 * erases once.
 */
export async function createDataRequest(
  deps: DataRequestDeps,
  actor: UserActor,
  access: OrgAccess,
  kind: DataRequestKind,
  scope: DataRequestScope,
): Promise<DataRequest> {
  const { orgId } = access;
  const subjectUserId = subjectOf(scope, actor);
  const refusal = denial(access.ability, 'create', 'DataRequest', { orgId, subjectUserId, scope });
  if (refusal) throw new AppError('FORBIDDEN', refusal);

  const requestedAt = new Date();
  const { row, created } = await withTenant(deps.db, orgId, async (tx) => {
    if (kind === 'erasure') {
      const [open] = await tx
        .select()
        .from(dataRequests)
        .where(
          and(
            eq(dataRequests.kind, 'erasure'),
            eq(dataRequests.scope, scope),
            subjectUserId === null ? undefined : eq(dataRequests.subjectUserId, subjectUserId),
            inArray(dataRequests.status, ['pending', 'running']),
          ),
        )
        .limit(1);
      if (open) return { row: open, created: false };
    }
    const [inserted] = await tx
      .insert(dataRequests)
      .values({
        orgId,
        kind,
        scope,
        subjectUserId,
        requestedBy: actor.userId,
        requestedAt,
        dueAt: requestDueAt(requestedAt),
        graceEndsAt: kind === 'erasure' ? erasureGraceEndsAt(requestedAt) : null,
      })
      .returning();
    await recordAudit(tx, actor, {
      orgId,
      action: 'data_request.created',
      targetType: 'data_request',
      targetId: inserted!.id,
      details: { kind, scope },
    });
    return { row: inserted!, created: true };
  });
  if (created) await startWorkflow(deps, row);
  return view(deps, row);
}

/** Starts the request's workflow; one that cannot be started leaves the request failed (503). */
async function startWorkflow(deps: DataRequestDeps, row: Row): Promise<void> {
  const common = {
    requestId: row.id,
    scope: row.scope,
    subjectUserId: row.subjectUserId,
    dueAt: row.dueAt.toISOString(),
  };
  const exportInput: GdprExportInput = { orgId: row.orgId, ...common };
  const erasureInput: GdprErasureInput = {
    erasedOrgId: row.orgId,
    graceEndsAt: row.graceEndsAt?.toISOString() ?? row.requestedAt.toISOString(),
    ...common,
  };
  try {
    if (row.kind === 'export') {
      await deps.temporal.workflow.start(workflowTypes.gdprExport, {
        taskQueue: taskQueues.tenants,
        workflowId: workflowIds.gdprExport(row.id),
        args: [exportInput],
        typedSearchAttributes: tenantSearchAttributes(row.orgId),
      });
    } else {
      await deps.temporal.workflow.start(workflowTypes.gdprErasure, {
        taskQueue: taskQueues.tenants,
        workflowId: workflowIds.gdprErasure(row.id),
        args: [erasureInput],
        typedSearchAttributes: tenantSearchAttributes(row.orgId),
      });
    }
  } catch (err) {
    await withTenant(deps.db, row.orgId, (tx) => markFailed(tx, row.id));
    throw new AppError(
      'UNAVAILABLE',
      `The ${row.kind} could not be started; it is marked failed. Ask again.`,
      {
        reason: err instanceof Error ? err.message : String(err),
      },
    );
  }
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
  return Promise.all(rows.map((row) => view(deps, row)));
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
  return view(deps, await readable(deps.db, access, requestId));
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
  if (row.kind !== 'export') throw new AppError('NOT_FOUND', 'An erasure has no archive.');
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

/**
 * Cancels an erasure in its grace period, as whoever may ask for it (the person, or an owner for
 * the organization's); audited. The request's row decides, so a cancel needs no worker to answer:
 * it is recorded only while the erasure is still pending (the workflow locks the row when it
 * begins), then the workflow is told by a signal, or finds it when its grace period ends. Once the
 * erasure has begun, or for an export, 409.
 */
export async function cancelDataRequest(
  deps: DataRequestDeps,
  actor: UserActor,
  access: OrgAccess,
  requestId: string,
): Promise<DataRequest> {
  const row = await readable(deps.db, access, requestId);
  const refusal = denial(access.ability, 'create', 'DataRequest', {
    orgId: row.orgId,
    subjectUserId: row.subjectUserId,
    scope: row.scope,
  });
  if (refusal) throw new AppError('FORBIDDEN', refusal);
  if (row.kind !== 'erasure')
    throw new AppError('CONFLICT', 'Only an erasure can be cancelled; an export finishes on its own.');
  const cancelled = await withTenant(deps.db, access.orgId, async (tx) => {
    const [updated] = await tx
      .update(dataRequests)
      .set({ status: 'cancelled', finishedAt: new Date() })
      .where(and(eq(dataRequests.id, row.id), eq(dataRequests.status, 'pending')))
      .returning();
    if (!updated) return null;
    await recordAudit(tx, actor, {
      orgId: access.orgId,
      action: 'data_request.cancelled',
      targetType: 'data_request',
      targetId: row.id,
      details: { kind: row.kind, scope: row.scope },
    });
    return updated;
  });
  if (!cancelled) {
    const now = await readable(deps.db, access, requestId);
    throw new AppError(
      'CONFLICT',
      `The erasure is ${now.status}; it can be cancelled only during its grace period.`,
    );
  }
  await deps.temporal.workflow
    .getHandle(workflowIds.gdprErasure(row.id))
    .signal(gdprErasureSignals.cancel)
    // Not told now (no such workflow, Temporal away): it finds the row cancelled when its grace ends.
    .catch(() => undefined);
  return view(deps, cancelled);
}
