// The GDPR export's activities (workflows/gdpr-export.ts): each store read into a part of the
// archive under the tenant's objects (JSON, and CSV per table), the manifest with every part's
// SHA-256, and the request's row kept in step. Each is idempotent: a retry after a crash writes the
// same part again under the same name.
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { and, eq, isNull } from 'drizzle-orm';
import {
  archivePrefix,
  dataRequestLink,
  type ArchiveFile,
  type DataRequestScope,
  type ExportManifest,
  type ExportStore,
} from '../../core/data-requests.js';
import type { Db } from '../../db/client.js';
import { dataRequests, users } from '../../db/schema/index.js';
import { withTenant } from '../../db/tenant.js';
import type { Stripe } from '../../runtime/stripe.js';
import { enqueue, type OutboxRef } from '../outbox.js';
import type { ObjectStorage, TenantObjects } from '../storage/index.js';
import { fileObjectName } from '../ingest/index.js';
import type { VectorStore } from '../vectors/port.js';
import { toCsv } from './csv.js';
import { readStore } from './export-stores.js';

export interface GdprDeps {
  db: Db;
  storage: ObjectStorage;
  stripe: Stripe | undefined;
  /** The process's vector store (activities/vectors/index.ts sharedVectorStore). */
  vectors: () => Promise<VectorStore>;
  /** Where the API is reached: the mail's link to the request. */
  publicUrl: string;
}

export interface ExportRequestRef {
  orgId: string;
  requestId: string;
}

export interface ExportStoreInput extends ExportRequestRef {
  scope: DataRequestScope;
  subjectUserId: string | null;
  store: ExportStore;
}

async function writeFile(
  objects: TenantObjects,
  name: string,
  body: Buffer,
  contentType: string,
  expiresAt?: Date,
): Promise<ArchiveFile> {
  await objects.put(name, body, { contentType, expiresAt });
  Context.current().heartbeat(name);
  return { name, sha256: createHash('sha256').update(body).digest('hex'), bytes: body.length };
}

export function createGdprActivities({ db, storage, stripe, vectors, publicUrl }: GdprDeps) {
  const setRequest = (ref: ExportRequestRef, values: Partial<typeof dataRequests.$inferInsert>) =>
    withTenant(db, ref.orgId, (tx) =>
      tx
        .update(dataRequests)
        .set(values)
        .where(eq(dataRequests.id, ref.requestId))
        .returning({ id: dataRequests.id }),
    ).then((updated) => {
      if (updated.length === 0) throw new Error(`data request ${ref.requestId} does not exist`);
    });

  return {
    async startExport(ref: ExportRequestRef): Promise<void> {
      await withTenant(db, ref.orgId, (tx) =>
        tx
          .update(dataRequests)
          .set({ status: 'running' })
          .where(and(eq(dataRequests.id, ref.requestId), eq(dataRequests.status, 'pending'))),
      );
    },

    /**
     * Reads one store and writes its part: `<store>.json`, and `<store>-<table>.csv` per table; the
     * files part also copies each uploaded file's bytes (`files-content-<fileId><.ext>`).
     */
    async exportStore(input: ExportStoreInput): Promise<ArchiveFile[]> {
      const objects = storage.forTenant(input.orgId);
      Context.current().heartbeat(input.store);
      const part = await readStore({ db, objects, stripe, vectors }, input, input.store);
      const folder = archivePrefix(input.requestId);
      const written = [
        await writeFile(
          objects,
          `${folder}${input.store}.json`,
          Buffer.from(JSON.stringify({ store: part.store, ...part.details, ...part.tables }, null, 2)),
          'application/json',
        ),
      ];
      for (const [table, rows] of Object.entries(part.tables)) {
        written.push(
          await writeFile(
            objects,
            `${folder}${input.store}-${table}.csv`,
            Buffer.from(toCsv(rows)),
            'text/csv',
          ),
        );
      }
      for (const file of (part.tables.files ?? []) as { id: string; filename: string }[]) {
        const content = await objects.get(fileObjectName(file.id));
        if (!content) continue;
        const extension = /\.[A-Za-z0-9]{1,10}$/.exec(file.filename)?.[0] ?? '';
        written.push(
          await writeFile(
            objects,
            `${folder}files-content-${file.id}${extension}`,
            content.body,
            content.contentType,
          ),
        );
      }
      return written;
    },

    /** Writes the manifest last, so an archive with a manifest is complete; answers its SHA-256. */
    async writeExportManifest(manifest: ExportManifest & { expiresAt: string }): Promise<string> {
      const { expiresAt, ...content } = manifest;
      const file = await writeFile(
        storage.forTenant(manifest.orgId),
        `${archivePrefix(manifest.requestId)}manifest.json`,
        Buffer.from(JSON.stringify(content, null, 2)),
        'application/json',
        new Date(expiresAt),
      );
      return file.sha256;
    },

    async finishExport(
      input: ExportRequestRef & { manifestSha256: string; finishedAt: string; archiveExpiresAt: string },
    ): Promise<void> {
      await setRequest(input, {
        status: 'completed',
        finishedAt: new Date(input.finishedAt),
        archivePrefix: archivePrefix(input.requestId),
        manifestSha256: input.manifestSha256,
        archiveExpiresAt: new Date(input.archiveExpiresAt),
      });
    },

    /**
     * Records the mail telling the requester their export is ready, with the link to it and until
     * when it lasts (delivered by deliverMail); null when the requester's account is gone.
     */
    async enqueueExportReadyMail(
      input: ExportRequestRef & { idempotencyKey: string; archiveExpiresAt: string },
    ): Promise<OutboxRef | null> {
      return withTenant(db, input.orgId, async (tx) => {
        const [requester] = await tx
          .select({ email: users.email })
          .from(dataRequests)
          .innerJoin(users, eq(users.id, dataRequests.requestedBy))
          .where(eq(dataRequests.id, input.requestId));
        if (!requester) return null;
        return enqueue(tx, input.orgId, input.idempotencyKey, {
          template: 'data-export-ready',
          to: requester.email,
          subject: 'Your Vlinders data export is ready',
          text: [
            'Hello,',
            '',
            'The export of your data you asked for is ready. Its files are listed, with their',
            'SHA-256 checksums, at (sign in to download):',
            '',
            dataRequestLink(publicUrl, input.orgId, input.requestId),
            '',
            `They can be downloaded until ${input.archiveExpiresAt}; then they are deleted.`,
            '',
            '— Vlinders',
          ].join('\n'),
        });
      });
    },

    /** The deadline passed with the export unfinished: recorded once, for operators to act on. */
    async markExportOverdue(ref: ExportRequestRef & { at: string }): Promise<void> {
      await withTenant(db, ref.orgId, (tx) =>
        tx
          .update(dataRequests)
          .set({ overdueAt: new Date(ref.at) })
          .where(and(eq(dataRequests.id, ref.requestId), isNull(dataRequests.overdueAt))),
      );
    },

    /** Deletes the archive once its link has expired. */
    async expireExport(ref: ExportRequestRef): Promise<number> {
      const objects = storage.forTenant(ref.orgId);
      const files = await objects.list(archivePrefix(ref.requestId));
      await objects.delete(files.map((f) => f.name));
      await setRequest(ref, { status: 'expired' });
      return files.length;
    },
  };
}

export type GdprActivities = ReturnType<typeof createGdprActivities>;
