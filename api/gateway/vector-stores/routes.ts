// /v1/vector_stores: OpenAI's vector-stores API, for the official SDKs. The key was checked by the
// scope's hook (gateway/index.ts); what it may do is decided by the service (vector-stores.ts).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InferenceError } from '../../errors.js';
import { inferenceKeyOf } from '../inference-key.js';
import { inferenceErrors } from '../schemas.js';
import {
  AddFileBody,
  CreateVectorStoreBody,
  ListQuery,
  SearchBody,
  SearchResults,
  UpdateVectorStoreBody,
  VectorStore,
  VectorStoreDeleted,
  VectorStoreFile,
  VectorStoreFileDeleted,
  VectorStoreFileList,
  VectorStoreFileListQuery,
  VectorStoreFileParams,
  VectorStoreList,
  VectorStoreParams,
} from './schemas.js';
import {
  addVectorStoreFile,
  createVectorStore,
  deleteVectorStore,
  getVectorStore,
  getVectorStoreFile,
  listVectorStoreFiles,
  listVectorStores,
  removeVectorStoreFile,
  searchVectorStore,
  updateVectorStore,
  type VectorStoreDeps,
} from './vector-stores.js';

const security = [{ bearer: [] }];
const storeTags = ['vector stores'];

/** The status an answer of /v1/embeddings had, as the error the search answers with. */
const embeddingFailures: Record<number, InferenceError['code']> = {
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  429: 'RATE_LIMITED',
  503: 'UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
};

/**
 * The query's embedding, through /v1/embeddings with the caller's own credential: admitted, limited
 * and metered like any request of theirs. Its refusal (a limit, the model down) is the search's.
 */
async function embedThroughGateway(
  app: FastifyInstance,
  request: FastifyRequest,
  model: string,
  input: string,
): Promise<number[]> {
  const answer = await app.inject({
    method: 'POST',
    url: '/v1/embeddings',
    headers: {
      authorization: request.headers.authorization ?? '',
      'content-type': 'application/json',
      'x-request-id': `${request.id}.embed`,
    },
    payload: { model, input },
  });
  const body = answer.json<{
    data?: { embedding?: number[] }[];
    error?: { code?: string; message?: string };
  }>();
  const embedding = body.data?.[0]?.embedding;
  if (answer.statusCode === 200 && Array.isArray(embedding)) return embedding;
  const retryAfter = answer.headers['retry-after'];
  throw new InferenceError(
    embeddingFailures[answer.statusCode] ?? 'BAD_GATEWAY',
    body.error?.code ?? 'embedding_failed',
    `Embedding the query failed: ${body.error?.message ?? `status ${answer.statusCode}`}`,
    typeof retryAfter === 'string' ? { headers: { 'retry-after': retryAfter } } : {},
  );
}

const vectorStoreRoutes: FastifyPluginAsyncTypebox<{ deps: VectorStoreDeps }> = async (app, { deps }) => {
  app.post(
    '/vector_stores',
    {
      schema: {
        tags: storeTags,
        summary: 'Create a vector store (its files are ingested in the background)',
        security,
        body: CreateVectorStoreBody,
        response: { 200: VectorStore, ...inferenceErrors(400, 401, 403, 404, 409, 503) },
      },
    },
    async (request) => createVectorStore(deps, inferenceKeyOf(request), request.body),
  );

  app.get(
    '/vector_stores',
    {
      schema: {
        tags: storeTags,
        summary: "List the organization's vector stores",
        security,
        querystring: ListQuery,
        response: { 200: VectorStoreList, ...inferenceErrors(400, 401, 403, 404) },
      },
    },
    async (request) => listVectorStores(deps, inferenceKeyOf(request), request.query),
  );

  app.get(
    '/vector_stores/:vector_store_id',
    {
      schema: {
        tags: storeTags,
        summary: 'Show a vector store, with its file counts',
        security,
        params: VectorStoreParams,
        response: { 200: VectorStore, ...inferenceErrors(400, 401, 403, 404) },
      },
    },
    async (request) => getVectorStore(deps, inferenceKeyOf(request), request.params.vector_store_id),
  );

  app.post(
    '/vector_stores/:vector_store_id',
    {
      schema: {
        tags: storeTags,
        summary: 'Rename a vector store or replace its metadata',
        security,
        params: VectorStoreParams,
        body: UpdateVectorStoreBody,
        response: { 200: VectorStore, ...inferenceErrors(400, 401, 403, 404) },
      },
    },
    async (request) =>
      updateVectorStore(deps, inferenceKeyOf(request), request.params.vector_store_id, request.body),
  );

  app.delete(
    '/vector_stores/:vector_store_id',
    {
      schema: {
        tags: storeTags,
        summary: 'Delete a vector store and its chunks (the files stay)',
        security,
        params: VectorStoreParams,
        response: { 200: VectorStoreDeleted, ...inferenceErrors(400, 401, 403, 404) },
      },
    },
    async (request) => deleteVectorStore(deps, inferenceKeyOf(request), request.params.vector_store_id),
  );

  app.post(
    '/vector_stores/:vector_store_id/files',
    {
      schema: {
        tags: storeTags,
        summary: 'Add a file to a vector store (ingested in the background: poll its status)',
        security,
        params: VectorStoreParams,
        body: AddFileBody,
        response: { 200: VectorStoreFile, ...inferenceErrors(400, 401, 403, 404, 409, 503) },
      },
    },
    async (request) =>
      addVectorStoreFile(deps, inferenceKeyOf(request), request.params.vector_store_id, request.body),
  );

  app.get(
    '/vector_stores/:vector_store_id/files',
    {
      schema: {
        tags: storeTags,
        summary: "List a vector store's files",
        security,
        params: VectorStoreParams,
        querystring: VectorStoreFileListQuery,
        response: { 200: VectorStoreFileList, ...inferenceErrors(400, 401, 403, 404) },
      },
    },
    async (request) =>
      listVectorStoreFiles(deps, inferenceKeyOf(request), request.params.vector_store_id, request.query),
  );

  app.get(
    '/vector_stores/:vector_store_id/files/:file_id',
    {
      schema: {
        tags: storeTags,
        summary: "Show a vector store's file, with its ingestion status",
        security,
        params: VectorStoreFileParams,
        response: { 200: VectorStoreFile, ...inferenceErrors(400, 401, 403, 404) },
      },
    },
    async (request) =>
      getVectorStoreFile(
        deps,
        inferenceKeyOf(request),
        request.params.vector_store_id,
        request.params.file_id,
      ),
  );

  app.delete(
    '/vector_stores/:vector_store_id/files/:file_id',
    {
      schema: {
        tags: storeTags,
        summary: 'Take a file out of a vector store (the file stays)',
        security,
        params: VectorStoreFileParams,
        response: { 200: VectorStoreFileDeleted, ...inferenceErrors(400, 401, 403, 404) },
      },
    },
    async (request) =>
      removeVectorStoreFile(
        deps,
        inferenceKeyOf(request),
        request.params.vector_store_id,
        request.params.file_id,
      ),
  );

  app.post(
    '/vector_stores/:vector_store_id/search',
    {
      schema: {
        tags: storeTags,
        summary: "Search a vector store's chunks by meaning (the query is embedded and metered)",
        security,
        params: VectorStoreParams,
        body: SearchBody,
        response: { 200: SearchResults, ...inferenceErrors(400, 401, 403, 404, 429, 502, 503, 504) },
      },
    },
    async (request) =>
      searchVectorStore(
        deps,
        inferenceKeyOf(request),
        request.params.vector_store_id,
        request.body,
        (model, input) => embedThroughGateway(app, request, model, input),
      ),
  );
};

export default vectorStoreRoutes;
