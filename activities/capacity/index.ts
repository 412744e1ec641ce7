// The capacity loop's activities (workflows/capacity.ts): sample a pool's metrics, and change its
// replicas through the cluster's one writer (`serve-cluster/<cluster>`), never by writing Serve's
// config directly. The writer is reached through a port that workers/ binds to the Temporal client
// and the writer's messages (workers/serve-cluster-client.ts): activities do not import workflows.
import { request } from 'undici';
import type { CapacityObservation, CapacityPool, SetPoolReplicasInput } from '../../core/capacity.js';
import { meanOf, parsePrometheusText, select, sumOf, type Sample } from '../../core/prometheus-text.js';
import type { ReplicaSetting } from '../../core/serving.js';
import { ServeApi } from '../ray/serve-api.js';

/** A cluster's writer, as the capacity loop needs it. */
export interface ServeClusterPort {
  /** The cluster's dashboard (Serve REST API), as its writer holds it. */
  dashboardUrl(cluster: string): Promise<string>;
  /** Sets replicas through the writer; the same `updateId` twice is one change. */
  setReplicas(cluster: string, setting: ReplicaSetting, updateId: string): Promise<void>;
}

export interface CapacityActivityDeps {
  clusters: ServeClusterPort;
  /** Per scrape and Serve API call. */
  timeoutMs?: number;
}

/** DCGM exporter's GPU utilisation gauge, in percent. */
export const dcgmUtilization = 'DCGM_FI_DEV_GPU_UTIL';

/** The samples summed per deployment (a deployment's count is split over the handles calling it). */
function perDeployment(samples: Sample[]): number[] {
  const sums = new Map<string, number>();
  for (const s of samples)
    sums.set(s.labels.deployment ?? '', (sums.get(s.labels.deployment ?? '') ?? 0) + s.value);
  return [...sums.values()];
}

const maxOf = (values: number[]) => (values.length === 0 ? null : Math.max(...values));

export function createCapacityActivities({ clusters, timeoutMs = 5_000 }: CapacityActivityDeps) {
  async function scrape(url: string): Promise<Sample[]> {
    const res = await request(url, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${url} answered ${res.statusCode}`);
    return parsePrometheusText(text);
  }

  /** Every page, or a failure: a node left out would understate demand and shrink the pool. */
  async function scrapeAll(urls: string[]): Promise<Sample[]> {
    return (await Promise.all(urls.map(scrape))).flat();
  }

  return {
    /**
     * One sample of the pool (the workflow stamps its time): replicas from the Serve API; requests
     * from Serve's routers and vLLM's engines, both on the Ray nodes' Prometheus endpoints; the KV
     * cache from vLLM; GPU utilisation from DCGM where the pool has GPUs. vLLM's gauges are exported
     * only while its engine reports (Ray drops a gauge not set for two export intervals), so an idle
     * engine has none: Serve's router gauges, always there, carry the count then. The gateway's
     * in-flight count is per API process and not exported anywhere a worker can read
     * (docs/workflows.md), so it stays null.
     */
    async observePool(pool: CapacityPool): Promise<Omit<CapacityObservation, 'at'>> {
      const dashboardUrl = await clusters.dashboardUrl(pool.cluster);
      const [apps, ray, gpu] = await Promise.all([
        new ServeApi(dashboardUrl, timeoutMs).applications(),
        scrapeAll(pool.metricsUrls),
        pool.gpuMetrics ? scrapeAll(pool.gpuMetrics.urls) : Promise.resolve([]),
      ]);
      const app = { application: pool.application };
      const model = { model_name: pool.model };
      // Serve LLM runs an ingress and the model's server: the pool is as large as its largest.
      const replicas = Object.values(apps.get(pool.application)?.runningReplicas ?? {});
      // A request passes every deployment of the application: the busiest one holds them all.
      const atReplicas = maxOf(perDeployment(select(ray, 'ray_serve_num_ongoing_requests_at_replicas', app)));
      const queued = sumOf(select(ray, 'ray_serve_deployment_queued_queries', app));
      const running = sumOf(select(ray, 'ray_vllm_num_requests_running', model));
      const engineWaiting = sumOf(select(ray, 'ray_vllm_num_requests_waiting', model));
      const inEngines =
        running === null && engineWaiting === null ? null : (running ?? 0) + (engineWaiting ?? 0);
      const held =
        atReplicas === null && inEngines === null ? null : Math.max(atReplicas ?? 0, inEngines ?? 0);
      const gpuUtil = pool.gpuMetrics ? meanOf(select(gpu, dcgmUtilization, pool.gpuMetrics.labels)) : null;
      return {
        replicas: replicas.length === 0 ? 0 : Math.max(...replicas),
        ongoing: held === null && queued === null ? null : (held ?? 0) + (queued ?? 0),
        waiting: engineWaiting === null && queued === null ? null : (engineWaiting ?? 0) + (queued ?? 0),
        kvCacheUse: meanOf(select(ray, 'ray_vllm_kv_cache_usage_perc', model)),
        gpuUtilization: gpuUtil === null ? null : gpuUtil / 100,
        gatewayInflight: null,
      };
    },

    /**
     * Sets the pool's replicas through the cluster's writer. Zero is Serve's own scale-to-zero
     * (min 0, max 1): Serve queues requests at its handle and starts a replica for the first one,
     * sooner than any polling loop could. The update id makes a retried attempt (a worker killed
     * mid-change, a timeout while the writer is busy) the same update, not a second one.
     */
    async setPoolReplicas(input: SetPoolReplicasInput): Promise<void> {
      await clusters.setReplicas(
        input.cluster,
        {
          application: input.application,
          minReplicas: input.replicas,
          maxReplicas: Math.max(1, input.replicas),
        },
        input.idempotencyKey,
      );
    },
  };
}

export type CapacityActivities = ReturnType<typeof createCapacityActivities>;
