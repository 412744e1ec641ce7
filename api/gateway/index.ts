// The data plane: the OpenAI-compatible API, registered by app.ts under /v1. Its scope has its own
// error shape (OpenAI's) and none of the browser-facing hooks: an inference request pays only for
// what it needs. The registry, limiter and usage recorder it uses are app-wide services
// (registry-plugin.ts, limits/plugin.ts, metering/plugin.ts), registered by app.ts. Files and vector
// stores (retrieval) are a scope of their own: they validate their bodies, which inference does not.
import type { FastifyInstance } from 'fastify';
import { objectStorageFromConfig } from '../../activities/storage/index.js';
import { sharedVectorStore } from '../../activities/vectors/index.js';
import { authorizeKey } from '../../core/policy.js';
import { handleErrors } from '../plugins/errors.js';
import { sendInferenceError } from './errors.js';
import type { FileDeps } from './files/files.js';
import fileRoutes from './files/routes.js';
import { inferenceKeyHook } from './inference-key.js';
import inferenceRoutes from './routes.js';
import vectorStoreRoutes from './vector-stores/routes.js';

async function retrieval(app: FastifyInstance) {
  app.addHook('onRequest', inferenceKeyHook(app.authenticate));
  const vectors = sharedVectorStore(app.config);
  const deps: FileDeps = {
    db: app.db,
    temporal: app.temporal,
    storage: objectStorageFromConfig(app.config, app.db),
    vectors: vectors.open,
    defaultEmbeddingModel: app.config.VECTOR_EMBEDDING_MODEL,
    mayEmbedWith(key, name) {
      const model = app.modelRegistry.model(name);
      return model?.status === 'active' && authorizeKey(key, 'invoke', { model: model.name });
    },
  };
  app.addHook('onClose', async () => {
    deps.storage.close();
    await vectors.close();
  });
  await app.register(fileRoutes, { deps });
  await app.register(vectorStoreRoutes, { deps });
}

export default async function gateway(app: FastifyInstance) {
  handleErrors(app, sendInferenceError);
  await app.register(inferenceRoutes);
  await app.register(retrieval);
}
