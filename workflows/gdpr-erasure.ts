// A GDPR erasure (`gdpr-erasure/<requestId>`) of a person in an organization, or of the whole
// organization. It waits out a grace period in which a cancel stops it with nothing changed (the
// API records the cancel in the request's row, then sends the `cancel` signal); then a legal hold blocks it (recorded with the hold's reason), or it freezes the subject
// (keys and tokens revoked, the subscription cancelled with its final invoice), erases or
// anonymises every store in turn, and writes the tombstone. Every step is idempotent, so a retry
// or a second run finds nothing left and says so. Its progress is a query, shown in the Temporal UI.
import { condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { GdprErasureActivities } from '../activities/gdpr/erasure.js';
import { erasureStores } from '../core/data-requests.js';
import { activityPresets } from '../temporal.config.js';
import { watchDeadline } from './deadline.js';
import {
  gdprErasureQueries,
  gdprErasureSignals,
  type GdprErasureInput,
  type GdprErasureProgress,
} from './definitions.js';

const database = proxyActivities<GdprErasureActivities>(activityPresets.durable);
const erase = proxyActivities<GdprErasureActivities>(activityPresets.dataExport);

export async function gdprErasure(input: GdprErasureInput): Promise<GdprErasureProgress> {
  const ref = { erasedOrgId: input.erasedOrgId, requestId: input.requestId };
  const progress: GdprErasureProgress = {
    erasedOrgId: input.erasedOrgId,
    phase: 'grace',
    graceEndsAt: input.graceEndsAt,
    dueAt: input.dueAt,
    overdue: false,
    blockedReason: null,
    stores: [],
    finishedAt: null,
  };
  setHandler(gdprErasureQueries.progress, () => progress);
  setHandler(gdprErasureSignals.cancel, () => {
    if (progress.phase === 'grace') progress.phase = 'cancelled';
  });

  const deadline = watchDeadline(
    input.dueAt,
    () => progress.finishedAt !== null,
    async (at) => {
      progress.overdue = true;
      await database.markErasureOverdue({ ...ref, at });
    },
  );

  const untilGraceEnds = Math.max(0, new Date(input.graceEndsAt).getTime() - Date.now());
  await condition(() => progress.phase === 'cancelled', untilGraceEnds);
  if (progress.phase === 'cancelled') {
    progress.finishedAt = await database.cancelErasure(ref);
    await deadline;
    return progress;
  }

  progress.phase = 'freezing';
  // The request's row decides: a cancel the API recorded just before the grace period ended wins.
  const start = await database.startErasure(ref);
  if (start?.cancelled) {
    progress.phase = 'cancelled';
    progress.finishedAt = await database.cancelErasure(ref);
    await deadline;
    return progress;
  }
  if (start?.blockedBy) {
    progress.blockedReason = start.blockedBy;
    progress.phase = 'blocked';
    progress.finishedAt = await database.blockErasure({ ...ref, reason: start.blockedBy });
    await deadline;
    return progress;
  }
  await erase.freezeSubject(input);

  progress.phase = 'erasing';
  for (const store of erasureStores[input.scope]) {
    progress.stores.push(await erase.eraseStore({ ...input, store }));
  }
  progress.finishedAt = await database.finishErasure({ ...input, stores: progress.stores });
  progress.phase = 'erased';
  await deadline;
  return progress;
}
