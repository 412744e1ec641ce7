// PostgreSQL text cannot hold the NUL character (U+0000): a string carrying one would fail deep in
// a query as a 500. Refuse it at the edge, for every route, as the bad input it is.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../errors.js';

/** The path of the first string holding U+0000, or undefined when there is none. */
function findNul(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return value.includes('\0') ? path : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findNul(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const found = findNul(key, path) ?? findNul(item, `${path}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The body goes to a model server, never into PostgreSQL: no need to walk it (the inference API). */
    bodyNeverStored?: boolean;
  }
}

export default fp(
  async function noNul(app: FastifyInstance) {
    app.addHook('preValidation', async (request) => {
      if (request.routeOptions.config.bodyNeverStored) return;
      const found =
        findNul(request.params, 'params') ?? findNul(request.query, 'query') ?? findNul(request.body, 'body');
      if (found) throw new AppError('VALIDATION', `${found} must not contain the NUL character (U+0000).`);
    });
  },
  { name: 'no-nul' },
);
