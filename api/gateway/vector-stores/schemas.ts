// OpenAI's shapes of vector stores, as far as Vlinders keeps them (files: ../files/schemas.ts).
// Unlike the inference routes' schemas these validate: the bodies are small and every field is
// acted on.
import Type from 'typebox';

const AttributeValue = Type.Union([Type.String({ maxLength: 512 }), Type.Number(), Type.Boolean()]);
export const Attributes = Type.Record(Type.String({ maxLength: 64 }), AttributeValue, {
  maxProperties: 16,
  description: 'up to 16 key-value pairs, kept with every chunk of the file',
});
const Metadata = Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 512 }), {
  maxProperties: 16,
});

const ChunkingStrategy = Type.Union([
  Type.Object({ type: Type.Literal('auto') }, { additionalProperties: false }),
  Type.Object(
    {
      type: Type.Literal('static'),
      static: Type.Object(
        {
          max_chunk_size_tokens: Type.Integer({ minimum: 100, maximum: 4096 }),
          chunk_overlap_tokens: Type.Integer({ minimum: 0 }),
        },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false },
  ),
]);

export const VectorStoreParams = Type.Object({ vector_store_id: Type.String({ maxLength: 64 }) });
export const VectorStoreFileParams = Type.Object({
  vector_store_id: Type.String({ maxLength: 64 }),
  file_id: Type.String({ maxLength: 64 }),
});

export const ListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
    after: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

const FileStatus = Type.Union([
  Type.Literal('in_progress'),
  Type.Literal('completed'),
  Type.Literal('failed'),
  Type.Literal('cancelled'),
]);

export const VectorStoreFileListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
    after: Type.Optional(Type.String({ maxLength: 64 })),
    filter: Type.Optional(FileStatus),
  },
  { additionalProperties: false },
);

export const CreateVectorStoreBody = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 256 })),
    file_ids: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 500 })),
    metadata: Type.Optional(Metadata),
    chunking_strategy: Type.Optional(ChunkingStrategy),
    embedding_model: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 256,
        description: "Vlinders' own: the embedding model (default VECTOR_EMBEDDING_MODEL)",
      }),
    ),
  },
  { additionalProperties: false },
);

export const UpdateVectorStoreBody = Type.Object(
  { name: Type.Optional(Type.String({ maxLength: 256 })), metadata: Type.Optional(Metadata) },
  { additionalProperties: false },
);

export const AddFileBody = Type.Object(
  {
    file_id: Type.String({ maxLength: 64 }),
    attributes: Type.Optional(Attributes),
    chunking_strategy: Type.Optional(ChunkingStrategy),
  },
  { additionalProperties: false },
);

export const SearchBody = Type.Object(
  {
    query: Type.Union([
      Type.String({ minLength: 1, maxLength: 16_384 }),
      Type.Array(Type.String({ minLength: 1, maxLength: 16_384 }), { minItems: 1, maxItems: 16 }),
    ]),
    max_num_results: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
    filters: Type.Optional(Type.Unknown({ description: 'not supported yet: answered 400' })),
    ranking_options: Type.Optional(
      Type.Object(
        {
          ranker: Type.Optional(Type.String({ maxLength: 64 })),
          score_threshold: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
    rewrite_query: Type.Optional(Type.Boolean({ description: 'only false is supported' })),
  },
  { additionalProperties: false },
);

const FileCounts = Type.Object({
  in_progress: Type.Integer(),
  completed: Type.Integer(),
  failed: Type.Integer(),
  cancelled: Type.Integer(),
  total: Type.Integer(),
});

export const VectorStore = Type.Object({
  id: Type.String(),
  object: Type.Literal('vector_store'),
  created_at: Type.Integer(),
  name: Type.String(),
  usage_bytes: Type.Integer(),
  file_counts: FileCounts,
  status: Type.Union([Type.Literal('in_progress'), Type.Literal('completed')]),
  last_active_at: Type.Integer(),
  metadata: Metadata,
  expires_at: Type.Null(),
  embedding_model: Type.String(),
});

const LastError = Type.Union([
  Type.Object({
    code: Type.Union([
      Type.Literal('server_error'),
      Type.Literal('unsupported_file'),
      Type.Literal('invalid_file'),
    ]),
    message: Type.String(),
  }),
  Type.Null(),
]);

export const VectorStoreFile = Type.Object({
  id: Type.String(),
  object: Type.Literal('vector_store.file'),
  usage_bytes: Type.Integer(),
  created_at: Type.Integer(),
  vector_store_id: Type.String(),
  status: FileStatus,
  last_error: LastError,
  chunking_strategy: Type.Object({
    type: Type.Literal('static'),
    static: Type.Object({ max_chunk_size_tokens: Type.Integer(), chunk_overlap_tokens: Type.Integer() }),
  }),
  attributes: Attributes,
});

export function list<T extends Type.TSchema>(item: T) {
  return Type.Object({
    object: Type.Literal('list'),
    data: Type.Array(item),
    first_id: Type.Union([Type.String(), Type.Null()]),
    last_id: Type.Union([Type.String(), Type.Null()]),
    has_more: Type.Boolean(),
  });
}

export const VectorStoreList = list(VectorStore);
export const VectorStoreFileList = list(VectorStoreFile);

export function deleted<O extends string>(object: O) {
  return Type.Object({ id: Type.String(), object: Type.Literal(object), deleted: Type.Boolean() });
}
export const VectorStoreDeleted = deleted('vector_store.deleted');
export const VectorStoreFileDeleted = deleted('vector_store.file.deleted');

export const SearchResults = Type.Object({
  object: Type.Literal('vector_store.search_results.page'),
  search_query: Type.Array(Type.String()),
  data: Type.Array(
    Type.Object({
      file_id: Type.String(),
      filename: Type.String(),
      score: Type.Number(),
      attributes: Attributes,
      content: Type.Array(Type.Object({ type: Type.Literal('text'), text: Type.String() })),
    }),
  ),
  has_more: Type.Boolean(),
  next_page: Type.Null(),
});
