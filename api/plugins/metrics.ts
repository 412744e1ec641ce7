// Request metrics (rate, latency, errors by route and error code) on the process's OpenTelemetry
// meter, served in Prometheus text format at GET /metrics. One metrics stack: the same meter
// provider also carries the HTTP metrics of the instrumentations. It also names the request's
// server span after its route, which only the router knows.
import { context, type Meter } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { core, metrics as sdkMetrics, resources } from '@opentelemetry/sdk-node';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { activeTelemetry } from '../../runtime/telemetry.js';

export interface MetricsSource {
  meter: Meter;
  exporter: PrometheusExporter;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The meter the app's metrics are recorded on: other plugins add theirs to it. */
    meter: Meter;
  }
}

export interface MetricsOptions {
  /** Where to record and read metrics; defaults to the process's telemetry (runtime/telemetry.ts). */
  source?: MetricsSource | undefined;
}

// Seconds; inference responses stream for up to minutes, so the upper buckets reach 2 minutes.
const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** A private meter provider, for apps built without startTelemetry (tests of other resources). */
function standaloneSource(): MetricsSource & { close(): Promise<void> } {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new sdkMetrics.MeterProvider({
    resource: resources.resourceFromAttributes({ 'service.name': 'vlinders-api' }),
    readers: [exporter],
  });
  return { meter: provider.getMeter('vlinders-api'), exporter, close: () => provider.shutdown() };
}

function processSource(): MetricsSource | undefined {
  const telemetry = activeTelemetry();
  if (!telemetry?.prometheus) return undefined;
  return { meter: telemetry.meterProvider.getMeter('vlinders-api'), exporter: telemetry.prometheus };
}

export default fp(
  async function metricsPlugin(app: FastifyInstance, options: MetricsOptions) {
    let source = options.source ?? processSource();
    if (!source) {
      const standalone = standaloneSource();
      source = standalone;
      app.addHook('onClose', () => standalone.close());
    }
    const { meter, exporter } = source;
    app.decorate('meter', meter);
    const serializer = new PrometheusSerializer();

    const requests = meter.createCounter('vlinders_api_requests', {
      description: 'HTTP requests answered, by method, route and status code',
    });
    const duration = meter.createHistogram('vlinders_api_request_duration_seconds', {
      description: 'Time from request received to response sent',
      unit: 's',
      advice: { explicitBucketBoundaries: latencyBuckets },
    });
    const errors = meter.createCounter('vlinders_api_errors', {
      description: 'Error responses (4xx and 5xx), by route, status code and error code',
    });

    app.addHook('onRequest', async (request: FastifyRequest) => {
      const route = request.routeOptions.url;
      if (!route) return;
      // Set by the HTTP instrumentation on the incoming request's context; absent under inject().
      const rpc = core.getRPCMetadata(context.active());
      if (rpc?.type !== core.RPCType.HTTP) return;
      rpc.route = route;
      rpc.span.updateName(`${request.method} ${route}`).setAttribute('http.route', route);
    });

    app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
      // The route pattern, never the raw URL: ids in paths would explode the label set.
      const attributes = {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_code: String(reply.statusCode),
      };
      requests.add(1, attributes);
      duration.record(reply.elapsedTime / 1000, attributes);
      if (reply.statusCode >= 400)
        errors.add(1, { ...attributes, error_code: request.errorCode ?? `HTTP_${reply.statusCode}` });
    });

    app.get('/metrics', { schema: { hide: true }, logLevel: 'warn' }, async (request, reply) => {
      const { resourceMetrics, errors: collectErrors } = await exporter.collect();
      if (collectErrors.length > 0)
        request.log.warn({ errors: collectErrors }, 'metrics collection reported errors');
      return reply
        .type('text/plain; version=0.0.4; charset=utf-8')
        .send(serializer.serialize(resourceMetrics));
    });
  },
  { name: 'metrics', dependencies: ['errors'] },
);
