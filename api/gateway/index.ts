// The data plane: the OpenAI-compatible inference API, registered by app.ts under /v1. Its scope has
// its own error shape (OpenAI's) and none of the browser-facing hooks: an inference request pays
// only for what it needs. The registry, limiter and usage recorder it uses are app-wide services
// (registry-plugin.ts, limits/plugin.ts, metering/plugin.ts), registered by app.ts.
import type { FastifyInstance } from 'fastify';
import { handleErrors } from '../plugins/errors.js';
import { sendInferenceError } from './errors.js';
import inferenceRoutes from './routes.js';

export default async function gateway(app: FastifyInstance) {
  handleErrors(app, sendInferenceError);
  await app.register(inferenceRoutes);
}
