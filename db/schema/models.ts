// The model registry (db/migrations/0008_model_registry.sql): public models and the deployments
// that serve them. Platform-wide, not tenant-owned; operators change it, every replica polls
// `model_registry_revision` (bumped by a trigger on both tables) and reloads when it moves.
import { bigint, boolean, integer, numeric, pgTable, text, unique, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, timestamptz } from './columns.js';

export type ModelStatus = 'active' | 'disabled';
export type DeploymentState = 'active' | 'draining' | 'disabled';

export const models = pgTable('models', {
  id: id(),
  /** The public name clients send as `model`. */
  name: text('name').notNull().unique('models_name_key'),
  contextLength: integer('context_length').notNull(),
  inputPricePerMillion: numeric('input_price_per_million', {
    precision: 12,
    scale: 6,
    mode: 'number',
  }).notNull(),
  outputPricePerMillion: numeric('output_price_per_million', {
    precision: 12,
    scale: 6,
    mode: 'number',
  }).notNull(),
  status: text('status').$type<ModelStatus>().notNull().default('active'),
  /** Another model's name, tried when this one cannot answer. */
  fallbackModel: text('fallback_model'),
  createdAt: createdAt(),
  updatedAt: timestamptz('updated_at').notNull().defaultNow(),
});

export const modelDeployments = pgTable(
  'model_deployments',
  {
    id: id(),
    modelId: uuid('model_id')
      .notNull()
      .references(() => models.id, { onDelete: 'cascade' }),
    version: text('version').notNull(),
    /** The model name the upstream vLLM serves (sent upstream as `model`). */
    upstreamModel: text('upstream_model').notNull(),
    /** Base URLs of the replicas, without /v1. */
    urls: text('urls').array().notNull(),
    weight: integer('weight').notNull(),
    state: text('state').$type<DeploymentState>().notNull().default('active'),
    createdAt: createdAt(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [unique('model_deployments_model_version_key').on(t.modelId, t.version)],
);

export const modelRegistryRevision = pgTable('model_registry_revision', {
  singleton: boolean('singleton').primaryKey().default(true),
  revision: bigint('revision', { mode: 'number' }).notNull(),
});
