// Temporal tracing with @temporalio/interceptors-opentelemetry: the client interceptor puts the
// active span's context into workflow headers, the worker's interceptors continue that trace in
// workflows and activities, and workflow spans leave the sandbox through a sink into the process's
// span processor (so they reach OTLP with the rest).
import { createRequire } from 'node:module';
import { tracing } from '@opentelemetry/sdk-node';
import type { ClientInterceptors } from '@temporalio/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { WorkerOptions } from '@temporalio/worker';
import { activeTelemetry, type Telemetry } from './telemetry.js';

/** Modules the worker's workflow bundle must include (pass to bundleWorkflowCode too). */
export const workflowInterceptorModules = [
  createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
];

/** Interceptors for a Temporal Client (API and workers): starts, signals, updates are traced. */
export function temporalClientInterceptors(): ClientInterceptors {
  return { workflow: [new OpenTelemetryWorkflowClientInterceptor()] };
}

// The interceptors package builds its workflow spans in the OpenTelemetry 1.x shape; the SDK here
// is 2.x, which reads the parent from parentSpanContext and the scope from instrumentationScope.
type LegacySpanProcessor = Parameters<typeof makeWorkflowExporter>[0];
type LegacyResource = Parameters<typeof makeWorkflowExporter>[1];
interface LegacySpanFields {
  parentSpanId?: string;
  instrumentationLibrary?: { name: string; version?: string };
}

class LegacySpanAdapter {
  constructor(
    private readonly target: tracing.SpanProcessor,
    private readonly resource: Telemetry['resource'] | undefined,
  ) {}
  onStart(): void {}
  onEnd(span: tracing.ReadableSpan & LegacySpanFields): void {
    const context = span.spanContext();
    const converted: tracing.ReadableSpan = {
      ...span,
      spanContext: () => context,
      resource: this.resource ?? span.resource,
      parentSpanContext:
        span.parentSpanContext ??
        (span.parentSpanId
          ? {
              traceId: context.traceId,
              spanId: span.parentSpanId,
              traceFlags: context.traceFlags,
              isRemote: false,
            }
          : undefined),
      instrumentationScope: span.instrumentationScope ??
        span.instrumentationLibrary ?? { name: '@temporalio/interceptors-opentelemetry' },
    };
    this.target.onEnd(converted);
  }
  forceFlush(): Promise<void> {
    return this.target.forceFlush();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Interceptors and the span sink for Worker.create: merge the result into the worker's options.
 * Uses the process's telemetry when it was started; without it, spans are dropped.
 */
export function temporalWorkerTracing(
  telemetry: Telemetry | undefined = activeTelemetry(),
): Required<Pick<WorkerOptions, 'interceptors' | 'sinks'>> {
  const processor = new LegacySpanAdapter(
    telemetry?.spanProcessor ?? new tracing.NoopSpanProcessor(),
    telemetry?.resource,
  );
  return {
    interceptors: {
      client: temporalClientInterceptors(),
      workflowModules: workflowInterceptorModules,
      activity: [
        (ctx) => ({
          inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
          outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
    },
    sinks: {
      exporter: makeWorkflowExporter(
        processor as unknown as LegacySpanProcessor,
        (telemetry?.resource ?? {}) as unknown as LegacyResource,
      ),
    },
  };
}
