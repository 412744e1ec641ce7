// The gateway's inference metrics as Prometheus scrapes them: what the gateway dashboard and the
// SLO alerts (deploy/helm/vlinders/) read, under the names and labels they read.
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { metrics as sdkMetrics } from '@opentelemetry/sdk-node';
import { afterEach, describe, expect, it } from 'vitest';
import { InferenceMetrics, statusClass } from '../../../../../api/gateway/metering/inference-metrics.js';
import type { UsageEvent } from '../../../../../core/usage-event.js';

const event: UsageEvent = {
  id: '00000000-0000-4000-8000-000000000001',
  occurredAt: '2026-01-01T00:00:00.000Z',
  orgId: '00000000-0000-4000-8000-0000000000aa',
  teamId: null,
  keyId: '00000000-0000-4000-8000-0000000000bb',
  model: 'llama',
  deploymentId: 'llama-v2',
  promptTokens: 12,
  completionTokens: 30,
  cachedTokens: 0,
  estimated: false,
  timeToFirstTokenMs: 150,
  durationMs: 1_200,
  status: 200,
  streamed: true,
  cancelled: false,
  requestId: 'req-1',
};

let provider: sdkMetrics.MeterProvider | undefined;
afterEach(() => provider?.shutdown());

async function scrape(record: (metrics: InferenceMetrics) => void): Promise<string> {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  provider = new sdkMetrics.MeterProvider({ readers: [exporter] });
  record(new InferenceMetrics(provider.getMeter('test')));
  const { resourceMetrics } = await exporter.collect();
  return new PrometheusSerializer().serialize(resourceMetrics);
}

/** The value of the one sample whose name and labels contain these. */
function sample(text: string, name: string, labels: string[]): string | undefined {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && labels.every((label) => l.includes(label)));
  return line?.split(' ').at(-1);
}

describe('inference metrics', () => {
  it('count requests, time to first token and tokens by model, deployment and tenant', async () => {
    const text = await scrape((m) => {
      m.record(event);
      m.record({
        ...event,
        id: '00000000-0000-4000-8000-000000000002',
        status: 502,
        timeToFirstTokenMs: null,
        completionTokens: 0,
      });
    });
    const where = ['model="llama"', 'deployment="llama-v2"'];
    expect(sample(text, 'vlinders_gateway_requests_total', [...where, 'status_class="2xx"'])).toBe('1');
    expect(sample(text, 'vlinders_gateway_requests_total', [...where, 'status_class="5xx"'])).toBe('1');
    // Only the answered request had a first token; 0.15 s falls in the 0.25 s bucket.
    expect(sample(text, 'vlinders_gateway_time_to_first_token_seconds_count', where)).toBe('1');
    expect(sample(text, 'vlinders_gateway_time_to_first_token_seconds_bucket', [...where, 'le="0.1"'])).toBe(
      '0',
    );
    expect(sample(text, 'vlinders_gateway_time_to_first_token_seconds_bucket', [...where, 'le="0.25"'])).toBe(
      '1',
    );
    expect(sample(text, 'vlinders_gateway_time_to_first_token_seconds_bucket', [...where, 'le="2"'])).toBe(
      '1',
    );
    expect(sample(text, 'vlinders_gateway_request_duration_seconds_count', where)).toBe('2');
    expect(sample(text, 'vlinders_gateway_tokens_total', ['model="llama"', 'kind="prompt"'])).toBe('24');
    expect(sample(text, 'vlinders_gateway_tokens_total', ['model="llama"', 'kind="completion"'])).toBe('30');
    expect(
      sample(text, 'vlinders_gateway_tenant_tokens_total', [`org_id="${event.orgId}"`, 'kind="completion"']),
    ).toBe('30');
  });

  it('label an unrouted request with deployment "none"', async () => {
    const text = await scrape((m) =>
      m.record({ ...event, deploymentId: null, status: 503, timeToFirstTokenMs: null }),
    );
    expect(sample(text, 'vlinders_gateway_requests_total', ['deployment="none"', 'status_class="5xx"'])).toBe(
      '1',
    );
  });

  it.each([
    [200, '2xx'],
    [429, '4xx'],
    [499, '499'],
    [502, '5xx'],
  ])('status %i is class %s', (status, cls) => {
    expect(statusClass(status)).toBe(cls);
  });
});
