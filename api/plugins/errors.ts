// Error handling: every failure becomes JSON with a stable code. This plugin sets the management
// shape (`{ error: { code, message, requestId } }`) for the whole app; a system with a shape of its
// own (the gateway: OpenAI's) sets its own handlers in its scope with `handleErrors`. 5xx bodies
// never carry internal messages. The code answered is kept on the request for the metrics.
// A path that exists asked with a method it does not serve answers 405 with `Allow`, not 404.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import FindMyWay from 'find-my-way';
import { isDatabaseUnavailable } from '../../db/client.js';
import { AppError, RateLimitError, publicMessage, type ErrorCode, type ErrorSender } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The stable code of the error answered, for the metrics; null until an error is sent. */
    errorCode: string | null;
  }
  interface FastifyInstance {
    /** The methods served on a path (HEAD where GET is), or [] when only a catch-all route matches it. */
    methodsServed(path: string): string[];
  }
}

/**
 * Every route's methods and URL, matched as Fastify matches them (find-my-way is Fastify's own
 * router): Fastify has no 405, so the not-found answer asks this which other methods the path has.
 */
function routeMethods() {
  const router = FindMyWay();
  const methods = new Set<string>();
  return {
    add(method: string | string[], url: string): void {
      for (const m of [method].flat()) {
        if (router.hasRoute(m as FindMyWay.HTTPMethod, url)) continue;
        // A bare catch-all (CORS preflight's `OPTIONS *`) matches every path: it alone does not make
        // a path exist, though where one does, its method is served there.
        router.on(m as FindMyWay.HTTPMethod, url, () => undefined, { catchAll: url === '*' || url === '/*' });
        methods.add(m);
      }
    },
    served(path: string): string[] {
      const found = [...methods].flatMap((m) => {
        const match = router.find(m as FindMyWay.HTTPMethod, path);
        return match ? [{ method: m, catchAll: (match.store as { catchAll: boolean }).catchAll }] : [];
      });
      return found.some((f) => !f.catchAll) ? found.map((f) => f.method).sort() : [];
    },
  };
}

/** The 405 for a request that found no route, when its path is served with other methods. */
function methodNotAllowed(scope: FastifyInstance, request: FastifyRequest): AppError | undefined {
  const path = request.url.split('?')[0] ?? '/';
  const allowed = scope.methodsServed(path).filter((m) => m !== request.method);
  if (allowed.length === 0) return undefined;
  return new AppError(
    'METHOD_NOT_ALLOWED',
    `${request.method} is not served on ${path}; use ${allowed.join(', ')}.`,
    {
      allow: allowed,
    },
  );
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

/** A 405 names the methods that are served, whatever the system's shape (RFC 9110 requires `Allow`). */
function sendWithAllow(send: ErrorSender, request: FastifyRequest, reply: FastifyReply, error: AppError) {
  const allow = error.code === 'METHOD_NOT_ALLOWED' ? error.details?.allow : undefined;
  if (Array.isArray(allow)) reply.header('allow', allow.join(', '));
  return send(request, reply, error);
}

/** Sets the error and not-found handlers of `scope` (and the scopes under it) to answer with `send`. */
export function handleErrors(scope: FastifyInstance, send: ErrorSender): void {
  scope.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    // A request that found no route can fail before the not-found handler (a QUERY without a
    // content type fails body parsing): a known path still answers 405.
    const appError = (request.is404 && methodNotAllowed(scope, request)) || toAppError(error);
    if (appError.status >= 500) request.log.error({ err: error }, 'request failed');
    return sendWithAllow(send, request, reply, appError);
  });
  scope.setNotFoundHandler((request, reply) =>
    sendWithAllow(
      send,
      request,
      reply,
      methodNotAllowed(scope, request) ??
        new AppError('NOT_FOUND', `Route ${request.method} ${request.url.split('?')[0]} does not exist.`),
    ),
  );
}

export default fp(
  async function errors(app: FastifyInstance) {
    app.decorateRequest('errorCode', null);
    // Registered before the systems, so it sees every route they add (HEAD ones included).
    const routes = routeMethods();
    app.addHook('onRoute', (route) => routes.add(route.method, route.url));
    app.decorate('methodsServed', (path: string) => routes.served(path));
    handleErrors(app, sendError);
  },
  { name: 'errors' },
);
