// The model registry's management (platform operators): models and their deployments, each change
// audited as a platform row in the same transaction. Replicas pick changes up by polling the
// registry revision that a trigger bumps (api/gateway/registry.ts).
import { asc, eq, inArray, and, sql } from 'drizzle-orm';
import type { ServeApplication } from '../../../core/serving.js';
import { checkUpstreamUrl } from '../../../core/upstream-url.js';
import type { Db, Tx } from '../../../db/client.js';
import {
  modelDeployments,
  models,
  servingClusters,
  type DeploymentState,
  type ModelStatus,
  type VersionStage,
} from '../../../db/schema/index.js';
import { AppError } from '../../errors.js';
import { recordAudit, type Actor, type UserActor } from '../../audit.js';
import { isForeignKeyViolation, isUniqueViolation } from '../../db-errors.js';

export interface DeploymentView {
  id: string;
  version: string;
  upstreamModel: string;
  urls: string[];
  weight: number;
  state: DeploymentState;
  /** The version's lifecycle; deployments added with URLs by hand are 'serving'. */
  stage: VersionStage;
  /** The serving cluster's name and the Serve application, for versions registered on one. */
  cluster: string | null;
  application: ServeApplication | null;
  needs: VersionNeeds;
  failureReason: string | null;
  createdAt: string;
  updatedAt: string;
}

/** What a version needs per replica (GPUs of a type, memory) and how many replicas it starts with. */
export interface VersionNeeds {
  gpuType: string | null;
  gpuCount: number;
  memoryMib: number | null;
  replicas: number;
}

export interface ModelView {
  id: string;
  name: string;
  contextLength: number;
  inputPricePerMillion: number;
  outputPricePerMillion: number;
  status: ModelStatus;
  fallbackModel: string | null;
  deployments: DeploymentView[];
  createdAt: string;
  updatedAt: string;
}

export interface ModelInput {
  name: string;
  contextLength: number;
  inputPricePerMillion: number;
  outputPricePerMillion: number;
  status?: ModelStatus | undefined;
  fallbackModel?: string | null | undefined;
}
export type ModelChanges = Partial<Omit<ModelInput, 'name'>>;

export interface DeploymentInput {
  version: string;
  upstreamModel: string;
  urls: string[];
  weight: number;
  state?: DeploymentState | undefined;
}
export type DeploymentChanges = Partial<Omit<DeploymentInput, 'version'>>;

type ModelRow = typeof models.$inferSelect;
type DeploymentRow = typeof modelDeployments.$inferSelect & { clusterName: string | null };

function deploymentView(row: DeploymentRow): DeploymentView {
  return {
    id: row.id,
    version: row.version,
    upstreamModel: row.upstreamModel,
    urls: row.urls,
    weight: row.weight,
    state: row.state,
    stage: row.stage,
    cluster: row.clusterName,
    application: row.serveApplication,
    needs: { gpuType: row.gpuType, gpuCount: row.gpuCount, memoryMib: row.memoryMib, replicas: row.replicas },
    failureReason: row.failureReason,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function modelView(row: ModelRow, deployments: DeploymentRow[]): ModelView {
  return {
    id: row.id,
    name: row.name,
    contextLength: row.contextLength,
    inputPricePerMillion: row.inputPricePerMillion,
    outputPricePerMillion: row.outputPricePerMillion,
    status: row.status,
    fallbackModel: row.fallbackModel,
    deployments: deployments.map(deploymentView),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

const modelNotFound = () => new AppError('NOT_FOUND', 'The model does not exist.');
const deploymentNotFound = () => new AppError('NOT_FOUND', 'The deployment does not exist.');

/** The normalised URLs, or 400 naming the first bad or repeated one. */
function checkedUrls(urls: readonly string[]): string[] {
  const normalised: string[] = [];
  for (const [index, url] of urls.entries()) {
    const check = checkUpstreamUrl(url);
    if (!check.ok)
      throw new AppError('VALIDATION', `urls[${index}] ${check.problem}.`, { field: 'urls', index });
    if (normalised.includes(check.url))
      throw new AppError('VALIDATION', `urls[${index}] repeats an earlier URL.`, { field: 'urls', index });
    normalised.push(check.url);
  }
  return normalised;
}

/** A fallback must be another model that exists (the foreign key also holds under races). */
async function checkFallback(tx: Tx, name: string, fallback: string | null | undefined): Promise<void> {
  if (fallback === null || fallback === undefined) return;
  if (fallback === name)
    throw new AppError('VALIDATION', 'A model cannot be its own fallback.', { field: 'fallbackModel' });
  const [row] = await tx.select({ id: models.id }).from(models).where(eq(models.name, fallback));
  if (!row)
    throw new AppError('VALIDATION', `The fallback model "${fallback}" does not exist.`, {
      field: 'fallbackModel',
    });
}

/** Runs a change in a transaction, turning constraint violations into clear answers. */
async function change<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  try {
    return await db.transaction(fn);
  } catch (err) {
    if (isUniqueViolation(err, 'models_name_key'))
      throw new AppError('CONFLICT', 'A model with this name exists.');
    if (isUniqueViolation(err, 'model_deployments_model_version_key'))
      throw new AppError('CONFLICT', 'The model has a deployment of this version.');
    if (isUniqueViolation(err, 'model_deployments_application_name_key'))
      throw new AppError(
        'CONFLICT',
        'Another version runs as a Serve application of this name on the cluster.',
      );
    if (isUniqueViolation(err, 'model_deployments_route_prefix_key'))
      throw new AppError('CONFLICT', 'Another version uses this route prefix on the cluster.');
    // Only under a race the checks above could not see: a fallback or a model deleted meanwhile,
    // or a model that became another's fallback while being deleted.
    if (isForeignKeyViolation(err))
      throw new AppError('CONFLICT', 'The change conflicts with a concurrent change of the registry; retry.');
    throw err;
  }
}

async function findModel(tx: Tx | Db, modelId: string): Promise<ModelRow> {
  const [row] = await tx.select().from(models).where(eq(models.id, modelId));
  if (!row) throw modelNotFound();
  return row;
}

async function deploymentsOf(
  tx: Tx | Db,
  modelIds: string[],
  deploymentId?: string,
): Promise<DeploymentRow[]> {
  if (modelIds.length === 0) return [];
  const rows = await tx
    .select({ deployment: modelDeployments, clusterName: servingClusters.name })
    .from(modelDeployments)
    .leftJoin(servingClusters, eq(servingClusters.id, modelDeployments.clusterId))
    .where(
      and(
        inArray(modelDeployments.modelId, modelIds),
        deploymentId === undefined ? undefined : eq(modelDeployments.id, deploymentId),
      ),
    )
    .orderBy(asc(modelDeployments.createdAt), asc(modelDeployments.version));
  return rows.map((r) => ({ ...r.deployment, clusterName: r.clusterName }));
}

/** One deployment of the model with its cluster's name, or 404. */
async function findDeployment(tx: Tx | Db, modelId: string, deploymentId: string): Promise<DeploymentRow> {
  const [row] = await deploymentsOf(tx, [modelId], deploymentId);
  if (!row) throw deploymentNotFound();
  return row;
}

/** Stages in which the version's rollout owns its weight and state. */
const rolloutOwned: readonly VersionStage[] = ['deploying', 'canary'];

function refuseWhileRollingOut(row: DeploymentRow): void {
  if (rolloutOwned.includes(row.stage))
    throw new AppError(
      'CONFLICT',
      `Version ${row.version} is being rolled out (${row.stage}): control it through its rollout.`,
    );
}

export async function listModels(db: Db): Promise<ModelView[]> {
  const rows = await db.select().from(models).orderBy(asc(models.name));
  const deployments = await deploymentsOf(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((row) =>
    modelView(
      row,
      deployments.filter((d) => d.modelId === row.id),
    ),
  );
}

export async function getModel(db: Db | Tx, modelId: string): Promise<ModelView> {
  const row = await findModel(db, modelId);
  return modelView(row, await deploymentsOf(db, [row.id]));
}

export function createModel(db: Db, actor: Actor, input: ModelInput): Promise<ModelView> {
  return change(db, async (tx) => {
    await checkFallback(tx, input.name, input.fallbackModel);
    const [row] = await tx
      .insert(models)
      .values({
        name: input.name,
        contextLength: input.contextLength,
        inputPricePerMillion: input.inputPricePerMillion,
        outputPricePerMillion: input.outputPricePerMillion,
        status: input.status ?? 'active',
        fallbackModel: input.fallbackModel ?? null,
      })
      .returning();
    if (!row) throw new Error('insert returned no row');
    await recordAudit(tx, actor, {
      orgId: null,
      action: 'model.create',
      targetType: 'model',
      targetId: row.id,
      details: { ...input },
    });
    return modelView(row, []);
  });
}

export function updateModel(
  db: Db,
  actor: UserActor,
  modelId: string,
  changes: ModelChanges,
): Promise<ModelView> {
  return change(db, async (tx) => {
    const current = await findModel(tx, modelId);
    await checkFallback(tx, current.name, changes.fallbackModel);
    await tx
      .update(models)
      .set({ ...changes, updatedAt: sql`now()` })
      .where(eq(models.id, modelId));
    await recordAudit(tx, actor, {
      orgId: null,
      action: 'model.update',
      targetType: 'model',
      targetId: modelId,
      details: { name: current.name, changes },
    });
    return getModel(tx, modelId);
  });
}

/** Deletes a model and its deployments; 409 while another model falls back to it. */
export function deleteModel(db: Db, actor: UserActor, modelId: string): Promise<void> {
  return change(db, async (tx) => {
    const current = await findModel(tx, modelId);
    const dependants = await tx
      .select({ name: models.name })
      .from(models)
      .where(eq(models.fallbackModel, current.name))
      .orderBy(asc(models.name));
    if (dependants.length > 0)
      throw new AppError(
        'CONFLICT',
        `The model is the fallback of ${dependants.map((d) => d.name).join(', ')}.`,
        {
          fallbackOf: dependants.map((d) => d.name),
        },
      );
    await tx.delete(models).where(eq(models.id, modelId));
    await recordAudit(tx, actor, {
      orgId: null,
      action: 'model.delete',
      targetType: 'model',
      targetId: modelId,
      details: { name: current.name },
    });
  });
}

export function createDeployment(
  db: Db,
  actor: Actor,
  modelId: string,
  input: DeploymentInput,
): Promise<DeploymentView> {
  const urls = checkedUrls(input.urls);
  return change(db, async (tx) => {
    const model = await findModel(tx, modelId);
    const [row] = await tx
      .insert(modelDeployments)
      .values({
        modelId,
        version: input.version,
        upstreamModel: input.upstreamModel,
        urls,
        weight: input.weight,
        state: input.state ?? 'active',
      })
      .returning();
    if (!row) throw new Error('insert returned no row');
    await recordAudit(tx, actor, {
      orgId: null,
      action: 'model.deployment.create',
      targetType: 'model_deployment',
      targetId: row.id,
      details: { model: model.name, ...input, urls },
    });
    return deploymentView({ ...row, clusterName: null });
  });
}

export function updateDeployment(
  db: Db,
  actor: UserActor,
  ids: { modelId: string; deploymentId: string },
  changes: DeploymentChanges,
): Promise<DeploymentView> {
  const normalised = changes.urls ? { ...changes, urls: checkedUrls(changes.urls) } : changes;
  return change(db, async (tx) => {
    const model = await findModel(tx, ids.modelId);
    const current = await findDeployment(tx, ids.modelId, ids.deploymentId);
    refuseWhileRollingOut(current);
    const routes =
      (normalised.state ?? current.state) === 'active' && (normalised.weight ?? current.weight) > 0;
    if (routes && !['canary', 'serving', 'draining'].includes(current.stage))
      throw new AppError(
        'VALIDATION',
        `Version ${current.version} is ${current.stage}: it takes no traffic until a rollout deploys it.`,
        { field: 'weight' },
      );
    await tx
      .update(modelDeployments)
      .set({ ...normalised, updatedAt: sql`now()` })
      .where(and(eq(modelDeployments.id, ids.deploymentId), eq(modelDeployments.modelId, ids.modelId)));
    await recordAudit(tx, actor, {
      orgId: null,
      action: 'model.deployment.update',
      targetType: 'model_deployment',
      targetId: current.id,
      details: { model: model.name, version: current.version, changes: normalised },
    });
    return deploymentView(await findDeployment(tx, ids.modelId, ids.deploymentId));
  });
}

export function deleteDeployment(
  db: Db,
  actor: UserActor,
  ids: { modelId: string; deploymentId: string },
): Promise<void> {
  return change(db, async (tx) => {
    const model = await findModel(tx, ids.modelId);
    refuseWhileRollingOut(await findDeployment(tx, ids.modelId, ids.deploymentId));
    const [row] = await tx
      .delete(modelDeployments)
      .where(and(eq(modelDeployments.id, ids.deploymentId), eq(modelDeployments.modelId, ids.modelId)))
      .returning({ id: modelDeployments.id, version: modelDeployments.version });
    if (!row) throw deploymentNotFound();
    await recordAudit(tx, actor, {
      orgId: null,
      action: 'model.deployment.delete',
      targetType: 'model_deployment',
      targetId: row.id,
      details: { model: model.name, version: row.version },
    });
  });
}

export interface VersionInput {
  version: string;
  upstreamModel: string;
  /** The serving cluster's name. */
  cluster: string;
  application: ServeApplication;
  gpuType?: string | undefined;
  gpuCount?: number | undefined;
  memoryMib?: number | undefined;
  replicas?: number | undefined;
}

/**
 * Registers a version that runs as its own Serve application on a cluster: it takes no traffic
 * (weight 0, disabled) until its rollout deploys it. Its URL is the cluster's proxy plus the
 * application's route prefix, so the gateway reaches it through the same registry as any deployment.
 */
export function registerVersion(
  db: Db,
  actor: UserActor,
  modelId: string,
  input: VersionInput,
): Promise<DeploymentView> {
  if ((input.gpuCount ?? 0) > 0 && !input.gpuType)
    throw new AppError('VALIDATION', 'gpuType is required when gpuCount is above 0.', { field: 'gpuType' });
  return change(db, async (tx) => {
    const model = await findModel(tx, modelId);
    const [cluster] = await tx.select().from(servingClusters).where(eq(servingClusters.name, input.cluster));
    if (!cluster)
      throw new AppError('VALIDATION', `The serving cluster "${input.cluster}" does not exist.`, {
        field: 'cluster',
      });
    const url = checkedUrls([`${cluster.proxyUrl}${input.application.route_prefix}`]);
    const [row] = await tx
      .insert(modelDeployments)
      .values({
        modelId,
        version: input.version,
        upstreamModel: input.upstreamModel,
        urls: url,
        weight: 0,
        state: 'disabled',
        stage: 'registered',
        clusterId: cluster.id,
        serveApplication: input.application,
        gpuType: input.gpuType ?? null,
        gpuCount: input.gpuCount ?? 0,
        memoryMib: input.memoryMib ?? null,
        replicas: input.replicas ?? 1,
      })
      .returning();
    if (!row) throw new Error('insert returned no row');
    await recordAudit(tx, actor, {
      orgId: null,
      action: 'model.version.register',
      targetType: 'model_deployment',
      targetId: row.id,
      details: {
        model: model.name,
        version: input.version,
        cluster: cluster.name,
        application: input.application.name,
        routePrefix: input.application.route_prefix,
        gpuType: input.gpuType ?? null,
        gpuCount: input.gpuCount ?? 0,
        memoryMib: input.memoryMib ?? null,
        replicas: input.replicas ?? 1,
      },
    });
    return deploymentView({ ...row, clusterName: cluster.name });
  });
}
