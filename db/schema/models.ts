// The model registry (db/migrations/0008_model_registry.sql): public models and the deployments
// that serve them. Platform-wide, not tenant-owned; operators change it, every replica polls
// `model_registry_revision` (bumped by a trigger on both tables) and reloads when it moves.
import { bigint, boolean, integer, jsonb, numeric, pgTable, text, unique, uuid } from 'drizzle-orm/pg-core';
import type { ServeApplication } from '../../core/serving.js';
import type { VersionStage } from '../../core/rollout.js';
import { createdAt, id, timestamptz } from './columns.js';

export type ModelStatus = 'active' | 'disabled';
/** How the gateway routes a deployment: only 'active' ones with weight > 0 take requests. */
export type DeploymentState = 'active' | 'draining' | 'disabled';
export type { VersionStage } from '../../core/rollout.js';

/** A Ray Serve cluster that model versions run on (db/migrations/0015_model_versions.sql). */
export const servingClusters = pgTable('serving_clusters', {
  id: id(),
  name: text('name').notNull().unique('serving_clusters_name_key'),
  /** The Serve proxy, as the gateway reaches it; a version's URL is this plus its route prefix. */
  proxyUrl: text('proxy_url').notNull(),
  /** The Ray dashboard, where the Serve REST API answers. */
  dashboardUrl: text('dashboard_url').notNull(),
  createdAt: createdAt(),
  updatedAt: timestamptz('updated_at').notNull().defaultNow(),
});

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
    /** The version's lifecycle (core/rollout.ts); rows without a cluster are 'serving'. */
    stage: text('stage').$type<VersionStage>().notNull().default('serving'),
    clusterId: uuid('cluster_id').references(() => servingClusters.id, { onDelete: 'restrict' }),
    /** The Serve application the version runs as on its cluster (null: URLs set by hand). */
    serveApplication: jsonb('serve_application').$type<ServeApplication>(),
    gpuType: text('gpu_type'),
    gpuCount: integer('gpu_count').notNull().default(0),
    memoryMib: integer('memory_mib'),
    replicas: integer('replicas').notNull().default(1),
    failureReason: text('failure_reason'),
    createdAt: createdAt(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [unique('model_deployments_model_version_key').on(t.modelId, t.version)],
);

export const modelRegistryRevision = pgTable('model_registry_revision', {
  singleton: boolean('singleton').primaryKey().default(true),
  revision: bigint('revision', { mode: 'number' }).notNull(),
});

/**
 * What each deployment held, GPU by GPU, over time (db/migrations/0021_gpu_allocations.sql): one row
 * per stretch with constant GPUs of one type, written only by a trigger on model_deployments; the
 * open row (`endedAt` null) is what it holds now. The cost analysis sums GPU-seconds over it.
 */
export const gpuAllocations = pgTable('gpu_allocations', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  deploymentId: uuid('deployment_id').notNull(),
  modelId: uuid('model_id').notNull(),
  /** The model's public name at the time: usage_hourly records tokens under it. */
  modelName: text('model_name').notNull(),
  version: text('version').notNull(),
  /** The pool, priced by GPU_COST_PER_HOUR. */
  gpuType: text('gpu_type').notNull(),
  /** gpu_count × replicas. */
  gpus: integer('gpus').notNull(),
  startedAt: timestamptz('started_at').notNull(),
  endedAt: timestamptz('ended_at'),
});
