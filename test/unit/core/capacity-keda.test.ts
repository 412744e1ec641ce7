import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { renderScaledObject, type KedaTarget } from '../../../core/capacity-keda.js';
import { defaultCapacitySettings, type CapacityPool, type CapacitySettings } from '../../../core/capacity.js';

const pool: CapacityPool = {
  pool: 'Llama 70B/prod',
  cluster: 'gpu-eu-1',
  application: 'llama-70b-v3',
  model: 'llama-70b-v3',
  metricsUrls: [],
  gpuMetrics: { urls: [], labels: { gpu_pool: 'h100' } },
};
const target: KedaTarget = {
  namespace: 'serving',
  workload: { kind: 'Deployment', name: 'vllm-llama-70b-v3' },
  prometheusUrl: 'http://prometheus.monitoring:9090',
  metrics: 'vllm',
};
const settings: CapacitySettings = { ...defaultCapacitySettings, minReplicas: 2, maxReplicas: 8 };

/** The manifest as kubectl would get it: rendered to YAML and read back. */
function rendered(s: CapacitySettings, p: CapacityPool = pool, t: KedaTarget = target) {
  const text = stringify(renderScaledObject(p, s, t));
  return { text, manifest: parse(text) as ReturnType<typeof renderScaledObject> };
}

describe('KEDA ScaledObject for a pool', () => {
  it('scales the pool’s workload between its bounds on the loop’s signals and targets', () => {
    const { manifest } = rendered(settings);
    expect(manifest).toMatchObject({
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata: { name: 'capacity-llama-70b-prod', namespace: 'serving' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'vllm-llama-70b-v3' },
        pollingInterval: 15,
        minReplicaCount: 2,
        maxReplicaCount: 8,
      },
    });
    expect(manifest.metadata.annotations).toBeUndefined();
    expect(manifest.spec.cooldownPeriod).toBeUndefined();
    const triggers = Object.fromEntries(manifest.spec.triggers.map((t) => [t.name, t]));
    expect(Object.keys(triggers)).toEqual(['ongoing', 'waiting', 'kv-cache', 'gpu']);
    expect(triggers.ongoing).toEqual({
      type: 'prometheus',
      name: 'ongoing',
      metricType: 'AverageValue',
      metadata: {
        serverAddress: 'http://prometheus.monitoring:9090',
        query:
          'sum(vllm:num_requests_running{model_name="llama-70b-v3"}) + sum(vllm:num_requests_waiting{model_name="llama-70b-v3"})',
        threshold: '16',
      },
    });
    expect(triggers.waiting?.metadata.threshold).toBe('4');
    // Fractions per replica: the HPA's Value target (current × value / threshold).
    expect(triggers['kv-cache']).toMatchObject({ metricType: 'Value', metadata: { threshold: '0.9' } });
    expect(triggers.gpu).toMatchObject({
      metricType: 'Value',
      metadata: {
        query:
          'avg(DCGM_FI_DEV_GPU_UTIL{namespace="serving",gpu_pool="h100",pod=~"vllm-llama-70b-v3-.*"}) / 100',
        threshold: '0.85',
      },
    });
  });

  it('carries the windows and cooldowns into the HPA’s behaviour', () => {
    const { behavior } = rendered(settings).manifest.spec.advanced.horizontalPodAutoscalerConfig;
    expect(behavior.scaleUp.stabilizationWindowSeconds).toBe(30);
    expect(behavior.scaleUp.policies[0]?.periodSeconds).toBe(60);
    // Down only after the longer of the window and the cooldown without demand.
    expect(behavior.scaleDown.stabilizationWindowSeconds).toBe(300);
    expect(behavior.scaleDown.policies[0]?.periodSeconds).toBe(300);
  });

  it('scales to zero after the idle time when the pool allows it', () => {
    const { manifest } = rendered({ ...settings, scaleToZero: { idleMs: 900_000 } });
    expect(manifest.spec.minReplicaCount).toBe(0);
    expect(manifest.spec.cooldownPeriod).toBe(900);
  });

  it('renders a dry-run pool paused: KEDA has no recommend-only mode', () => {
    expect(rendered({ ...settings, dryRun: true }).manifest.metadata.annotations).toEqual({
      'autoscaling.keda.sh/paused': 'true',
    });
  });

  it('names Ray’s metrics for vLLM inside Ray Serve, escapes label values, and leaves GPUs out without them', () => {
    const { manifest, text } = rendered(
      settings,
      { ...pool, model: 'odd"name', gpuMetrics: undefined },
      { ...target, metrics: 'ray' },
    );
    expect(manifest.spec.triggers.map((t) => t.name)).toEqual(['ongoing', 'waiting', 'kv-cache']);
    expect(manifest.spec.triggers[1]?.metadata.query).toBe(
      'sum(ray_vllm_num_requests_waiting{model_name="odd\\"name"})',
    );
    // Every threshold is a string, as KEDA's trigger metadata requires.
    expect(text).not.toMatch(/threshold: \d/);
  });
});
