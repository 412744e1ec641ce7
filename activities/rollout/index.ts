// The rollout's activities (workflows/rollout.ts): the version's registry rows and the gateway's
// weights (one transaction each, audited with an idempotency key from the workflow), the gateway's
// per-deployment health (deployment_health(), 0015_model_versions.sql), and the version's Serve
// application, changed only through the cluster's writer (`serve-cluster/<cluster>`).
import { ApplicationFailure } from '@temporalio/common';
import { and, eq, inArray, ne, sql } from 'drizzle-orm';
import { request } from 'undici';
import { weightTotal, type DeploymentWeight, type HealthSample } from '../../core/rollout.js';
import type { ServeApplication } from '../../core/serving.js';
import type { Db, Tx } from '../../db/client.js';
import { auditLog, modelDeployments, models, servingClusters } from '../../db/schema/index.js';
import { emitAuditEvent } from '../../runtime/audit-log.js';
import type { ClusterRef, ServeCluster } from './serve-cluster.js';

export { createServeCluster, type ClusterRef, type ServeCluster } from './serve-cluster.js';

export interface RolloutTarget {
  /** The new version. */
  canary: {
    id: string;
    version: string;
    upstreamModel: string;
    /** Its base URL through the cluster's Serve proxy (without /v1). */
    url: string;
    cluster: ClusterRef;
    application: ServeApplication;
  };
  /** The versions serving now, with the weights they had when the rollout began. */
  current: {
    id: string;
    version: string;
    weight: number;
    /** Their cluster and Serve application; null for a deployment whose URLs were set by hand. */
    cluster: ClusterRef | null;
    application: string | null;
  }[];
}

export interface RolloutActivityDeps {
  db: Db;
  /** The clusters' writers and Serve status (production: createServeCluster(temporalClient)). */
  serve: ServeCluster;
  /** How long the probe of a new version's /v1/models may take. */
  probeTimeoutMs?: number;
}

const nonRetryable = (type: string, message: string) =>
  ApplicationFailure.create({ type, message, nonRetryable: true });

/**
 * Records a change the rollout made, in its transaction. Each activity audits only when its update
 * changed a row, so a retry after the commit records nothing twice.
 */
async function audit(
  tx: Tx,
  entry: { action: string; targetId: string; details: Record<string, unknown> },
): Promise<void> {
  const event = {
    orgId: null,
    actorId: null,
    ip: null,
    action: entry.action,
    targetType: 'model_deployment',
    targetId: entry.targetId,
    details: entry.details,
  };
  // No RETURNING: the app role may not read platform audit rows back.
  await tx.insert(auditLog).values(event);
  emitAuditEvent(event);
}

export function createRolloutActivities({ db, serve, probeTimeoutMs = 10_000 }: RolloutActivityDeps) {
  return {
    /**
     * Claims the version for this rollout (registered or failed → deploying; one rollout per model
     * at a time) and answers what the rollout works on. Repeatable: a retry after the claim
     * committed finds the version deploying and answers the same.
     */
    async beginRollout(input: { modelId: string; version: string }): Promise<RolloutTarget> {
      try {
        return await db.transaction(async (tx) => {
          const [row] = await tx
            .select({ deployment: modelDeployments, cluster: servingClusters, model: models.name })
            .from(modelDeployments)
            .innerJoin(models, eq(models.id, modelDeployments.modelId))
            .leftJoin(servingClusters, eq(servingClusters.id, modelDeployments.clusterId))
            .where(
              and(eq(modelDeployments.modelId, input.modelId), eq(modelDeployments.version, input.version)),
            )
            .for('update', { of: modelDeployments });
          if (!row) throw nonRetryable('NOT_FOUND', `version ${input.version} of the model does not exist`);
          const { deployment, cluster } = row;
          if (!cluster || !deployment.serveApplication)
            throw nonRetryable('VALIDATION', `version ${input.version} has no Serve application to deploy`);
          if (deployment.stage === 'registered' || deployment.stage === 'failed') {
            await tx
              .update(modelDeployments)
              .set({ stage: 'deploying', failureReason: null, updatedAt: sql`now()` })
              .where(eq(modelDeployments.id, deployment.id));
            await audit(tx, {
              action: 'model.rollout.start',
              targetId: deployment.id,
              details: { model: row.model, version: input.version, cluster: cluster.name },
            });
          } else if (deployment.stage !== 'deploying') {
            throw nonRetryable('CONFLICT', `version ${input.version} is ${deployment.stage}, not registered`);
          }
          const current = await tx
            .select({
              id: modelDeployments.id,
              version: modelDeployments.version,
              weight: modelDeployments.weight,
              clusterName: servingClusters.name,
              dashboardUrl: servingClusters.dashboardUrl,
              application: sql<string | null>`${modelDeployments.serveApplication} ->> 'name'`,
            })
            .from(modelDeployments)
            .leftJoin(servingClusters, eq(servingClusters.id, modelDeployments.clusterId))
            .where(
              and(
                eq(modelDeployments.modelId, input.modelId),
                eq(modelDeployments.stage, 'serving'),
                eq(modelDeployments.state, 'active'),
                sql`${modelDeployments.weight} > 0`,
              ),
            )
            .orderBy(modelDeployments.createdAt);
          return {
            canary: {
              id: deployment.id,
              version: deployment.version,
              upstreamModel: deployment.upstreamModel,
              url: deployment.urls[0] ?? '',
              cluster: { name: cluster.name, dashboardUrl: cluster.dashboardUrl },
              application: deployment.serveApplication,
            },
            current: current.map(({ clusterName, dashboardUrl, ...c }) => ({
              ...c,
              cluster:
                clusterName === null || dashboardUrl === null ? null : { name: clusterName, dashboardUrl },
            })),
          };
        });
      } catch (err) {
        if (isUniqueViolation(err, 'model_deployments_one_rollout_key'))
          throw nonRetryable('CONFLICT', 'another version of this model is being rolled out');
        throw err;
      }
    },

    /** Adds the version's application through the cluster's writer (returns once it is PUT). */
    async deployApplication(input: { cluster: ClusterRef; application: ServeApplication }): Promise<void> {
      await serve.putApplication(input.cluster, input.application);
    },

    /** Removes an application through the cluster's writer; removing one that is gone is fine. */
    async removeApplication(input: { cluster: ClusterRef; application: string }): Promise<void> {
      await serve.removeApplication(input.cluster, input.application);
    },

    /** What Serve reports of the application now (NOT_FOUND when it does not know it yet). */
    async applicationStatus(input: {
      dashboardUrl: string;
      application: string;
    }): Promise<{ status: string; message: string }> {
      return serve.applicationStatus(input.dashboardUrl, input.application);
    },

    /** Whether the version answers: its `/v1/models` through the proxy lists its model. */
    async probeVersion(input: {
      url: string;
      upstreamModel: string;
    }): Promise<{ ok: boolean; detail: string }> {
      try {
        const res = await request(`${input.url}/v1/models`, {
          headersTimeout: probeTimeoutMs,
          bodyTimeout: probeTimeoutMs,
        });
        const text = await res.body.text();
        if (res.statusCode !== 200) return { ok: false, detail: `/v1/models answered ${res.statusCode}` };
        const ids = ((JSON.parse(text) as { data?: { id?: string }[] }).data ?? []).map((m) => m.id);
        return ids.includes(input.upstreamModel)
          ? { ok: true, detail: `/v1/models lists ${input.upstreamModel}` }
          : {
              ok: false,
              detail: `/v1/models lists ${ids.join(', ') || 'nothing'}, not ${input.upstreamModel}`,
            };
      } catch (err) {
        return { ok: false, detail: `/v1/models: ${(err as Error).message}` };
      }
    },

    /**
     * Sets the gateway's weights for a step in one transaction: the new version takes
     * `canaryWeight` as a canary, the current ones the rest. Answers the database's time of the
     * change, from which the gates measure the step.
     */
    async setTrafficSplit(input: {
      modelId: string;
      canaryId: string;
      canaryWeight: number;
      current: DeploymentWeight[];
      percent: number;
    }): Promise<{ at: string }> {
      return db.transaction(async (tx) => {
        const changed = await tx
          .update(modelDeployments)
          .set({ stage: 'canary', state: 'active', weight: input.canaryWeight, updatedAt: sql`now()` })
          .where(
            and(
              eq(modelDeployments.id, input.canaryId),
              sql`${modelDeployments.weight} <> ${input.canaryWeight}`,
            ),
          )
          .returning({ id: modelDeployments.id });
        for (const d of input.current)
          await tx
            .update(modelDeployments)
            .set({ weight: d.weight, updatedAt: sql`now()` })
            .where(and(eq(modelDeployments.id, d.id), eq(modelDeployments.modelId, input.modelId)));
        if (changed.length > 0)
          await audit(tx, {
            action: 'model.rollout.step',
            targetId: input.canaryId,
            details: { percent: input.percent, canaryWeight: input.canaryWeight, current: input.current },
          });
        return { at: await dbNow(tx) };
      });
    },

    /** The gateway's metrics of these deployments since `since` (every tenant's requests, aggregated). */
    async deploymentHealth(input: { ids: string[]; since: string }): Promise<HealthSample> {
      const { rows } = await db.$client.query<{
        requests: string;
        errors: string;
        ttft_samples: string;
        ttft_p95_ms: number | null;
      }>('SELECT * FROM deployment_health($1::text[], $2::timestamptz)', [input.ids, input.since]);
      const row = rows[0];
      return {
        requests: Number(row?.requests ?? 0),
        errors: Number(row?.errors ?? 0),
        ttftSamples: Number(row?.ttft_samples ?? 0),
        ttftP95Ms: row?.ttft_p95_ms ?? null,
      };
    },

    /** Requests the gateway recorded for these deployments in the last `seconds` (the drain's test). */
    async recentRequests(input: { ids: string[]; seconds: number }): Promise<number> {
      const { rows } = await db.$client.query<{ requests: string }>(
        `SELECT requests FROM deployment_health($1::text[], now() - make_interval(secs => $2))`,
        [input.ids, input.seconds],
      );
      return Number(rows[0]?.requests ?? 0);
    },

    /**
     * Rolls the weights back: the current versions get their weights from before the rollout, the
     * new version none, and it is marked failed with the reason.
     */
    async rollBackTraffic(input: {
      modelId: string;
      canaryId: string;
      current: DeploymentWeight[];
      reason: string;
    }): Promise<void> {
      await db.transaction(async (tx) => {
        for (const d of input.current)
          await tx
            .update(modelDeployments)
            .set({ weight: d.weight, state: 'active', stage: 'serving', updatedAt: sql`now()` })
            .where(and(eq(modelDeployments.id, d.id), eq(modelDeployments.modelId, input.modelId)));
        const changed = await tx
          .update(modelDeployments)
          .set({
            stage: 'failed',
            state: 'disabled',
            weight: 0,
            failureReason: input.reason.slice(0, 2000),
            updatedAt: sql`now()`,
          })
          .where(and(eq(modelDeployments.id, input.canaryId), ne(modelDeployments.stage, 'failed')))
          .returning({ id: modelDeployments.id });
        if (changed.length > 0)
          await audit(tx, {
            action: 'model.rollout.roll-back',
            targetId: input.canaryId,
            details: { reason: input.reason, current: input.current },
          });
      });
    },

    /** The new version serves everything; the versions it replaces drain (no new requests). */
    async promote(input: { modelId: string; canaryId: string; currentIds: string[] }): Promise<void> {
      await db.transaction(async (tx) => {
        const changed = await tx
          .update(modelDeployments)
          .set({ stage: 'serving', state: 'active', weight: weightTotal, updatedAt: sql`now()` })
          .where(and(eq(modelDeployments.id, input.canaryId), ne(modelDeployments.stage, 'serving')))
          .returning({ id: modelDeployments.id });
        if (input.currentIds.length > 0)
          await tx
            .update(modelDeployments)
            .set({ stage: 'draining', state: 'draining', weight: 0, updatedAt: sql`now()` })
            .where(
              and(
                inArray(modelDeployments.id, input.currentIds),
                eq(modelDeployments.modelId, input.modelId),
              ),
            );
        if (changed.length > 0)
          await audit(tx, {
            action: 'model.rollout.promote',
            targetId: input.canaryId,
            details: { draining: input.currentIds },
          });
      });
    },

    /** The drained versions are unloaded: retired, taking no traffic. */
    async retireVersions(input: { modelId: string; ids: string[] }): Promise<void> {
      if (input.ids.length === 0) return;
      await db.transaction(async (tx) => {
        const retired = await tx
          .update(modelDeployments)
          .set({ stage: 'retired', state: 'disabled', weight: 0, updatedAt: sql`now()` })
          .where(
            and(
              inArray(modelDeployments.id, input.ids),
              eq(modelDeployments.modelId, input.modelId),
              ne(modelDeployments.stage, 'retired'),
            ),
          )
          .returning({ id: modelDeployments.id });
        for (const { id } of retired)
          await audit(tx, {
            action: 'model.version.retire',
            targetId: id,
            details: {},
          });
      });
    },
  };
}

async function dbNow(tx: Tx): Promise<string> {
  const { rows } = await tx.execute<{ now: string }>(
    sql`SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS now`,
  );
  const now = rows[0]?.now;
  if (!now) throw new Error('no time from the database');
  return now;
}

function isUniqueViolation(err: unknown, constraint: string): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const pgErr = e as Error & { code?: string; constraint?: string };
    if (pgErr.code === '23505' && pgErr.constraint === constraint) return true;
  }
  return false;
}

export type RolloutActivities = ReturnType<typeof createRolloutActivities>;
