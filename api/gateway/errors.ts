// The gateway's error shape: OpenAI's (`{ error: { message, type, param, code } }`), so SDKs surface
// the refusal as they would OpenAI's. Set for the /v1 scope by the gateway plugin.
import {
  InferenceError,
  RateLimitError,
  publicMessage,
  type AppError,
  type ErrorCode,
  type ErrorSender,
} from '../errors.js';

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

export const sendInferenceError: ErrorSender = (request, reply, error: AppError) => {
  const code = error instanceof InferenceError ? error.openAiCode : error.code.toLowerCase();
  request.errorCode = code.toUpperCase();
  if (error instanceof RateLimitError) reply.header('retry-after', String(error.retryAfterSeconds));
  const inference = error instanceof InferenceError ? error.options : {};
  if (inference.headers) reply.headers(inference.headers);
  return reply.status(error.status).send({
    error: {
      message: publicMessage(error),
      type: inference.type ?? openAiTypes[error.code] ?? 'api_error',
      param: inference.param ?? null,
      code,
    },
  });
};
