// The model registry's management (platform operators): models and their deployments, each change
// audited as a platform row in the same transaction. Replicas pick changes up by polling the
// registry revision that a trigger bumps (api/gateway/registry.ts).
import { asc, eq, inArray, and, sql } from 'drizzle-orm';
import { checkUpstreamUrl } from '../../../core/upstream-url.js';
import type { Db, Tx } from '../../../db/client.js';
import {
  modelDeployments,
  models,
  type DeploymentState,
  type ModelStatus,
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
  createdAt: string;
  updatedAt: string;
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
type DeploymentRow = typeof modelDeployments.$inferSelect;

function deploymentView(row: DeploymentRow): DeploymentView {
  return {
    id: row.id,
    version: row.version,
    upstreamModel: row.upstreamModel,
    urls: row.urls,
    weight: row.weight,
    state: row.state,
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

async function deploymentsOf(tx: Tx | Db, modelIds: string[]): Promise<DeploymentRow[]> {
  if (modelIds.length === 0) return [];
  return tx
    .select()
    .from(modelDeployments)
    .where(inArray(modelDeployments.modelId, modelIds))
    .orderBy(asc(modelDeployments.createdAt), asc(modelDeployments.version));
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
    return deploymentView(row);
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
    const [row] = await tx
      .update(modelDeployments)
      .set({ ...normalised, updatedAt: sql`now()` })
      .where(and(eq(modelDeployments.id, ids.deploymentId), eq(modelDeployments.modelId, ids.modelId)))
      .returning();
    if (!row) throw deploymentNotFound();
    await recordAudit(tx, actor, {
      orgId: null,
      action: 'model.deployment.update',
      targetType: 'model_deployment',
      targetId: row.id,
      details: { model: model.name, version: row.version, changes: normalised },
    });
    return deploymentView(row);
  });
}

export function deleteDeployment(
  db: Db,
  actor: UserActor,
  ids: { modelId: string; deploymentId: string },
): Promise<void> {
  return change(db, async (tx) => {
    const model = await findModel(tx, ids.modelId);
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
