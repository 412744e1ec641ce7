// The gateway's inference metrics, recorded from each request's one usage event (request-meter.ts):
// requests, time to first token and duration by model and deployment — what the gateway dashboard
// and the TTFT and error-ratio SLO alerts read (deploy/helm/vlinders/) — and tokens by model and
// by tenant, for the tenants dashboard's usage and top spenders. The route-level HTTP metrics
// (api/plugins/metrics.ts) cannot say which model or deployment answered.
// Labels stay bounded: model names and deployment ids come from the registry, the org id is one
// series pair per tenant (prompt, completion), and the status is its class (2xx, 4xx, 5xx).
import type { Attributes, Counter, Histogram, Meter } from '@opentelemetry/api';
import type { UsageEvent } from '../../../core/usage-event.js';

// Seconds. A first token is expected within a second or two; queues behind a busy engine take longer.
const ttftBuckets = [0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60];
// Whole requests, streamed answers included, run for up to minutes.
const durationBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** 499 (the client left) is its own class: neither the platform's failure nor a bad request. */
export function statusClass(status: number): string {
  if (status === 499) return '499';
  return `${Math.floor(status / 100)}xx`;
}

export class InferenceMetrics {
  private readonly requests: Counter;
  private readonly ttft: Histogram;
  private readonly duration: Histogram;
  private readonly tokens: Counter;
  private readonly tenantTokens: Counter;

  constructor(meter: Meter) {
    this.requests = meter.createCounter('vlinders_gateway_requests', {
      description: 'Admitted inference requests, by model, deployment (none when unrouted) and status class',
    });
    this.ttft = meter.createHistogram('vlinders_gateway_time_to_first_token_seconds', {
      description:
        "Time to the answering upstream's first byte (the usage event's TTFT), by model and deployment",
      unit: 's',
      advice: { explicitBucketBoundaries: ttftBuckets },
    });
    this.duration = meter.createHistogram('vlinders_gateway_request_duration_seconds', {
      description: 'Time from admission to the end of the answer, by model and deployment',
      unit: 's',
      advice: { explicitBucketBoundaries: durationBuckets },
    });
    this.tokens = meter.createCounter('vlinders_gateway_tokens', {
      description: 'Tokens metered, by model and kind (prompt, completion)',
    });
    this.tenantTokens = meter.createCounter('vlinders_gateway_tenant_tokens', {
      description: 'Tokens metered, by tenant (org_id) and kind (prompt, completion)',
    });
  }

  /** One finished request, from the usage event the meter records for it. */
  record(event: UsageEvent): void {
    const where: Attributes = { model: event.model, deployment: event.deploymentId ?? 'none' };
    this.requests.add(1, { ...where, status_class: statusClass(event.status) });
    if (event.timeToFirstTokenMs !== null) this.ttft.record(event.timeToFirstTokenMs / 1000, where);
    this.duration.record(event.durationMs / 1000, where);
    if (event.promptTokens > 0) {
      this.tokens.add(event.promptTokens, { model: event.model, kind: 'prompt' });
      this.tenantTokens.add(event.promptTokens, { org_id: event.orgId, kind: 'prompt' });
    }
    if (event.completionTokens > 0) {
      this.tokens.add(event.completionTokens, { model: event.model, kind: 'completion' });
      this.tenantTokens.add(event.completionTokens, { org_id: event.orgId, kind: 'completion' });
    }
  }
}
