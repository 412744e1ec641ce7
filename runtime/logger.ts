// JSON logs with the active trace and span ids, so a log line leads to its trace.
import { trace } from '@opentelemetry/api';
import { pino, type LoggerOptions } from 'pino';

export function loggerOptions(level: string, service: string): LoggerOptions {
  return {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.refreshToken', '*.token'],
      censor: '[redacted]',
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
