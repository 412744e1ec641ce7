// Serving clusters: where model versions run. Each change is audited as a platform row in its
// transaction. A cluster that versions run on cannot be deleted (the foreign key says so first).
import { asc, eq, sql } from 'drizzle-orm';
import { checkUpstreamUrl } from '../../../core/upstream-url.js';
import type { Db } from '../../../db/client.js';
import { servingClusters } from '../../../db/schema/index.js';
import { recordAudit, type UserActor } from '../../audit.js';
import { isForeignKeyViolation, isUniqueViolation } from '../../db-errors.js';
import { AppError } from '../../errors.js';

export interface ClusterView {
  id: string;
  name: string;
  proxyUrl: string;
  dashboardUrl: string;
  createdAt: string;
  updatedAt: string;
}

type ClusterRow = typeof servingClusters.$inferSelect;

function clusterView(row: ClusterRow): ClusterView {
  return {
    id: row.id,
    name: row.name,
    proxyUrl: row.proxyUrl,
    dashboardUrl: row.dashboardUrl,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

const notFound = () => new AppError('NOT_FOUND', 'The serving cluster does not exist.');

/** The normalised URL, without a trailing slash (a route prefix is appended to it), or 400. */
export function checkedClusterUrl(field: 'proxyUrl' | 'dashboardUrl', url: string): string {
  const check = checkUpstreamUrl(url);
  if (!check.ok) throw new AppError('VALIDATION', `${field} ${check.problem}.`, { field });
  return check.url.replace(/\/+$/, '');
}

export async function listClusters(db: Db): Promise<ClusterView[]> {
  return (await db.select().from(servingClusters).orderBy(asc(servingClusters.name))).map(clusterView);
}

export async function createCluster(
  db: Db,
  actor: UserActor,
  input: { name: string; proxyUrl: string; dashboardUrl: string },
): Promise<ClusterView> {
  const values = {
    name: input.name,
    proxyUrl: checkedClusterUrl('proxyUrl', input.proxyUrl),
    dashboardUrl: checkedClusterUrl('dashboardUrl', input.dashboardUrl),
  };
  try {
    return await db.transaction(async (tx) => {
      const [row] = await tx.insert(servingClusters).values(values).returning();
      if (!row) throw new Error('insert returned no row');
      await recordAudit(tx, actor, {
        orgId: null,
        action: 'serving-cluster.create',
        targetType: 'serving_cluster',
        targetId: row.id,
        details: values,
      });
      return clusterView(row);
    });
  } catch (err) {
    if (isUniqueViolation(err, 'serving_clusters_name_key'))
      throw new AppError('CONFLICT', 'A serving cluster with this name exists.');
    throw err;
  }
}

/**
 * Changes a cluster's addresses. The URLs of versions already registered on it keep the old proxy
 * address: register them again (a new version) to move them.
 */
export function updateCluster(
  db: Db,
  actor: UserActor,
  clusterId: string,
  changes: { proxyUrl?: string | undefined; dashboardUrl?: string | undefined },
): Promise<ClusterView> {
  const values = {
    ...(changes.proxyUrl !== undefined && { proxyUrl: checkedClusterUrl('proxyUrl', changes.proxyUrl) }),
    ...(changes.dashboardUrl !== undefined && {
      dashboardUrl: checkedClusterUrl('dashboardUrl', changes.dashboardUrl),
    }),
  };
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(servingClusters)
      .set({ ...values, updatedAt: sql`now()` })
      .where(eq(servingClusters.id, clusterId))
      .returning();
    if (!row) throw notFound();
    await recordAudit(tx, actor, {
      orgId: null,
      action: 'serving-cluster.update',
      targetType: 'serving_cluster',
      targetId: row.id,
      details: { name: row.name, changes: values },
    });
    return clusterView(row);
  });
}

export async function deleteCluster(db: Db, actor: UserActor, clusterId: string): Promise<void> {
  try {
    await db.transaction(async (tx) => {
      const [row] = await tx
        .delete(servingClusters)
        .where(eq(servingClusters.id, clusterId))
        .returning({ id: servingClusters.id, name: servingClusters.name });
      if (!row) throw notFound();
      await recordAudit(tx, actor, {
        orgId: null,
        action: 'serving-cluster.delete',
        targetType: 'serving_cluster',
        targetId: row.id,
        details: { name: row.name },
      });
    });
  } catch (err) {
    if (isForeignKeyViolation(err))
      throw new AppError('CONFLICT', 'Model versions are registered on this cluster: remove them first.');
    throw err;
  }
}
