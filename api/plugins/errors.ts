// Error handling: every failure becomes JSON with a stable code. This plugin sets the management
// shape (`{ error: { code, message, requestId } }`) for the whole app; a system with a shape of its
// own (the gateway: OpenAI's) sets its own handlers in its scope with `handleErrors`. 5xx bodies
// never carry internal messages. The code answered is kept on the request for the metrics.
import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { isDatabaseUnavailable } from '../../db/client.js';
import { AppError, RateLimitError, publicMessage, type ErrorCode, type ErrorSender } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The stable code of the error answered, for the metrics; null until an error is sent. */
    errorCode: string | null;
  }
}

const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'VALIDATION',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'VALIDATION',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION',
  FST_ERR_VALIDATION: 'VALIDATION',
};

export function toAppError(error: FastifyError | AppError): AppError {
  if (error instanceof AppError) return error;
  if (error.validation) {
    const problems = error.validation.map((v) => ({
      field: `${error.validationContext ?? 'body'}${v.instancePath.replaceAll('/', '.')}`,
      message: v.message ?? 'is invalid',
    }));
    return new AppError('VALIDATION', problems.map((p) => `${p.field} ${p.message}`).join('; '), {
      problems,
    });
  }
  if (isDatabaseUnavailable(error)) return new AppError('DATABASE_UNAVAILABLE');
  const mapped = error.code ? fastifyCodes[error.code] : undefined;
  if (mapped) return new AppError(mapped, error.message);
  if (error.statusCode === 429) return new AppError('RATE_LIMITED');
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500)
    return new AppError('VALIDATION', error.message);
  return new AppError('INTERNAL');
}

/** The management shape: `{ error: { code, message, requestId, details? } }`. */
export const sendError: ErrorSender = (request, reply, error) => {
  request.errorCode = error.code;
  if (error instanceof RateLimitError) reply.header('retry-after', String(error.retryAfterSeconds));
  const details = error.status < 500 && error.details ? { details: error.details } : {};
  return reply
    .status(error.status)
    .send({ error: { code: error.code, message: publicMessage(error), requestId: request.id, ...details } });
};

/** Sets the error and not-found handlers of `scope` (and the scopes under it) to answer with `send`. */
export function handleErrors(scope: FastifyInstance, send: ErrorSender): void {
  scope.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    const appError = toAppError(error);
    if (appError.status >= 500) request.log.error({ err: error }, 'request failed');
    return send(request, reply, appError);
  });
  scope.setNotFoundHandler((request, reply) =>
    send(
      request,
      reply,
      new AppError('NOT_FOUND', `Route ${request.method} ${request.url.split('?')[0]} does not exist.`),
    ),
  );
}

export default fp(
  async function errors(app: FastifyInstance) {
    app.decorateRequest('errorCode', null);
    handleErrors(app, sendError);
  },
  { name: 'errors' },
);
