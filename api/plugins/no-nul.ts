// PostgreSQL text cannot hold the NUL character (U+0000): a string carrying one would fail deep in
// a query as a 500. Refuse it at the edge, for every route, as the bad input it is. The rule is also
// written into each route's schema (a pattern on every string), so the OpenAPI document says it;
// the hook still answers first, with a message that names the field.
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

/** Strings without U+0000; a string that already has a pattern states the rule in that pattern. */
export const noNulPattern = '^[^\\u0000]*$';

type Schema = Record<string, unknown>;

/** A copy of a JSON schema with the NUL rule on every string and every free-form object key. */
function withNulRule(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withNulRule);
  if (schema === null || typeof schema !== 'object') return schema;
  const copy: Schema = { ...(schema as Schema) };
  for (const [key, value] of Object.entries(copy)) copy[key] = withNulRule(value);
  const constant = copy.const !== undefined || copy.enum !== undefined;
  if (copy.type === 'string' && copy.pattern === undefined && !constant) copy.pattern = noNulPattern;
  const freeKeys = copy.patternProperties !== undefined || (copy.additionalProperties ?? false) !== false;
  if (copy.type === 'object' && freeKeys && copy.propertyNames === undefined)
    copy.propertyNames = { pattern: noNulPattern };
  return copy;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The body goes to a model server, never into PostgreSQL: no need to walk it (the inference API). */
    bodyNeverStored?: boolean;
  }
}

export default fp(
  async function noNul(app: FastifyInstance) {
    // Every route of this scope is registered after this plugin, so each passes through here.
    app.addHook('onRoute', (route) => {
      if (!route.schema) return;
      const parts = ['params', 'querystring', 'query', ...(route.config?.bodyNeverStored ? [] : ['body'])];
      const schema: Schema = { ...route.schema };
      for (const part of parts) if (schema[part] !== undefined) schema[part] = withNulRule(schema[part]);
      route.schema = schema;
    });
    app.addHook('preValidation', async (request) => {
      if (request.routeOptions.config.bodyNeverStored) return;
      const found =
        findNul(request.params, 'params') ?? findNul(request.query, 'query') ?? findNul(request.body, 'body');
      if (found) throw new AppError('VALIDATION', `${found} must not contain the NUL character (U+0000).`);
    });
  },
  { name: 'no-nul' },
);
