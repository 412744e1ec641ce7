// One closed set of error codes with their HTTP status. Every error response is built from these.
import type { FastifyReply, FastifyRequest } from 'fastify';

export const errorCodes = {
  VALIDATION: { status: 400, message: 'The request is invalid.' },
  UNAUTHENTICATED: { status: 401, message: 'Authentication is required.' },
  INVALID_CREDENTIALS: { status: 401, message: 'The email or password is wrong.' },
  INVALID_TOKEN: { status: 401, message: 'The token is invalid or expired.' },
  FORBIDDEN: { status: 403, message: 'You are not allowed to do this.' },
  /** The account's address was never confirmed through the link mailed to it. */
  EMAIL_NOT_VERIFIED: {
    status: 403,
    message: 'Confirm your email address first: use the link we mailed you.',
  },
  /** The org's subscription is suspended or canceled: no inference until it pays (not a policy denial). */
  SUBSCRIPTION_INACTIVE: { status: 403, message: "The organization's subscription is not active." },
  NOT_FOUND: { status: 404, message: 'The resource does not exist.' },
  /** The path exists, the method does not: answered with an `Allow` header listing those that do. */
  METHOD_NOT_ALLOWED: { status: 405, message: 'The method is not allowed on this resource.' },
  CONFLICT: { status: 409, message: 'The resource conflicts with an existing one.' },
  GONE: { status: 410, message: 'The resource is no longer available.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'The content type is not supported.' },
  RATE_LIMITED: { status: 429, message: 'Too many requests.' },
  INTERNAL: { status: 500, message: 'An internal error occurred.' },
  BAD_GATEWAY: { status: 502, message: 'The model server failed to answer.' },
  PAYMENT_PROVIDER: { status: 502, message: 'Stripe, our payment provider, failed to answer; try again.' },
  UNAVAILABLE: { status: 503, message: 'A dependency is unavailable; try again.' },
  /** CONSOLE_DIR has no build of the admin console: the API runs, /console cannot be served. */
  CONSOLE_NOT_BUILT: {
    status: 503,
    message: 'The admin console is not built; build it with: bash scripts/build.sh',
  },
  /** PostgreSQL did not answer in time (hung, down, restarting): nothing was changed; try again. */
  DATABASE_UNAVAILABLE: { status: 503, message: 'The database is unavailable; try again shortly.' },
  GATEWAY_TIMEOUT: { status: 504, message: 'The model server did not answer in time.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCodes;

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string = errorCodes[code].message,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.status = errorCodes[code].status;
  }

  get retryable(): boolean {
    return (
      this.code === 'UNAVAILABLE' || this.code === 'DATABASE_UNAVAILABLE' || this.code === 'RATE_LIMITED'
    );
  }
}

/** A 429 that tells the caller when to come back (sent as `retry-after`). */
export class RateLimitError extends AppError {
  constructor(
    readonly retryAfterSeconds: number,
    message?: string,
  ) {
    super('RATE_LIMITED', message);
  }
}

/**
 * An error of the inference API (/v1), answered in OpenAI's shape: `type` and a stable `code`
 * that SDKs surface, the request field at fault (`param`), and headers such as `retry-after`.
 */
export class InferenceError extends AppError {
  constructor(
    code: ErrorCode,
    readonly openAiCode: string,
    message: string,
    readonly options: { param?: string; type?: string; headers?: Record<string, string> } = {},
  ) {
    super(code, message);
  }
}

/** The message a caller may see: a 5xx says only what its code means. */
export function publicMessage(error: AppError): string {
  return error.status >= 500 ? errorCodes[error.code].message : error.message;
}

/** Answers an error in a system's shape (management JSON, or OpenAI's under /v1). */
export type ErrorSender = (request: FastifyRequest, reply: FastifyReply, error: AppError) => FastifyReply;
