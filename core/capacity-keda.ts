// The capacity rules for Kubernetes: a KEDA ScaledObject that scales a pool's vLLM workload on
// the same signals and targets as the capacity loop (core/capacity.ts), read from Prometheus. Each
// trigger follows KEDA's rule, replicas = value / threshold (AverageValue) or current × value /
// threshold (Value, for the per-replica fractions), and the HPA takes the largest: the loop's
// "busiest signal". The loop's windows and cooldowns become the HPA's stabilisation windows and
// rate policies. What does not carry over: the band (the HPA has its own 10 % tolerance), the
// gateway's in-flight count (not exported), and dry-run (KEDA cannot recommend: a dry-run pool is
// rendered paused, and the loop's recommendations stand in).
import type { CapacityPool, CapacitySettings } from './capacity.js';

export interface KedaTarget {
  /** The Kubernetes namespace of the pool's workload. */
  namespace: string;
  /** The workload KEDA scales: vLLM's Deployment (or a StatefulSet) serving the pool's model. */
  workload: { kind: 'Deployment' | 'StatefulSet'; name: string };
  /** The Prometheus server that scrapes the pool's pods (and DCGM, where there are GPUs). */
  prometheusUrl: string;
  /**
   * How the pool's metrics are named there: vLLM's own exporter (`vllm:num_requests_running`) or
   * Ray's (`ray_vllm_num_requests_running`, for vLLM inside Ray Serve).
   */
  metrics: 'vllm' | 'ray';
}

type Trigger = {
  type: 'prometheus';
  name: string;
  metricType: 'AverageValue' | 'Value';
  metadata: Record<string, string>;
};

const seconds = (ms: number) => Math.max(1, Math.round(ms / 1000));
/** Prometheus label values are double-quoted strings: escape what would end them. */
const quoted = (value: string) => `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
/** Kubernetes names: lower case, digits and dashes. */
const dnsName = (value: string) =>
  value
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);

export function renderScaledObject(pool: CapacityPool, s: CapacitySettings, target: KedaTarget) {
  const metric = (name: string) => (target.metrics === 'ray' ? `ray_vllm_${name}` : `vllm:${name}`);
  const model = `{model_name=${quoted(pool.model)}}`;
  const prometheus = (name: string, metricType: Trigger['metricType'], query: string, threshold: number) =>
    ({
      type: 'prometheus',
      name,
      metricType,
      metadata: { serverAddress: target.prometheusUrl, query, threshold: String(threshold) },
    }) satisfies Trigger;

  const triggers: Trigger[] = [
    prometheus(
      'ongoing',
      'AverageValue',
      `sum(${metric('num_requests_running')}${model}) + sum(${metric('num_requests_waiting')}${model})`,
      s.targetOngoingPerReplica,
    ),
    prometheus(
      'waiting',
      'AverageValue',
      `sum(${metric('num_requests_waiting')}${model})`,
      s.targetWaitingPerReplica,
    ),
    prometheus('kv-cache', 'Value', `avg(${metric('kv_cache_usage_perc')}${model})`, s.kvCacheCeiling),
  ];
  if (pool.gpuMetrics) {
    // DCGM's exporter labels each GPU with the pod using it.
    const labels = Object.entries({ namespace: target.namespace, ...pool.gpuMetrics.labels })
      .map(([k, v]) => `${k}=${quoted(v)}`)
      .concat(`pod=~${quoted(`${target.workload.name}-.*`)}`)
      .join(',');
    triggers.push(
      prometheus('gpu', 'Value', `avg(DCGM_FI_DEV_GPU_UTIL{${labels}}) / 100`, s.gpuUtilizationGoal),
    );
  }

  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: {
      name: dnsName(`capacity-${pool.pool}`),
      namespace: target.namespace,
      labels: { 'app.kubernetes.io/managed-by': 'vlinders', 'vlinders.io/capacity-pool': dnsName(pool.pool) },
      ...(s.dryRun && { annotations: { 'autoscaling.keda.sh/paused': 'true' } }),
    },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: target.workload.kind, name: target.workload.name },
      pollingInterval: seconds(s.intervalMs),
      minReplicaCount: s.scaleToZero ? 0 : s.minReplicas,
      maxReplicaCount: s.maxReplicas,
      // KEDA's cooldown is only the idle time before it scales to zero.
      ...(s.scaleToZero && { cooldownPeriod: seconds(s.scaleToZero.idleMs) }),
      advanced: {
        horizontalPodAutoscalerConfig: {
          behavior: {
            // The HPA keeps the lowest recommendation of the window when scaling up and the highest
            // when scaling down: the loop's stabilisation. Its policies pace changes: the cooldowns.
            scaleUp: {
              stabilizationWindowSeconds: Math.min(3600, seconds(s.scaleUpWindowMs)),
              selectPolicy: 'Max',
              policies: [
                {
                  type: 'Pods',
                  value: s.maxReplicas,
                  periodSeconds: Math.min(1800, seconds(s.scaleUpCooldownMs)),
                },
              ],
            },
            scaleDown: {
              stabilizationWindowSeconds: Math.min(
                3600,
                seconds(Math.max(s.scaleDownWindowMs, s.scaleDownCooldownMs)),
              ),
              selectPolicy: 'Max',
              policies: [
                {
                  type: 'Percent',
                  value: 100,
                  periodSeconds: Math.min(1800, seconds(s.scaleDownCooldownMs)),
                },
              ],
            },
          },
        },
      },
      triggers,
    },
  };
}
