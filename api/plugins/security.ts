// Browser-facing hardening for every route: security headers (helmet) and a strict CORS policy.
// Origins come from config (CORS_ORIGINS); with none configured no cross-origin caller is allowed.
// The codec routes answer the Temporal UI's origin only (TEMPORAL_UI_ORIGIN), with its headers.
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export default fp(
  async function security(app: FastifyInstance) {
    await app.register(helmet, { global: true });
    // Lists, not strings, so that other origins get no allow-origin header at all.
    const api = {
      origin: app.config.CORS_ORIGINS,
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'x-request-id'],
      exposedHeaders: ['x-request-id'],
      maxAge: 600,
    };
    const codec = {
      origin: [app.config.TEMPORAL_UI_ORIGIN],
      methods: ['POST'],
      allowedHeaders: ['authorization', 'content-type', 'x-namespace'],
      credentials: true,
      maxAge: 600,
    };
    await app.register(cors, {
      hook: 'onRequest',
      delegator: (request, callback) => callback(null, request.url.startsWith('/codec/') ? codec : api),
    });
  },
  { name: 'security', dependencies: ['services'] },
);
