// The OpenAPI document of every route, built from the routes' TypeBox schemas: /openapi.json, and
// its UI at /docs. Registered before the systems, so it sees every route they add.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { addLinks } from './openapi-links.js';

export default fp(
  async function openapi(app: FastifyInstance) {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: 'Vlinders API', version: '0.1.0', description: 'Multi-tenant AI inference platform' },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      },
      // The links from creating routes to the routes that use what they created (openapi-links.ts).
      transformObject: (document) =>
        'openapiObject' in document ? addLinks(document.openapiObject) : document.swaggerObject,
    });
    // staticCSP: the docs page gets a CSP that allows exactly its own scripts and styles.
    await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  },
  { name: 'openapi' },
);
