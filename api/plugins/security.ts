// Browser-facing hardening: security headers (helmet) and a strict CORS policy, registered only in
// the scope of the systems browsers call (identity, control, billing); the gateway and the codec
// endpoint get none of it (the codec sets the Temporal UI's CORS itself). Origins come from config
// (CORS_ORIGINS); with none configured no cross-origin caller is allowed.
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export default fp(
  async function security(app: FastifyInstance) {
    await app.register(helmet, { global: true });
    // A list, not a string, so that other origins get no allow-origin header at all.
    await app.register(cors, {
      hook: 'onRequest',
      origin: app.config.CORS_ORIGINS,
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'x-request-id'],
      exposedHeaders: ['x-request-id'],
      maxAge: 600,
    });
  },
  { name: 'security', dependencies: ['services'] },
);
