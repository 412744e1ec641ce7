// A file's ingestion into a vector store (`ingest/<fileId>/<vectorStoreId>`): one activity reads,
// chunks, embeds (through the platform's own /v1/embeddings, metered as the tenant's inference) and
// stores the file, heartbeating the chunks stored so a killed worker's retry resumes there
// (activities/ingest/). Then the file's row records the outcome: completed with its chunk count, or
// failed with the reason once retries are spent. Removing the file from the store cancels it.
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { IngestActivities } from '../activities/ingest/index.js';
import { activityPresets } from '../temporal.config.js';
import {
  ingestQueries,
  type IngestError,
  type IngestInput,
  type IngestOutcome,
  type IngestProgress,
} from './definitions.js';

const ingestion = proxyActivities<IngestActivities>(activityPresets.ingestion);
const database = proxyActivities<IngestActivities>(activityPresets.durable);

const errorCodes: readonly IngestError['code'][] = ['server_error', 'unsupported_file', 'invalid_file'];

/** The reason recorded for the tenant: the activity's own when it refused the file. */
function ingestErrorOf(err: unknown): IngestError {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const code = cause.details?.[0];
    const known = errorCodes.find((c) => c === code);
    if (known) return { code: known, message: cause.message };
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  return { code: 'server_error', message: `The file could not be embedded: ${message}` };
}

export async function ingest(input: IngestInput): Promise<IngestProgress> {
  const progress: IngestProgress = {
    orgId: input.orgId,
    status: 'in_progress',
    chunks: null,
    lastError: null,
  };
  setHandler(ingestQueries.progress, () => progress);
  let outcome: IngestOutcome;
  try {
    const { chunks } = await ingestion.ingestFile(input);
    outcome = { status: 'completed', chunks, lastError: null };
  } catch (err) {
    if (isCancellation(err)) {
      progress.status = 'cancelled';
      await CancellationScope.nonCancellable(() =>
        database.finishIngest({ ...input, outcome: { status: 'cancelled', chunks: 0, lastError: null } }),
      );
      throw err;
    }
    outcome = { status: 'failed', chunks: 0, lastError: ingestErrorOf(err) };
  }
  Object.assign(progress, outcome);
  await database.finishIngest({ ...input, outcome });
  return progress;
}
