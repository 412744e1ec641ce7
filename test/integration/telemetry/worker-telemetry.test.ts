// What an operator sees of a worker: one trace from the client's start through the workflow and
// its activity (workflow spans leave the sandbox through the sink into the process's exporter),
// and the Temporal SDK's runtime metrics on the worker's Prometheus endpoint.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { trace } from '@opentelemetry/api';
import { tracing } from '@opentelemetry/sdk-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelemetry, type Telemetry } from '../../../runtime/telemetry.js';
import { freePort } from '../../support/services.js';
import { testConfig } from '../../support/config.js';

const spans = new tracing.InMemorySpanExporter();
let telemetry: Telemetry;
let metricsPort: number;

beforeAll(async () => {
  metricsPort = await freePort();
  const config = testConfig({ WORKER_METRICS_PORT: String(metricsPort) });
  telemetry = startTelemetry(config, 'vlinders-worker-test', { spanExporter: spans, prometheus: false });
  const { installWorkerRuntime } = await import('../../../runtime/worker-runtime.js');
  installWorkerRuntime(config);
});

afterAll(async () => {
  await telemetry?.shutdown();
});

describe('worker telemetry', () => {
  it('traces a workflow and its activity under the client span that started it, and exposes SDK metrics', async () => {
    const { Client, Connection } = await import('@temporalio/client');
    const { NativeConnection, Worker, bundleWorkflowCode } = await import('@temporalio/worker');
    const { temporalClientInterceptors, temporalWorkerTracing, workflowInterceptorModules } =
      await import('../../../runtime/temporal-tracing.js');
    const config = testConfig();
    const taskQueue = `telemetry-${randomUUID()}`;

    const workflowBundle = await bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('./probe-workflow.ts', import.meta.url)),
      workflowInterceptorModules,
    });
    const nativeConnection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
    const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
    const client = new Client({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      interceptors: temporalClientInterceptors(),
    });
    try {
      const worker = await Worker.create({
        connection: nativeConnection,
        namespace: config.TEMPORAL_NAMESPACE,
        taskQueue,
        workflowBundle,
        activities: { probeActivity: async (name: string) => `hello ${name}` },
        ...temporalWorkerTracing(),
      });
      const result = await trace.getTracer('test').startActiveSpan('operator action', async (span) => {
        // runUntil shuts the worker down afterwards, which flushes the workflow span sink.
        const answer = await worker.runUntil(
          client.workflow.execute('telemetryProbe', {
            taskQueue,
            workflowId: `telemetry-probe/${randomUUID()}`,
            args: ['probe'],
          }),
        );
        span.end();
        return { answer, traceId: span.spanContext().traceId };
      });
      expect(result.answer).toBe('hello probe');

      const inTrace = spans.getFinishedSpans().filter((s) => s.spanContext().traceId === result.traceId);
      // Every span compared must exist: two missing ids would compare equal.
      const byName = (name: string) => {
        const span = inTrace.find((s) => s.name === name);
        if (!span)
          throw new Error(`no span ${name} in the trace; seen: ${inTrace.map((s) => s.name).join(', ')}`);
        return span;
      };
      const run = byName('RunWorkflow:telemetryProbe');
      // Workflow spans come from the sandbox in the 1.x span shape; they must reach the 2.x
      // exporter with their parent and resource.
      expect(run.parentSpanContext?.spanId).toBe(byName('StartWorkflow:telemetryProbe').spanContext().spanId);
      expect(run.resource.attributes['service.name']).toBe('vlinders-worker-test');
      expect(byName('RunActivity:probeActivity').parentSpanContext?.spanId).toBe(
        byName('StartActivity:probeActivity').spanContext().spanId,
      );

      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(metrics).toMatch(/^temporal_workflow_completed_total\{.*task_queue="[^"]+".*\} 1$/m);
      expect(metrics).toContain('temporal_activity_execution_latency_seconds_bucket');
    } finally {
      await connection.close();
      await nativeConnection.close();
    }
  });
});
