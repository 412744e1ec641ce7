// A file's ingestion into a vector store (workflows/ingest.ts): read it from the tenant's objects,
// chunk it, embed the chunks through the platform's own /v1/embeddings, store them as points.
//
// The embeddings go through the gateway like any client's, so they are admitted, limited and
// metered as the tenant's inference: with an API key of their own, minted for this one attempt
// (scoped to the store's embedding model, team and creator of the key that added the file, expiring
// within the hour) and revoked when it ends; its plaintext never leaves this function.
//
// Heartbeats carry the chunks stored so far, so a retry after a killed worker resumes there; point
// ids are derived from (store, file, chunk), so a batch stored twice replaces itself. Each batch is
// stored while the file's row is locked: the API deletes the row before the file's points, so once
// it has, no batch can land after its delete.
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { and, eq, sql } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import { apiKeyInvalidationChannel } from '../../core/api-key-cache.js';
import { chunkText } from '../../core/chunking.js';
import type { Db } from '../../db/client.js';
import { apiKeys, files, organizations, vectorStoreFiles, vectorStores } from '../../db/schema/index.js';
import { withTenant } from '../../db/tenant.js';
import { generateKey, hashSecret } from '../../runtime/api-key-secrets.js';
import type { IngestError, IngestInput, IngestOutcome } from '../../core/ingestion.js';
import type { ObjectStorage } from '../storage/index.js';
import type { Collection, VectorStore } from '../vectors/port.js';

export interface IngestDeps {
  db: Db;
  storage: ObjectStorage;
  vectors: () => Promise<VectorStore>;
  /** Where this process reaches the platform's /v1 (INFERENCE_URL). */
  inferenceUrl: string;
  /** The API keys' environment name and secret pepper, to mint the attempt's key. */
  keys: { env: string; pepper: () => Promise<Buffer> };
  /** Undefined without REDIS_URL: the revoked key's prefix is then dropped by expiry alone. */
  redis: Redis | undefined;
}

/** A file's bytes in the tenant's objects. */
export const fileObjectName = (fileId: string) => `files/${fileId}`;

/** Chunks embedded per request. */
const batchSize = 32;
/** The minted key outlives no attempt (the activity's start-to-close is 30 minutes). */
const keyLifetimeMs = 35 * 60_000;

interface Job {
  model: string;
  dimensions: number | null;
  maxChunkTokens: number;
  chunkOverlapTokens: number;
  addedBy: string | null;
  addedByTeam: string | null;
  attributes: Record<string, string | number | boolean>;
}

function refuse(code: IngestError['code'], message: string): ApplicationFailure {
  // VALIDATION is never retried (temporal.config.ts); the workflow reads the code from the details.
  return ApplicationFailure.create({ type: 'VALIDATION', message, nonRetryable: true, details: [code] });
}

/** The point id of a chunk: a UUID from a hash, the same on every retry. */
function chunkPointId(vectorStoreId: string, fileId: string, chunk: number): string {
  const hex = createHash('sha256').update(`${vectorStoreId}/${fileId}/${chunk}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function createIngestActivities(deps: IngestDeps) {
  const { db } = deps;

  async function loadJob({ orgId, vectorStoreId, fileId }: IngestInput): Promise<Job | null> {
    const [row] = await withTenant(db, orgId, (tx) =>
      tx
        .select({
          model: vectorStores.embeddingModel,
          dimensions: vectorStores.dimensions,
          maxChunkTokens: vectorStoreFiles.maxChunkTokens,
          chunkOverlapTokens: vectorStoreFiles.chunkOverlapTokens,
          addedBy: vectorStoreFiles.addedBy,
          addedByTeam: vectorStoreFiles.addedByTeam,
          attributes: vectorStoreFiles.attributes,
          status: vectorStoreFiles.status,
          orgStatus: organizations.status,
        })
        .from(vectorStoreFiles)
        .innerJoin(vectorStores, eq(vectorStores.id, vectorStoreFiles.vectorStoreId))
        .innerJoin(organizations, eq(organizations.id, vectorStoreFiles.orgId))
        .where(and(eq(vectorStoreFiles.vectorStoreId, vectorStoreId), eq(vectorStoreFiles.fileId, fileId))),
    );
    // An org being erased (or not yet onboarded) gets no new key and stores nothing.
    return row?.status === 'in_progress' && row.orgStatus === 'active' ? row : null;
  }

  async function readText({ orgId, fileId }: IngestInput): Promise<string> {
    const object = await deps.storage.forTenant(orgId).get(fileObjectName(fileId));
    if (!object) throw refuse('invalid_file', 'The file has no content any more.');
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(object.body);
    } catch {
      throw refuse('unsupported_file', 'The file is not UTF-8 text; only text files can be searched.');
    }
  }

  /** A key for this attempt: what the key that added the file may do with the store's model. */
  async function mintKey(orgId: string, job: Job): Promise<{ id: string; prefix: string; key: string }> {
    if (!job.addedBy) throw refuse('server_error', 'The member who added the file no longer exists.');
    const generated = generateKey(deps.keys.env);
    const secretHash = hashSecret(await deps.keys.pepper(), generated.secret).toString('base64url');
    const [row] = await withTenant(db, orgId, (tx) =>
      tx
        .insert(apiKeys)
        .values({
          orgId,
          teamId: job.addedByTeam,
          createdBy: job.addedBy!,
          name: 'vector-store ingestion (platform, expires within the hour)',
          prefix: generated.prefix,
          secretHash,
          scopes: ['inference'],
          allowedModels: [job.model],
          expiresAt: new Date(Date.now() + keyLifetimeMs),
        })
        .returning({ id: apiKeys.id }),
    );
    return { id: row!.id, prefix: generated.prefix, key: generated.key };
  }

  async function revokeKey(orgId: string, key: { id: string; prefix: string }): Promise<void> {
    await withTenant(db, orgId, (tx) =>
      tx
        .update(apiKeys)
        .set({ revokedAt: sql`now()` })
        .where(eq(apiKeys.id, key.id)),
    );
    await deps.redis?.publish(apiKeyInvalidationChannel, key.prefix);
  }

  async function embed(
    key: string,
    model: string,
    input: string[],
    signal: AbortSignal,
  ): Promise<number[][]> {
    const response = await fetch(`${deps.inferenceUrl}/embeddings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, input }),
      signal,
    });
    const text = await response.text();
    if (!response.ok) {
      const message = `/v1/embeddings answered ${response.status}: ${text.slice(0, 300)}`;
      // The model or the input is refused: retrying cannot help. Anything else may pass later.
      if ([400, 404, 413].includes(response.status)) throw refuse('server_error', message);
      throw new Error(message);
    }
    const answer = JSON.parse(text) as { data?: { index: number; embedding: number[] }[] };
    const data = [...(answer.data ?? [])].sort((a, b) => a.index - b.index);
    if (data.length !== input.length || data.some((d) => !Array.isArray(d.embedding)))
      throw new Error(`/v1/embeddings answered ${data.length} embeddings for ${input.length} inputs`);
    return data.map((d) => d.embedding);
  }

  /**
   * Stores a batch while the file's row is locked; false when the row is gone (the file was removed
   * from the store): then nothing is stored, and what earlier batches stored is deleted.
   */
  async function storeBatch(
    input: IngestInput,
    job: Job,
    first: number,
    chunks: string[],
    embeddings: number[][],
    ensured: Set<string>,
  ): Promise<boolean> {
    const store = await deps.vectors();
    const dimensions = embeddings[0]!.length;
    const collection: Collection = { model: job.model, dimensions };
    const kept = await withTenant(db, input.orgId, async (tx) => {
      const [row] = await tx
        .select({ status: vectorStoreFiles.status })
        .from(vectorStoreFiles)
        .where(
          and(
            eq(vectorStoreFiles.vectorStoreId, input.vectorStoreId),
            eq(vectorStoreFiles.fileId, input.fileId),
          ),
        )
        .for('share');
      if (!row) return false;
      // The store's first embeddings fix its size; a model that changes size is an error.
      const [sized] = await tx
        .update(vectorStores)
        .set({ dimensions: sql`coalesce(${vectorStores.dimensions}, ${dimensions})` })
        .where(eq(vectorStores.id, input.vectorStoreId))
        .returning({ dimensions: vectorStores.dimensions });
      if (sized?.dimensions !== dimensions)
        throw refuse(
          'server_error',
          `The model answered ${dimensions} dimensions; the store holds ${sized?.dimensions}.`,
        );
      // Once per attempt: the collection outlives the batches.
      const name = `${collection.model}/${collection.dimensions}`;
      if (!ensured.has(name)) {
        await store.ensureCollection(collection);
        ensured.add(name);
      }
      await store.forTenant(input.orgId).upsert(
        collection,
        chunks.map((text, i) => ({
          id: chunkPointId(input.vectorStoreId, input.fileId, first + i),
          vector: embeddings[i]!,
          storeId: input.vectorStoreId,
          fileId: input.fileId,
          text,
          attributes: job.attributes,
        })),
      );
      return true;
    });
    if (!kept)
      await store
        .forTenant(input.orgId)
        .delete(collection, { storeId: input.vectorStoreId, fileId: input.fileId });
    return kept;
  }

  return {
    /** Chunks, embeds and stores the file; answers its chunk count (0 when it was removed meanwhile). */
    async ingestFile(input: IngestInput): Promise<{ chunks: number }> {
      const context = Context.current();
      const job = await loadJob(input);
      if (!job) return { chunks: 0 };
      const chunks = chunkText(await readText(input), {
        maxChunkTokens: job.maxChunkTokens,
        overlapTokens: job.chunkOverlapTokens,
      });
      const resumed = (context.info.heartbeatDetails as { stored?: number } | undefined)?.stored ?? 0;
      if (resumed >= chunks.length) return { chunks: chunks.length };
      const key = await mintKey(input.orgId, job);
      const ensured = new Set<string>();
      try {
        for (let first = resumed; first < chunks.length; first += batchSize) {
          const batch = chunks.slice(first, first + batchSize);
          const embeddings = await embed(key.key, job.model, batch, context.cancellationSignal);
          if (!(await storeBatch(input, job, first, batch, embeddings, ensured))) return { chunks: 0 };
          context.heartbeat({ stored: first + batch.length });
        }
      } finally {
        await revokeKey(input.orgId, key);
      }
      return { chunks: chunks.length };
    },

    /** Records the outcome in the file's row (none when it was removed meanwhile), with the file's size. */
    async finishIngest(input: IngestInput & { outcome: IngestOutcome }): Promise<void> {
      const { orgId, vectorStoreId, fileId, outcome } = input;
      await withTenant(db, orgId, async (tx) => {
        const [file] = await tx.select({ bytes: files.bytes }).from(files).where(eq(files.id, fileId));
        await tx
          .update(vectorStoreFiles)
          .set({
            status: outcome.status,
            chunks: outcome.chunks,
            usageBytes: outcome.status === 'completed' ? (file?.bytes ?? 0) : 0,
            lastError: outcome.lastError,
          })
          .where(
            and(
              eq(vectorStoreFiles.vectorStoreId, vectorStoreId),
              eq(vectorStoreFiles.fileId, fileId),
              eq(vectorStoreFiles.status, 'in_progress'),
            ),
          );
        await tx
          .update(vectorStores)
          .set({ lastActiveAt: sql`now()` })
          .where(eq(vectorStores.id, vectorStoreId));
      });
    },
  };
}

export type IngestActivities = ReturnType<typeof createIngestActivities>;
