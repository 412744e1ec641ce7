// A GDPR export (`gdpr-export/<requestId>`): every store's part written to the tenant's objects,
// then the manifest with each part's SHA-256, then the request recorded as finished and the
// requester mailed the link to it. The archive stays until it expires, then this workflow deletes it. A timer set on the law's deadline flags
// the request overdue if the export has not finished by then (a store that keeps failing), and
// the export goes on. Its progress is a query, shown in the Temporal UI.
import { patched, proxyActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { GdprActivities } from '../activities/gdpr/index.js';
import type { Activities } from '../activities/index.js';
import { archiveExpiresAt, exportStores } from '../core/data-requests.js';
import { activityPresets } from '../temporal.config.js';
import { watchDeadline } from './deadline.js';
import { gdprExportQueries, type GdprExportInput, type GdprExportProgress } from './definitions.js';

const database = proxyActivities<GdprActivities>(activityPresets.durable);
const gather = proxyActivities<GdprActivities>(activityPresets.dataExport);
const mail = proxyActivities<Activities>(activityPresets.durable);

/** Exports recorded before the vectors part and the ready mail replay without them (see `patched`). */
export const exportVectorsAndMailPatch = 'gdpr-export-vectors-and-mail';

export async function gdprExport(input: GdprExportInput): Promise<GdprExportProgress> {
  const { orgId, requestId } = input;
  const progress: GdprExportProgress = {
    orgId,
    phase: 'gathering',
    stores: [],
    dueAt: input.dueAt,
    overdue: false,
    finishedAt: null,
    manifestSha256: null,
    archiveExpiresAt: null,
  };
  setHandler(gdprExportQueries.progress, () => progress);

  const deadline = watchDeadline(
    input.dueAt,
    () => progress.finishedAt !== null,
    async (at) => {
      progress.overdue = true;
      await database.markExportOverdue({ orgId, requestId, at });
    },
  );

  const current = patched(exportVectorsAndMailPatch);
  await database.startExport({ orgId, requestId });
  for (const store of exportStores[input.scope].filter((s) => current || s !== 'vectors')) {
    const files = await gather.exportStore({ ...input, store });
    progress.stores.push({ store, files });
  }
  const finishedAt = new Date();
  const expiresAt = archiveExpiresAt(finishedAt).toISOString();
  progress.manifestSha256 = await gather.writeExportManifest({
    requestId,
    orgId,
    scope: input.scope,
    subjectUserId: input.subjectUserId,
    createdAt: finishedAt.toISOString(),
    files: progress.stores.flatMap((s) => s.files),
    expiresAt,
  });
  await database.finishExport({
    orgId,
    requestId,
    manifestSha256: progress.manifestSha256,
    finishedAt: finishedAt.toISOString(),
    archiveExpiresAt: expiresAt,
  });
  progress.finishedAt = finishedAt.toISOString();
  progress.archiveExpiresAt = expiresAt;
  progress.phase = 'archived';
  if (current) {
    const ready = await database.enqueueExportReadyMail({
      orgId,
      requestId,
      idempotencyKey: `${workflowInfo().workflowId}/ready`,
      archiveExpiresAt: expiresAt,
    });
    if (ready) await mail.deliverMail(ready);
  }
  await deadline;

  await sleep(new Date(expiresAt).getTime() - Date.now());
  await database.expireExport({ orgId, requestId });
  progress.phase = 'expired';
  return progress;
}
