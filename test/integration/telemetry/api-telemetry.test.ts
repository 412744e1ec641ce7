// What an operator sees of the API: Prometheus metrics at /metrics (rate, latency, errors by route
// and code) and traces for HTTP in and out, pg, ioredis and Temporal client calls.
import { randomUUID } from 'node:crypto';
import { SpanKind, trace } from '@opentelemetry/api';
import { tracing } from '@opentelemetry/sdk-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelemetry, type Telemetry } from '../../../runtime/telemetry.js';
import type { TestApp } from '../../support/app.js';
import { testConfig } from '../../support/config.js';

const spans = new tracing.InMemorySpanExporter();
let telemetry: Telemetry;
let t: TestApp;

beforeAll(async () => {
  // Telemetry first; everything it instruments is imported afterwards, as api/server.ts does.
  telemetry = startTelemetry(testConfig(), 'vlinders-api', { spanExporter: spans });
  const { buildTestApp } = await import('../../support/app.js');
  t = await buildTestApp();
});

afterAll(async () => {
  await t?.close();
  await telemetry?.shutdown();
});

function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labelText = line.slice(name.length + 1, line.lastIndexOf('}'));
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`)))
      return Number(line.split(' ').at(-1));
  }
  return undefined;
}

describe('/metrics', () => {
  it('counts requests, records their latency and counts errors by route and error code', async () => {
    for (let i = 0; i < 3; i++) expect((await t.app.inject('/healthz')).statusCode).toBe(200);
    expect((await t.app.inject('/no/such/route')).statusCode).toBe(404);
    const invalid = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: {} });
    expect(invalid.statusCode).toBe(400);

    const response = await t.app.inject('/metrics');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    const text = response.body;

    const healthz = { method: 'GET', route: '/healthz', status_code: '200' };
    expect(sample(text, 'vlinders_api_requests_total', healthz)).toBe(3);
    expect(sample(text, 'vlinders_api_request_duration_seconds_count', healthz)).toBe(3);
    expect(sample(text, 'vlinders_api_request_duration_seconds_bucket', { ...healthz, le: '+Inf' })).toBe(3);
    expect(text).toContain('# TYPE vlinders_api_request_duration_seconds histogram');

    // Unknown paths share one label value, so scanners cannot blow up the series count.
    expect(
      sample(text, 'vlinders_api_errors_total', {
        route: 'unmatched',
        status_code: '404',
        error_code: 'NOT_FOUND',
      }),
    ).toBe(1);
    expect(
      sample(text, 'vlinders_api_errors_total', {
        method: 'POST',
        route: '/api/auth/login',
        status_code: '400',
        error_code: 'VALIDATION',
      }),
    ).toBe(1);
    expect(sample(text, 'vlinders_api_errors_total', { route: '/healthz' })).toBeUndefined();
  });
});

describe('traces', () => {
  it('traces an HTTP request from the client through the route to its Postgres queries', async () => {
    spans.reset();
    const address = await t.app.listen({ host: '127.0.0.1', port: 0 });
    // A login for an unknown account: the route looks the email up in Postgres, then answers 401.
    const response = await fetch(`${address}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: `nobody-${randomUUID()}@example.com`, password: 'not-a-password' }),
    });
    expect(response.status).toBe(401);
    await response.arrayBuffer();

    const finished = () => spans.getFinishedSpans();
    const server = finished().find(
      (s) => s.kind === SpanKind.SERVER && s.attributes['http.route'] === '/api/auth/login',
    );
    if (!server) throw new Error('no server span for POST /api/auth/login');
    expect(server.name).toBe('POST /api/auth/login');
    // The outgoing fetch (undici) is the server span's parent: the trace context crossed the wire.
    const client = finished().find(
      (s) =>
        s.instrumentationScope.name.includes('undici') &&
        s.spanContext().spanId === server.parentSpanContext?.spanId,
    );
    expect(client).toBeDefined();
    const queries = finished().filter(
      (s) =>
        s.instrumentationScope.name.includes('pg') &&
        s.spanContext().traceId === server.spanContext().traceId,
    );
    expect(queries.length).toBeGreaterThan(0);
  });

  it('traces Redis commands inside the active span', async () => {
    spans.reset();
    const redis = t.app.redis;
    if (!redis) throw new Error('the suite runs with Redis');
    await trace.getTracer('test').startActiveSpan('probe', async (span) => {
      await redis.ping();
      span.end();
    });
    const probe = spans.getFinishedSpans().find((s) => s.name === 'probe');
    const ping = spans.getFinishedSpans().find((s) => s.instrumentationScope.name.includes('ioredis'));
    // Both spans must exist: two missing ids would compare equal.
    if (!probe || !ping) throw new Error(`missing span: probe ${Boolean(probe)}, ping ${Boolean(ping)}`);
    expect(ping.name).toBe('ping');
    expect(ping.parentSpanContext?.spanId).toBe(probe.spanContext().spanId);
  });

  it('traces Temporal client calls and passes the trace to the workflow in its headers', async () => {
    spans.reset();
    const { Client } = await import('@temporalio/client');
    const { temporalClientInterceptors } = await import('../../../runtime/temporal-tracing.js');
    const client = new Client({
      connection: t.app.temporal.connection,
      namespace: t.config.TEMPORAL_NAMESPACE,
      interceptors: temporalClientInterceptors(),
    });
    const workflowId = `telemetry-probe/${randomUUID()}`;
    // No worker polls this queue: starting is enough to see the client side of the trace.
    const handle = await client.workflow.start('telemetryProbe', {
      taskQueue: `telemetry-${randomUUID()}`,
      workflowId,
    });
    try {
      const start = spans.getFinishedSpans().find((s) => s.name === 'StartWorkflow:telemetryProbe');
      expect(start).toBeDefined();
      const history = await handle.fetchHistory();
      const header = history.events?.[0]?.workflowExecutionStartedEventAttributes?.header?.fields ?? {};
      expect(Object.keys(header)).toContain('_tracer-data');
    } finally {
      await handle.terminate('telemetry test done');
    }
  });
});
