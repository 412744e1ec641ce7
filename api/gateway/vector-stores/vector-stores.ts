// Vector stores, OpenAI's shapes: a tenant's named groups of files, searchable by meaning. Adding a
// file starts its ingestion (`ingest/<fileId>/<vectorStoreId>`, workflows/ingest.ts) and answers at
// once, `in_progress`; the workflow records the outcome in the file's row. A search embeds the
// query through /v1/embeddings with the caller's own key (metered like any request) and asks the
// vector store for the tenant's nearest chunks in this store.
//
// Removing a file from a store (or the store, or the file) deletes its row first, then its points:
// ingestion stores each batch only while the row exists (activities/ingest/), so no batch lands
// after the delete.
import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Collection, VectorStore } from '../../../activities/vectors/port.js';
import { chunkingProblem, defaultChunking, type ChunkingStrategy } from '../../../core/chunking.js';
import type { Db, Tx } from '../../../db/client.js';
import {
  apiKeys,
  files,
  oauthClients,
  vectorStoreFiles,
  vectorStores,
  type Attributes,
  type VectorStoreFileStatus,
} from '../../../db/schema/index.js';
import { withTenant } from '../../../db/tenant.js';
import { taskQueues, workflowIds } from '../../../temporal.config.js';
import { workflowTypes, type IngestInput } from '../../../workflows/definitions.js';
import { tenantSearchAttributes } from '../../control/orgs/onboarding.js';
import { InferenceError } from '../../errors.js';
import { requireFilesAccess } from '../inference-key.js';
import type { VerifiedKey } from '../../identity/api-keys/verifier.js';
import {
  afterCursor,
  fileIds,
  listPage,
  notFound,
  unixSeconds,
  vectorStoreIds,
  type ListQuery,
} from '../openai-objects.js';

export interface VectorStoreDeps {
  db: Db;
  temporal: Client;
  vectors: () => Promise<VectorStore>;
  /** The model a store embeds with when its creator names none (VECTOR_EMBEDDING_MODEL). */
  defaultEmbeddingModel: string;
  /** Whether the model exists and the key may call it (the gateway's registry and policy). */
  mayEmbedWith: (key: VerifiedKey, model: string) => boolean;
}

type StoreRow = typeof vectorStores.$inferSelect;
type StoreFileRow = typeof vectorStoreFiles.$inferSelect;

export interface ChunkingInput {
  type: 'auto' | 'static';
  static?: { max_chunk_size_tokens: number; chunk_overlap_tokens: number };
}

export interface CreateVectorStoreInput {
  name?: string;
  file_ids?: string[];
  metadata?: Record<string, string>;
  chunking_strategy?: ChunkingInput;
  /** Ours, not OpenAI's: the embedding model (default VECTOR_EMBEDDING_MODEL). */
  embedding_model?: string;
}

export interface AddFileInput {
  file_id: string;
  attributes?: Attributes;
  chunking_strategy?: ChunkingInput;
}

export interface SearchInput {
  query: string | string[];
  max_num_results?: number;
  filters?: unknown;
  ranking_options?: { ranker?: string; score_threshold?: number };
  rewrite_query?: boolean;
}

function fileCounts(rows: { status: VectorStoreFileStatus; files: number }[]) {
  const counts = { in_progress: 0, completed: 0, failed: 0, cancelled: 0, total: 0 };
  for (const { status, files: n } of rows) {
    counts[status] += n;
    counts.total += n;
  }
  return counts;
}

interface StoreTotals {
  counts: { status: VectorStoreFileStatus; files: number }[];
  usageBytes: number;
}

function storeView(row: StoreRow, totals: StoreTotals) {
  const counts = fileCounts(totals.counts);
  return {
    id: vectorStoreIds.of(row.id),
    object: 'vector_store' as const,
    created_at: unixSeconds(row.createdAt),
    name: row.name,
    usage_bytes: totals.usageBytes,
    file_counts: counts,
    status: counts.in_progress > 0 ? ('in_progress' as const) : ('completed' as const),
    last_active_at: unixSeconds(row.lastActiveAt),
    metadata: row.metadata,
    expires_at: null,
    embedding_model: row.embeddingModel,
  };
}

function storeFileView(row: StoreFileRow) {
  return {
    id: fileIds.of(row.fileId),
    object: 'vector_store.file' as const,
    usage_bytes: row.usageBytes,
    created_at: unixSeconds(row.createdAt),
    vector_store_id: vectorStoreIds.of(row.vectorStoreId),
    status: row.status,
    last_error: row.lastError,
    chunking_strategy: {
      type: 'static' as const,
      static: { max_chunk_size_tokens: row.maxChunkTokens, chunk_overlap_tokens: row.chunkOverlapTokens },
    },
    attributes: row.attributes,
  };
}

function chunkingOf(input: ChunkingInput | undefined): ChunkingStrategy {
  if (!input || input.type === 'auto') return defaultChunking;
  if (!input.static)
    throw new InferenceError('VALIDATION', 'invalid_value', 'A static chunking strategy needs `static`.', {
      param: 'chunking_strategy',
    });
  const strategy = {
    maxChunkTokens: input.static.max_chunk_size_tokens,
    overlapTokens: input.static.chunk_overlap_tokens,
  };
  const problem = chunkingProblem(strategy);
  if (problem)
    throw new InferenceError('VALIDATION', 'invalid_value', problem, { param: 'chunking_strategy' });
  return strategy;
}

/** The user (and team) behind a key or machine client: whose usage the file's embeddings are. */
async function addedByOf(
  tx: Tx,
  key: VerifiedKey,
): Promise<{ addedBy: string | null; addedByTeam: string | null }> {
  const [fromKey] = await tx
    .select({ createdBy: apiKeys.createdBy })
    .from(apiKeys)
    .where(eq(apiKeys.id, key.keyId));
  const [fromClient] = fromKey
    ? []
    : await tx
        .select({ createdBy: oauthClients.createdBy })
        .from(oauthClients)
        .where(eq(oauthClients.id, key.keyId));
  return { addedBy: fromKey?.createdBy ?? fromClient?.createdBy ?? null, addedByTeam: key.teamId };
}

async function findStore(tx: Tx, orgId: string, id: string): Promise<StoreRow> {
  const storeId = vectorStoreIds.parse(id, 'vector_store_id');
  const [row] = await tx
    .select()
    .from(vectorStores)
    .where(and(eq(vectorStores.orgId, orgId), eq(vectorStores.id, storeId)));
  if (!row) throw notFound('vector store', id, 'vector_store_id');
  return row;
}

async function totalsOf(tx: Tx, storeIds: string[]): Promise<Map<string, StoreTotals>> {
  const totals = new Map<string, StoreTotals>(storeIds.map((id) => [id, { counts: [], usageBytes: 0 }]));
  if (storeIds.length === 0) return totals;
  const rows = await tx
    .select({
      storeId: vectorStoreFiles.vectorStoreId,
      status: vectorStoreFiles.status,
      files: sql<number>`count(*)::integer`,
      bytes: sql<number>`coalesce(sum(${vectorStoreFiles.usageBytes}), 0)::bigint`.mapWith(Number),
    })
    .from(vectorStoreFiles)
    .where(inArray(vectorStoreFiles.vectorStoreId, storeIds))
    .groupBy(vectorStoreFiles.vectorStoreId, vectorStoreFiles.status);
  for (const row of rows) {
    const total = totals.get(row.storeId)!;
    total.counts.push({ status: row.status, files: row.files });
    total.usageBytes += row.bytes;
  }
  return totals;
}

async function viewOf(tx: Tx, row: StoreRow) {
  return storeView(row, (await totalsOf(tx, [row.id])).get(row.id)!);
}

async function startIngestion(deps: VectorStoreDeps, input: IngestInput): Promise<void> {
  try {
    await deps.temporal.workflow.start(workflowTypes.ingest, {
      taskQueue: taskQueues.tenants,
      workflowId: workflowIds.ingest(input.fileId, input.vectorStoreId),
      args: [input],
      typedSearchAttributes: tenantSearchAttributes(input.orgId),
    });
  } catch (err) {
    await withTenant(deps.db, input.orgId, (tx) =>
      tx
        .delete(vectorStoreFiles)
        .where(
          and(
            eq(vectorStoreFiles.vectorStoreId, input.vectorStoreId),
            eq(vectorStoreFiles.fileId, input.fileId),
          ),
        ),
    );
    if (err instanceof WorkflowExecutionAlreadyStartedError)
      throw new InferenceError(
        'CONFLICT',
        'conflict',
        'This file is still being removed from the vector store; add it again in a moment.',
        { param: 'file_id' },
      );
    throw new InferenceError(
      'UNAVAILABLE',
      'service_unavailable',
      'The file could not be queued for ingestion; try again.',
    );
  }
}

/** Inserts the file's row in the store, then starts its ingestion; an existing row is answered as it is. */
async function addFileToStore(
  deps: VectorStoreDeps,
  key: VerifiedKey,
  store: StoreRow,
  input: AddFileInput,
): Promise<StoreFileRow> {
  const fileId = fileIds.parse(input.file_id, 'file_id');
  const chunking = chunkingOf(input.chunking_strategy);
  const inserted = await withTenant(deps.db, key.orgId, async (tx) => {
    const [file] = await tx
      .select({ id: files.id })
      .from(files)
      .where(and(eq(files.orgId, key.orgId), eq(files.id, fileId)));
    if (!file) throw notFound('file', input.file_id, 'file_id');
    const [row] = await tx
      .insert(vectorStoreFiles)
      .values({
        vectorStoreId: store.id,
        fileId,
        orgId: key.orgId,
        attributes: input.attributes ?? {},
        maxChunkTokens: chunking.maxChunkTokens,
        chunkOverlapTokens: chunking.overlapTokens,
        ...(await addedByOf(tx, key)),
      })
      .onConflictDoNothing()
      .returning();
    if (row) return { row, created: true };
    const [existing] = await tx
      .select()
      .from(vectorStoreFiles)
      .where(and(eq(vectorStoreFiles.vectorStoreId, store.id), eq(vectorStoreFiles.fileId, fileId)));
    return { row: existing!, created: false };
  });
  if (inserted.created) await startIngestion(deps, { orgId: key.orgId, vectorStoreId: store.id, fileId });
  return inserted.row;
}

function requireEmbedding(deps: VectorStoreDeps, key: VerifiedKey, model: string, param: string): void {
  if (!deps.mayEmbedWith(key, model))
    throw new InferenceError(
      'NOT_FOUND',
      'model_not_found',
      `The embedding model '${model}' does not exist or this key may not use it.`,
      { param, type: 'invalid_request_error' },
    );
}

export async function createVectorStore(
  deps: VectorStoreDeps,
  key: VerifiedKey,
  input: CreateVectorStoreInput,
) {
  requireFilesAccess(key);
  const model = input.embedding_model ?? deps.defaultEmbeddingModel;
  requireEmbedding(deps, key, model, input.embedding_model ? 'embedding_model' : 'model');
  // Checked before anything is written: a bad id or strategy leaves no store behind.
  const fileUuids = (input.file_ids ?? []).map((id) => fileIds.parse(id, 'file_ids'));
  chunkingOf(input.chunking_strategy);
  const store = await withTenant(deps.db, key.orgId, async (tx) => {
    if (fileUuids.length > 0) {
      const found = await tx
        .select({ id: files.id })
        .from(files)
        .where(and(eq(files.orgId, key.orgId), inArray(files.id, fileUuids)));
      const missing = fileUuids.find((id) => !found.some((f) => f.id === id));
      if (missing) throw notFound('file', fileIds.of(missing), 'file_ids');
    }
    const [row] = await tx
      .insert(vectorStores)
      .values({
        orgId: key.orgId,
        name: input.name ?? '',
        metadata: input.metadata ?? {},
        embeddingModel: model,
      })
      .returning();
    return row!;
  });
  for (const id of new Set(fileUuids))
    await addFileToStore(deps, key, store, {
      file_id: fileIds.of(id),
      chunking_strategy: input.chunking_strategy,
    });
  return withTenant(deps.db, key.orgId, async (tx) =>
    viewOf(tx, await findStore(tx, key.orgId, vectorStoreIds.of(store.id))),
  );
}

export async function listVectorStores(deps: VectorStoreDeps, key: VerifiedKey, query: ListQuery) {
  requireFilesAccess(key);
  const order = query.order ?? 'desc';
  const limit = query.limit ?? 20;
  return withTenant(deps.db, key.orgId, async (tx) => {
    const cursor = query.after ? await findStore(tx, key.orgId, query.after) : undefined;
    const sort = order === 'desc' ? desc : asc;
    const rows = await tx
      .select()
      .from(vectorStores)
      .where(and(eq(vectorStores.orgId, key.orgId), afterCursor(order, cursor, vectorStores)))
      .orderBy(sort(vectorStores.createdAt), sort(vectorStores.id))
      .limit(limit + 1);
    const totals = await totalsOf(
      tx,
      rows.slice(0, limit).map((r) => r.id),
    );
    return listPage(rows, limit, (row) => storeView(row, totals.get(row.id)!));
  });
}

export function getVectorStore(deps: VectorStoreDeps, key: VerifiedKey, id: string) {
  requireFilesAccess(key);
  return withTenant(deps.db, key.orgId, async (tx) => viewOf(tx, await findStore(tx, key.orgId, id)));
}

export function updateVectorStore(
  deps: VectorStoreDeps,
  key: VerifiedKey,
  id: string,
  input: { name?: string; metadata?: Record<string, string> },
) {
  requireFilesAccess(key);
  return withTenant(deps.db, key.orgId, async (tx) => {
    const store = await findStore(tx, key.orgId, id);
    const [row] = await tx
      .update(vectorStores)
      .set({
        ...(input.name !== undefined && { name: input.name }),
        ...(input.metadata !== undefined && { metadata: input.metadata }),
        lastActiveAt: sql`now()`,
      })
      .where(eq(vectorStores.id, store.id))
      .returning();
    return viewOf(tx, row!);
  });
}

/** Stops a file's ingestion into a store, if it runs. */
async function cancelIngestion(deps: VectorStoreDeps, fileId: string, storeId: string): Promise<void> {
  try {
    await deps.temporal.workflow.getHandle(workflowIds.ingest(fileId, storeId)).cancel();
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
}

/** Deletes the points of these (store, file) pairs, the rows being gone already. */
async function deletePoints(
  deps: VectorStoreDeps,
  orgId: string,
  removed: { storeId: string; fileId?: string; model: string; dimensions: number | null }[],
): Promise<void> {
  const sized = removed.filter((r) => r.dimensions !== null);
  if (sized.length === 0) return;
  const store = await deps.vectors();
  const tenant = store.forTenant(orgId);
  for (const r of sized) {
    const collection: Collection = { model: r.model, dimensions: r.dimensions! };
    await tenant.delete(collection, { storeId: r.storeId, ...(r.fileId && { fileId: r.fileId }) });
  }
}

export async function deleteVectorStore(deps: VectorStoreDeps, key: VerifiedKey, id: string) {
  requireFilesAccess(key);
  const { store, fileUuids } = await withTenant(deps.db, key.orgId, async (tx) => {
    const store = await findStore(tx, key.orgId, id);
    const removed = await tx
      .delete(vectorStoreFiles)
      .where(eq(vectorStoreFiles.vectorStoreId, store.id))
      .returning({ fileId: vectorStoreFiles.fileId, status: vectorStoreFiles.status });
    await tx.delete(vectorStores).where(eq(vectorStores.id, store.id));
    return { store, fileUuids: removed.filter((r) => r.status === 'in_progress').map((r) => r.fileId) };
  });
  for (const fileId of fileUuids) await cancelIngestion(deps, fileId, store.id);
  await deletePoints(deps, key.orgId, [
    { storeId: store.id, model: store.embeddingModel, dimensions: store.dimensions },
  ]);
  return { id: vectorStoreIds.of(store.id), object: 'vector_store.deleted' as const, deleted: true };
}

export async function addVectorStoreFile(
  deps: VectorStoreDeps,
  key: VerifiedKey,
  storeId: string,
  input: AddFileInput,
) {
  requireFilesAccess(key);
  const store = await withTenant(deps.db, key.orgId, (tx) => findStore(tx, key.orgId, storeId));
  requireEmbedding(deps, key, store.embeddingModel, 'vector_store_id');
  return storeFileView(await addFileToStore(deps, key, store, input));
}

export async function listVectorStoreFiles(
  deps: VectorStoreDeps,
  key: VerifiedKey,
  storeId: string,
  query: ListQuery & { filter?: VectorStoreFileStatus },
) {
  requireFilesAccess(key);
  const order = query.order ?? 'desc';
  const limit = query.limit ?? 20;
  return withTenant(deps.db, key.orgId, async (tx) => {
    const store = await findStore(tx, key.orgId, storeId);
    const cursor = query.after ? await findStoreFile(tx, store, query.after) : undefined;
    const sort = order === 'desc' ? desc : asc;
    const rows = await tx
      .select()
      .from(vectorStoreFiles)
      .where(
        and(
          eq(vectorStoreFiles.vectorStoreId, store.id),
          query.filter ? eq(vectorStoreFiles.status, query.filter) : undefined,
          afterCursor(order, cursor && { createdAt: cursor.createdAt, id: cursor.fileId }, {
            createdAt: vectorStoreFiles.createdAt,
            id: vectorStoreFiles.fileId,
          }),
        ),
      )
      .orderBy(sort(vectorStoreFiles.createdAt), sort(vectorStoreFiles.fileId))
      .limit(limit + 1);
    return listPage(rows, limit, storeFileView);
  });
}

async function findStoreFile(tx: Tx, store: StoreRow, id: string): Promise<StoreFileRow> {
  const fileId = fileIds.parse(id, 'file_id');
  const [row] = await tx
    .select()
    .from(vectorStoreFiles)
    .where(and(eq(vectorStoreFiles.vectorStoreId, store.id), eq(vectorStoreFiles.fileId, fileId)));
  if (!row) throw notFound('file', id, 'file_id');
  return row;
}

export function getVectorStoreFile(deps: VectorStoreDeps, key: VerifiedKey, storeId: string, fileId: string) {
  requireFilesAccess(key);
  return withTenant(deps.db, key.orgId, async (tx) =>
    storeFileView(await findStoreFile(tx, await findStore(tx, key.orgId, storeId), fileId)),
  );
}

export async function removeVectorStoreFile(
  deps: VectorStoreDeps,
  key: VerifiedKey,
  storeId: string,
  id: string,
) {
  requireFilesAccess(key);
  const { store, row } = await withTenant(deps.db, key.orgId, async (tx) => {
    const store = await findStore(tx, key.orgId, storeId);
    const row = await findStoreFile(tx, store, id);
    await tx
      .delete(vectorStoreFiles)
      .where(and(eq(vectorStoreFiles.vectorStoreId, store.id), eq(vectorStoreFiles.fileId, row.fileId)));
    return { store, row };
  });
  if (row.status === 'in_progress') await cancelIngestion(deps, row.fileId, store.id);
  await deletePoints(deps, key.orgId, [
    { storeId: store.id, fileId: row.fileId, model: store.embeddingModel, dimensions: store.dimensions },
  ]);
  return { id: fileIds.of(row.fileId), object: 'vector_store.file.deleted' as const, deleted: true };
}

/** Takes a deleted file out of every store it was in: rows (already cascaded), ingestions, points. */
export async function removeFileFromStores(
  deps: VectorStoreDeps,
  orgId: string,
  fileId: string,
  inStores: { storeId: string; status: VectorStoreFileStatus; model: string; dimensions: number | null }[],
): Promise<void> {
  for (const s of inStores) if (s.status === 'in_progress') await cancelIngestion(deps, fileId, s.storeId);
  await deletePoints(
    deps,
    orgId,
    inStores.map((s) => ({ ...s, fileId })),
  );
}

/** The stores a file is in, read before the file's row (and so theirs) is deleted. */
export function storesOfFile(tx: Tx, fileId: string) {
  return tx
    .select({
      storeId: vectorStoreFiles.vectorStoreId,
      status: vectorStoreFiles.status,
      model: vectorStores.embeddingModel,
      dimensions: vectorStores.dimensions,
    })
    .from(vectorStoreFiles)
    .innerJoin(vectorStores, eq(vectorStores.id, vectorStoreFiles.vectorStoreId))
    .where(eq(vectorStoreFiles.fileId, fileId));
}

export async function searchVectorStore(
  deps: VectorStoreDeps,
  key: VerifiedKey,
  storeId: string,
  input: SearchInput,
  embed: (model: string, input: string) => Promise<number[]>,
) {
  requireFilesAccess(key);
  if (input.filters !== undefined)
    throw new InferenceError(
      'VALIDATION',
      'unsupported_parameter',
      'Attribute filters are not supported yet.',
      {
        param: 'filters',
      },
    );
  if (input.rewrite_query)
    throw new InferenceError('VALIDATION', 'unsupported_parameter', 'Query rewriting is not supported.', {
      param: 'rewrite_query',
    });
  const query = Array.isArray(input.query) ? input.query.join('\n') : input.query;
  const store = await withTenant(deps.db, key.orgId, (tx) => findStore(tx, key.orgId, storeId));
  requireEmbedding(deps, key, store.embeddingModel, 'vector_store_id');
  const page = {
    object: 'vector_store.search_results.page' as const,
    search_query: Array.isArray(input.query) ? input.query : [input.query],
    data: [] as {
      file_id: string;
      filename: string;
      score: number;
      attributes: Attributes;
      content: { type: 'text'; text: string }[];
    }[],
    has_more: false,
    next_page: null,
  };
  // Nothing embedded yet: the store has no size, and nothing to find.
  if (store.dimensions === null) return page;
  const vector = await embed(store.embeddingModel, query);
  if (vector.length !== store.dimensions)
    throw new InferenceError(
      'UNAVAILABLE',
      'model_unavailable',
      `The embedding model answered ${vector.length} dimensions; the store holds ${store.dimensions}.`,
    );
  const vectors = await deps.vectors();
  const hits = await vectors.forTenant(key.orgId).search(
    { model: store.embeddingModel, dimensions: store.dimensions },
    {
      vector,
      limit: input.max_num_results ?? 10,
      filter: { storeId: store.id },
      ...(input.ranking_options?.score_threshold !== undefined && {
        minScore: input.ranking_options.score_threshold,
      }),
    },
  );
  const names = await withTenant(deps.db, key.orgId, async (tx) => {
    await tx
      .update(vectorStores)
      .set({ lastActiveAt: sql`now()` })
      .where(eq(vectorStores.id, store.id));
    if (hits.length === 0) return [];
    return tx
      .select({ id: files.id, filename: files.filename })
      .from(files)
      .where(inArray(files.id, [...new Set(hits.map((h) => h.fileId))]));
  });
  page.data = hits.map((hit) => ({
    file_id: fileIds.of(hit.fileId),
    filename: names.find((n) => n.id === hit.fileId)?.filename ?? '',
    score: hit.score,
    attributes: hit.attributes,
    content: [{ type: 'text', text: hit.text }],
  }));
  return page;
}
