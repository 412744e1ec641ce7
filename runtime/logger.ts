// JSON logs with the active trace and span ids, so a log line leads to its trace.
import { trace } from '@opentelemetry/api';
import { pino, type LoggerOptions } from 'pino';

/**
 * Query parameters that carry a credential or a one-time code (an SSO callback's, a mailed link's,
 * an SSO ticket back to an authorization server interaction).
 */
const secretParameters = [
  'code',
  'state',
  'token',
  'ticket',
  'access_token',
  'id_token',
  'refresh_token',
  'client_secret',
];

/** The request URL as logged: the values of secret query parameters replaced. */
export function loggableUrl(url: string): string {
  const query = url.indexOf('?');
  if (query < 0) return url;
  const params = new URLSearchParams(url.slice(query + 1));
  let redacted = false;
  for (const name of secretParameters)
    if (params.has(name)) {
      params.set(name, '[redacted]');
      redacted = true;
    }
  return redacted ? `${url.slice(0, query)}?${params.toString()}` : url;
}

/** A request as Fastify logs it (its own serializer's fields), with `loggableUrl`. */
interface LoggedRequest {
  method: string;
  url: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

export function loggerOptions(level: string, service: string): LoggerOptions {
  return {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.refreshToken', '*.token'],
      censor: '[redacted]',
    },
    serializers: {
      req: (req: LoggedRequest) => ({
        method: req.method,
        url: loggableUrl(req.url),
        host: req.host,
        remoteAddress: req.ip,
        remotePort: req.socket?.remotePort,
      }),
    },
    mixin() {
      const span = trace.getActiveSpan()?.spanContext();
      return span ? { traceId: span.traceId, spanId: span.spanId } : {};
    },
  };
}

export function createLogger(level: string, service: string) {
  return pino(loggerOptions(level, service));
}
