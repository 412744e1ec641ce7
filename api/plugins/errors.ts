// The one error handler: every failure becomes JSON with a stable code. Under /v1 the body takes
// OpenAI's shape so SDKs surface it. 5xx bodies never carry internal messages.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError, InferenceError, RateLimitError, errorCodes, type ErrorCode } from '../errors.js';

const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'VALIDATION',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'VALIDATION',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION',
  FST_ERR_VALIDATION: 'VALIDATION',
};

function toAppError(error: FastifyError | AppError): AppError {
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
  const mapped = error.code ? fastifyCodes[error.code] : undefined;
  if (mapped) return new AppError(mapped, error.message);
  if (error.statusCode === 429) return new AppError('RATE_LIMITED');
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500)
    return new AppError('VALIDATION', error.message);
  return new AppError('INTERNAL');
}

const openAiTypes: Partial<Record<ErrorCode, string>> = {
  VALIDATION: 'invalid_request_error',
  UNAUTHENTICATED: 'authentication_error',
  INVALID_TOKEN: 'authentication_error',
  FORBIDDEN: 'permission_error',
  SUBSCRIPTION_INACTIVE: 'permission_error',
  NOT_FOUND: 'not_found_error',
  RATE_LIMITED: 'rate_limit_exceeded',
  PAYLOAD_TOO_LARGE: 'invalid_request_error',
  UNSUPPORTED_MEDIA_TYPE: 'invalid_request_error',
};

export function sendError(request: FastifyRequest, reply: FastifyReply, error: AppError) {
  const message = error.status >= 500 ? errorCodes[error.code].message : error.message;
  if (error instanceof RateLimitError) reply.header('retry-after', String(error.retryAfterSeconds));
  if (request.url.startsWith('/v1/')) {
    const inference = error instanceof InferenceError ? error.options : {};
    if (inference.headers) reply.headers(inference.headers);
    return reply.status(error.status).send({
      error: {
        message,
        type: inference.type ?? openAiTypes[error.code] ?? 'api_error',
        param: inference.param ?? null,
        code: error instanceof InferenceError ? error.openAiCode : error.code.toLowerCase(),
      },
    });
  }
  const details = error.status < 500 && error.details ? { details: error.details } : {};
  return reply
    .status(error.status)
    .send({ error: { code: error.code, message, requestId: request.id, ...details } });
}

export default fp(
  async function errors(app: FastifyInstance) {
    app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
      const appError = toAppError(error);
      if (appError.status >= 500) request.log.error({ err: error }, 'request failed');
      return sendError(request, reply, appError);
    });
    app.setNotFoundHandler((request, reply) =>
      sendError(
        request,
        reply,
        new AppError('NOT_FOUND', `Route ${request.method} ${request.url.split('?')[0]} does not exist.`),
      ),
    );
  },
  { name: 'errors' },
);
