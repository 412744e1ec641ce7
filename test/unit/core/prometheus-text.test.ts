import { describe, expect, it } from 'vitest';
import { meanOf, parsePrometheusText, select, sumOf } from '../../../core/prometheus-text.js';

// Lines as Ray's metrics agent writes them (labels trimmed), with a quoted label holding an escape.
const page = `# HELP ray_vllm_num_requests_running Number of requests in model execution batches.
# TYPE ray_vllm_num_requests_running gauge
ray_vllm_num_requests_running{Component="core_worker",ReplicaId="a1",engine="0",model_name="tiny-chat-v1"} 3.0
ray_vllm_num_requests_running{Component="core_worker",ReplicaId="b2",engine="0",model_name="tiny-chat-v1"} 5.0
ray_vllm_num_requests_running{ReplicaId="c3",engine="0",model_name="other"} 7.0
ray_vllm_kv_cache_usage_perc{model_name="tiny-chat-v1",ReplicaId="a1"} 0.25 1733480000000
ray_vllm_kv_cache_usage_perc{model_name="tiny-chat-v1",ReplicaId="b2"} 0.75
ray_serve_deployment_queued_queries{application="tiny-chat-v1",deployment="LLMServer:tiny-chat-v1",note="a \\"quoted\\", odd} value"} 2
up 1
`;

describe('Prometheus text', () => {
  const samples = parsePrometheusText(page);

  it('reads every sample with its labels, skipping comments', () => {
    expect(samples).toHaveLength(7);
    expect(select(samples, 'ray_serve_deployment_queued_queries')[0]?.labels).toEqual({
      application: 'tiny-chat-v1',
      deployment: 'LLMServer:tiny-chat-v1',
      note: 'a "quoted", odd} value',
    });
    expect(select(samples, 'up')[0]).toEqual({ name: 'up', labels: {}, value: 1 });
  });

  it('sums and averages the series that match, and says when there is none', () => {
    const model = { model_name: 'tiny-chat-v1' };
    expect(sumOf(select(samples, 'ray_vllm_num_requests_running', model))).toBe(8);
    expect(meanOf(select(samples, 'ray_vllm_kv_cache_usage_perc', model))).toBe(0.5);
    expect(sumOf(select(samples, 'ray_vllm_num_requests_waiting', model))).toBeNull();
  });
});
