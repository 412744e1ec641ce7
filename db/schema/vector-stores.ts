// Files and vector stores (db/migrations/0020_vector_stores.sql): the rows behind /v1/files and
// /v1/vector_stores. A file's bytes are in object storage, a store's chunks in the vector store.
import { sql } from 'drizzle-orm';
import { bigint, index, integer, jsonb, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import type { IngestError } from '../../core/ingestion.js';
import { createdAt, id, orgId, timestamptz } from './columns.js';
import { users } from './identity.js';
import { organizations, teams } from './tenancy.js';

export type FilePurpose = 'assistants' | 'user_data';
export type VectorStoreFileStatus = 'in_progress' | 'completed' | 'failed' | 'cancelled';
export type Attributes = Record<string, string | number | boolean>;

export const files = pgTable(
  'files',
  {
    id: id(),
    orgId: orgId().references(() => organizations.id, { onDelete: 'cascade' }),
    filename: text('filename').notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    purpose: text('purpose').$type<FilePurpose>().notNull(),
    contentType: text('content_type').notNull(),
    uploadedByKey: uuid('uploaded_by_key'),
    createdAt: createdAt(),
  },
  (t) => [index('files_org_idx').on(t.orgId, t.createdAt)],
);

export const vectorStores = pgTable(
  'vector_stores',
  {
    id: id(),
    orgId: orgId().references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    metadata: jsonb('metadata')
      .$type<Record<string, string>>()
      .notNull()
      .default(sql`'{}'::jsonb`),
    embeddingModel: text('embedding_model').notNull(),
    dimensions: integer('dimensions'),
    createdAt: createdAt(),
    lastActiveAt: timestamptz('last_active_at').notNull().defaultNow(),
  },
  (t) => [index('vector_stores_org_idx').on(t.orgId, t.createdAt)],
);

export const vectorStoreFiles = pgTable(
  'vector_store_files',
  {
    vectorStoreId: uuid('vector_store_id')
      .notNull()
      .references(() => vectorStores.id, { onDelete: 'cascade' }),
    fileId: uuid('file_id')
      .notNull()
      .references(() => files.id, { onDelete: 'cascade' }),
    orgId: orgId().references(() => organizations.id, { onDelete: 'cascade' }),
    status: text('status').$type<VectorStoreFileStatus>().notNull().default('in_progress'),
    attributes: jsonb('attributes')
      .$type<Attributes>()
      .notNull()
      .default(sql`'{}'::jsonb`),
    addedBy: uuid('added_by').references(() => users.id, { onDelete: 'set null' }),
    addedByTeam: uuid('added_by_team').references(() => teams.id, { onDelete: 'set null' }),
    maxChunkTokens: integer('max_chunk_tokens').notNull().default(800),
    chunkOverlapTokens: integer('chunk_overlap_tokens').notNull().default(400),
    chunks: integer('chunks').notNull().default(0),
    usageBytes: bigint('usage_bytes', { mode: 'number' }).notNull().default(0),
    lastError: jsonb('last_error').$type<IngestError>(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.vectorStoreId, t.fileId] }),
    index('vector_store_files_org_idx').on(t.orgId, t.vectorStoreId, t.createdAt),
    index('vector_store_files_file_idx').on(t.fileId),
  ],
);
