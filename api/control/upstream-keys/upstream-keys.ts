// Deployments' upstream keys (db/schema/deployment-credentials.ts): set, rotated with a grace period
// for the previous key, removed; each change audited as a platform row in its transaction, with the
// key's last four characters only. The trigger on the table bumps the registry revision, so every
// replica's gateway sends the new key within about a second (api/gateway/registry.ts).
import { and, eq, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../../db/client.js';
import { deploymentCredentials, modelDeployments, models } from '../../../db/schema/index.js';
import type { MasterKey } from '../../../runtime/envelope.js';
import { recordAudit, type UserActor } from '../../audit.js';
import { AppError } from '../../errors.js';
import { unwrapUpstreamKey, wrapUpstreamKey } from '../../gateway/upstream-keys.js';
import { defaultGraceSeconds } from './schemas.js';

export interface DeploymentIds {
  modelId: string;
  deploymentId: string;
}

export interface UpstreamKeyView {
  deploymentId: string;
  current: { lastFour: string; createdAt: string } | null;
  previous: { lastFour: string; createdAt: string; graceUntil: string } | null;
}

type CredentialRow = typeof deploymentCredentials.$inferSelect;

function selectDeployment(tx: Tx | Db, ids: DeploymentIds) {
  return tx
    .select({ id: modelDeployments.id, version: modelDeployments.version, model: models.name })
    .from(modelDeployments)
    .innerJoin(models, eq(models.id, modelDeployments.modelId))
    .where(and(eq(modelDeployments.id, ids.deploymentId), eq(modelDeployments.modelId, ids.modelId)));
}

const deploymentNotFound = () => new AppError('NOT_FOUND', 'The deployment does not exist.');

/** The deployment, locked for the change, so two changes of its key run one after the other. */
async function lockDeployment(
  tx: Tx,
  ids: DeploymentIds,
): Promise<{ id: string; version: string; model: string }> {
  const [row] = await selectDeployment(tx, ids).for('update', { of: modelDeployments });
  if (!row) throw deploymentNotFound();
  return row;
}

async function credentialsOf(tx: Tx | Db, deploymentId: string): Promise<CredentialRow[]> {
  return tx.select().from(deploymentCredentials).where(eq(deploymentCredentials.deploymentId, deploymentId));
}

function view(deploymentId: string, rows: CredentialRow[]): UpstreamKeyView {
  const current = rows.find((r) => r.slot === 'current');
  const previous = rows.find((r) => r.slot === 'previous');
  return {
    deploymentId,
    current: current ? { lastFour: current.lastFour, createdAt: current.createdAt.toISOString() } : null,
    previous:
      previous?.graceUntil && previous.graceUntil.getTime() > Date.now()
        ? {
            lastFour: previous.lastFour,
            createdAt: previous.createdAt.toISOString(),
            graceUntil: previous.graceUntil.toISOString(),
          }
        : null,
  };
}

export async function getUpstreamKey(db: Db, ids: DeploymentIds): Promise<UpstreamKeyView> {
  const [deployment] = await selectDeployment(db, ids);
  if (!deployment) throw deploymentNotFound();
  return view(deployment.id, await credentialsOf(db, deployment.id));
}

/** Sets the deployment's key, replacing any it had at once (no grace period: use rotate for that). */
export function setUpstreamKey(
  db: Db,
  master: MasterKey,
  actor: UserActor,
  ids: DeploymentIds,
  key: string,
): Promise<UpstreamKeyView> {
  return db.transaction(async (tx) => {
    const deployment = await lockDeployment(tx, ids);
    await tx.delete(deploymentCredentials).where(eq(deploymentCredentials.deploymentId, deployment.id));
    await tx.insert(deploymentCredentials).values({
      deploymentId: deployment.id,
      slot: 'current',
      wrappedKey: wrapUpstreamKey(master, deployment.id, key),
      lastFour: key.slice(-4),
    });
    await recordAudit(tx, actor, {
      orgId: null,
      action: 'model.deployment.upstream-key.set',
      targetType: 'model_deployment',
      targetId: deployment.id,
      details: { model: deployment.model, version: deployment.version, lastFour: key.slice(-4) },
    });
    return view(deployment.id, await credentialsOf(tx, deployment.id));
  });
}

/**
 * Makes `key` the deployment's key at once and keeps the current one as the previous key for
 * `graceSeconds` (an older previous key is dropped). 409 when there is no key to rotate.
 */
export function rotateUpstreamKey(
  db: Db,
  master: MasterKey,
  actor: UserActor,
  ids: DeploymentIds,
  input: { key: string; graceSeconds?: number | undefined },
): Promise<UpstreamKeyView> {
  const graceSeconds = input.graceSeconds ?? defaultGraceSeconds;
  return db.transaction(async (tx) => {
    const deployment = await lockDeployment(tx, ids);
    const current = (await credentialsOf(tx, deployment.id)).find((r) => r.slot === 'current');
    if (!current)
      throw new AppError('CONFLICT', 'The deployment has no upstream key to rotate; set one first.');
    if (unwrapUpstreamKey(master, deployment.id, current.wrappedKey) === input.key)
      throw new AppError('VALIDATION', 'The new key is the current key.', { field: 'key' });
    await tx
      .delete(deploymentCredentials)
      .where(
        and(
          eq(deploymentCredentials.deploymentId, deployment.id),
          eq(deploymentCredentials.slot, 'previous'),
        ),
      );
    await tx
      .update(deploymentCredentials)
      .set({ slot: 'previous', graceUntil: sql`now() + make_interval(secs => ${graceSeconds})` })
      .where(eq(deploymentCredentials.id, current.id));
    await tx.insert(deploymentCredentials).values({
      deploymentId: deployment.id,
      slot: 'current',
      wrappedKey: wrapUpstreamKey(master, deployment.id, input.key),
      lastFour: input.key.slice(-4),
    });
    const result = view(deployment.id, await credentialsOf(tx, deployment.id));
    await recordAudit(tx, actor, {
      orgId: null,
      action: 'model.deployment.upstream-key.rotate',
      targetType: 'model_deployment',
      targetId: deployment.id,
      details: {
        model: deployment.model,
        version: deployment.version,
        lastFour: input.key.slice(-4),
        previousLastFour: current.lastFour,
        graceUntil: result.previous?.graceUntil ?? null,
      },
    });
    return result;
  });
}

/** Removes the deployment's keys, the previous one included: its requests go upstream without one. */
export function removeUpstreamKey(db: Db, actor: UserActor, ids: DeploymentIds): Promise<void> {
  return db.transaction(async (tx) => {
    const deployment = await lockDeployment(tx, ids);
    const removed = await tx
      .delete(deploymentCredentials)
      .where(eq(deploymentCredentials.deploymentId, deployment.id))
      .returning({ slot: deploymentCredentials.slot, lastFour: deploymentCredentials.lastFour });
    if (removed.length === 0) throw new AppError('NOT_FOUND', 'The deployment has no upstream key.');
    await recordAudit(tx, actor, {
      orgId: null,
      action: 'model.deployment.upstream-key.remove',
      targetType: 'model_deployment',
      targetId: deployment.id,
      details: {
        model: deployment.model,
        version: deployment.version,
        lastFour: removed.find((r) => r.slot === 'current')?.lastFour ?? null,
      },
    });
  });
}
