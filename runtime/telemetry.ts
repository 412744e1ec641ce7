// OpenTelemetry for every process: traces for HTTP in and out, pg, ioredis and Temporal, exported
// by OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set; metrics through one Prometheus exporter
// whose handler the API serves at /metrics. Start it before importing anything it instruments:
// instrumentations patch modules as they load, so a module imported earlier stays unpatched.
import { context, metrics, propagation, trace, type MeterProvider } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { NodeSDK, resources, tracing } from '@opentelemetry/sdk-node';
import { createRequire } from 'node:module';
import type { Config } from './config.js';

export interface TelemetryOptions {
  /** Where finished spans go instead of (or besides) OTLP; tests pass an in-memory exporter. */
  spanExporter?: tracing.SpanExporter;
  /** Serve metrics through a Prometheus exporter (the API). Workers expose Temporal Core's instead. */
  prometheus?: boolean;
}

export interface Telemetry {
  /** The Prometheus exporter whose handler serves /metrics; absent when prometheus is off. */
  readonly prometheus: PrometheusExporter | undefined;
  /** The meter provider the process's own metrics are recorded on. */
  readonly meterProvider: MeterProvider;
  readonly resource: resources.Resource;
  /** Receives finished spans; Temporal's workflow span sink forwards to it. */
  readonly spanProcessor: tracing.SpanProcessor;
  shutdown(): Promise<void>;
}

let active: Telemetry | undefined;

const instrumentedPackages = ['node:http', 'node:https', 'pg', 'ioredis'];

/** The telemetry this process started, if any (OpenTelemetry's providers are process-wide). */
export function activeTelemetry(): Telemetry | undefined {
  return active;
}

/** Fans one span out to several processors (OTLP and an injected exporter). */
class MultiSpanProcessor implements tracing.SpanProcessor {
  constructor(private readonly processors: tracing.SpanProcessor[]) {}
  onStart(span: tracing.Span, parent: Parameters<tracing.SpanProcessor['onStart']>[1]): void {
    for (const p of this.processors) p.onStart(span, parent);
  }
  onEnd(span: tracing.ReadableSpan): void {
    for (const p of this.processors) p.onEnd(span);
  }
  async forceFlush(): Promise<void> {
    await Promise.all(this.processors.map((p) => p.forceFlush()));
  }
  async shutdown(): Promise<void> {
    await Promise.all(this.processors.map((p) => p.shutdown()));
  }
}

export function startTelemetry(
  config: Config,
  serviceName: string,
  options: TelemetryOptions = {},
): Telemetry {
  if (active) throw new Error('telemetry is already started in this process');
  const name = config.OTEL_SERVICE_NAME ?? serviceName;

  const processors: tracing.SpanProcessor[] = [];
  if (config.OTEL_EXPORTER_OTLP_ENDPOINT) {
    const url = `${config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, '')}/v1/traces`;
    processors.push(new tracing.BatchSpanProcessor(new OTLPTraceExporter({ url })));
  }
  // Synchronous, so a test reads its spans as soon as the traced call returns.
  if (options.spanExporter) processors.push(new tracing.SimpleSpanProcessor(options.spanExporter));
  // Without an exporter nothing is traced: no instrumentation patches HTTP, undici, pg or ioredis,
  // and other spans (Temporal's) are not recorded. Spans built only to be dropped cost the inference
  // path more than the gateway's own work (bench/gateway.ts profiles). Logs keep their requestId.
  const traced = processors.length > 0;
  const spanProcessor =
    processors.length === 1
      ? processors[0]!
      : processors.length > 1
        ? new MultiSpanProcessor(processors)
        : new tracing.NoopSpanProcessor();

  const prometheus =
    options.prometheus === false ? undefined : new PrometheusExporter({ preventServerStart: true });
  const resource = resources.resourceFromAttributes({ 'service.name': name });

  const sdk = new NodeSDK({
    serviceName: name,
    resource,
    spanProcessors: [spanProcessor],
    ...(traced ? {} : { sampler: new tracing.AlwaysOffSampler() }),
    metricReaders: prometheus ? [prometheus] : [],
    // Logs go to stdout through pino; an empty list keeps the SDK from defaulting to OTLP logs.
    logRecordProcessors: [],
    instrumentations: traced
      ? [
          new HttpInstrumentation({
            // Scrapes and probes would drown the traces that matter.
            ignoreIncomingRequestHook: (req) =>
              ['/metrics', '/healthz', '/readyz'].includes((req.url ?? '').split('?')[0]!),
          }),
          new UndiciInstrumentation(),
          new PgInstrumentation(),
          new IORedisInstrumentation(),
        ]
      : [],
  });
  sdk.start();
  // An ESM import of a CommonJS package bypasses require(), where the instrumentations hook. Load
  // them once through require() now: the patched module instances are the ones later imports get.
  const require = createRequire(import.meta.url);
  for (const name of instrumentedPackages) require(name);

  const telemetry: Telemetry = {
    prometheus,
    meterProvider: metrics.getMeterProvider(),
    resource,
    spanProcessor,
    async shutdown() {
      if (active === telemetry) active = undefined;
      await sdk.shutdown();
      // Unregister the global providers so that a later start in this process takes effect.
      trace.disable();
      metrics.disable();
      propagation.disable();
      context.disable();
    },
  };
  active = telemetry;
  return telemetry;
}
