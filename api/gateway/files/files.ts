// Files, OpenAI's shapes: what a tenant uploads for its vector stores. The bytes are sealed with the
// tenant's data key in object storage (files/<id>, activities/storage), the row says what they are.
// Deleting a file takes it out of every vector store it is in (vector-stores.ts).
import { randomUUID } from 'node:crypto';
import { and, asc, desc, eq } from 'drizzle-orm';
import { fileObjectName } from '../../../activities/ingest/index.js';
import type { ObjectStorage } from '../../../activities/storage/index.js';
import type { Tx } from '../../../db/client.js';
import { files, type FilePurpose } from '../../../db/schema/index.js';
import { withTenant } from '../../../db/tenant.js';
import { requireFilesAccess } from '../inference-key.js';
import type { VerifiedKey } from '../../identity/api-keys/verifier.js';
import { afterCursor, fileIds, listPage, notFound, unixSeconds, type ListQuery } from '../openai-objects.js';
import { removeFileFromStores, storesOfFile, type VectorStoreDeps } from '../vector-stores/vector-stores.js';

export interface FileDeps extends VectorStoreDeps {
  storage: ObjectStorage;
}

export interface Upload {
  filename: string;
  purpose: FilePurpose;
  contentType: string;
  body: Buffer;
}

type FileRow = typeof files.$inferSelect;

function fileView(row: FileRow) {
  return {
    id: fileIds.of(row.id),
    object: 'file' as const,
    bytes: row.bytes,
    created_at: unixSeconds(row.createdAt),
    expires_at: null,
    filename: row.filename,
    purpose: row.purpose,
    status: 'processed' as const,
  };
}

async function findFile(tx: Tx, orgId: string, id: string): Promise<FileRow> {
  const fileId = fileIds.parse(id, 'file_id');
  const [row] = await tx
    .select()
    .from(files)
    .where(and(eq(files.orgId, orgId), eq(files.id, fileId)));
  if (!row) throw notFound('file', id, 'file_id');
  return row;
}

/**
 * Stores the bytes, then the row: a failed insert deletes the bytes again, and a crash between the
 * two leaves an object no row points at, never a row without its bytes. (Not one transaction
 * around both: sealing reads the tenant's data key on a connection of its own, and the embedded
 * database serves one transaction at a time.)
 */
export async function uploadFile(deps: FileDeps, key: VerifiedKey, upload: Upload) {
  requireFilesAccess(key);
  const id = randomUUID();
  const objects = deps.storage.forTenant(key.orgId);
  await objects.put(fileObjectName(id), upload.body, { contentType: upload.contentType });
  try {
    const [row] = await withTenant(deps.db, key.orgId, (tx) =>
      tx
        .insert(files)
        .values({
          id,
          orgId: key.orgId,
          filename: upload.filename,
          bytes: upload.body.length,
          purpose: upload.purpose,
          contentType: upload.contentType,
          uploadedByKey: key.keyId,
        })
        .returning(),
    );
    return fileView(row!);
  } catch (err) {
    await objects.delete([fileObjectName(id)]).catch(() => undefined);
    throw err;
  }
}

export function listFiles(deps: FileDeps, key: VerifiedKey, query: ListQuery & { purpose?: FilePurpose }) {
  requireFilesAccess(key);
  const order = query.order ?? 'desc';
  const limit = query.limit ?? 10_000;
  const sort = order === 'desc' ? desc : asc;
  return withTenant(deps.db, key.orgId, async (tx) => {
    const cursor = query.after ? await findFile(tx, key.orgId, query.after) : undefined;
    const rows = await tx
      .select()
      .from(files)
      .where(
        and(
          eq(files.orgId, key.orgId),
          query.purpose ? eq(files.purpose, query.purpose) : undefined,
          afterCursor(order, cursor, files),
        ),
      )
      .orderBy(sort(files.createdAt), sort(files.id))
      .limit(limit + 1);
    return listPage(rows, limit, fileView);
  });
}

export function getFile(deps: FileDeps, key: VerifiedKey, id: string) {
  requireFilesAccess(key);
  return withTenant(deps.db, key.orgId, async (tx) => fileView(await findFile(tx, key.orgId, id)));
}

export async function getFileContent(deps: FileDeps, key: VerifiedKey, id: string) {
  requireFilesAccess(key);
  const row = await withTenant(deps.db, key.orgId, (tx) => findFile(tx, key.orgId, id));
  const object = await deps.storage.forTenant(key.orgId).get(fileObjectName(row.id));
  if (!object) throw notFound('file content', id, 'file_id');
  return { body: object.body, contentType: row.contentType, filename: row.filename };
}

/** Deletes the row (and its stores' rows with it), then the points, the ingestions and the bytes. */
export async function deleteFile(deps: FileDeps, key: VerifiedKey, id: string) {
  requireFilesAccess(key);
  const { row, inStores } = await withTenant(deps.db, key.orgId, async (tx) => {
    const row = await findFile(tx, key.orgId, id);
    const inStores = await storesOfFile(tx, row.id);
    await tx.delete(files).where(eq(files.id, row.id));
    return { row, inStores };
  });
  await removeFileFromStores(deps, key.orgId, row.id, inStores);
  await deps.storage.forTenant(key.orgId).delete([fileObjectName(row.id)]);
  return { id: fileIds.of(row.id), object: 'file' as const, deleted: true };
}
