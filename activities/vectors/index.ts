// Which vector store a process uses, from configuration: Qdrant when QDRANT_URL is set, else
// pgvector — over the wire at VECTOR_DATABASE_URL (under `up`, shared by the API and the workers),
// or in this process in VECTOR_DATA_DIR.
import type { Config } from '../../runtime/config.js';
import { PgvectorVectorStore } from './pgvector-adapter.js';
import type { VectorStore } from './port.js';
import { QdrantVectorStore } from './qdrant-adapter.js';

export type VectorStoreConfig = Pick<
  Config,
  'QDRANT_URL' | 'QDRANT_API_KEY' | 'VECTOR_DATABASE_URL' | 'VECTOR_DATA_DIR'
>;

export async function openVectorStore(config: VectorStoreConfig): Promise<VectorStore> {
  if (config.QDRANT_URL)
    return new QdrantVectorStore({ url: config.QDRANT_URL, apiKey: config.QDRANT_API_KEY });
  if (config.VECTOR_DATABASE_URL) return PgvectorVectorStore.connect(config.VECTOR_DATABASE_URL);
  return PgvectorVectorStore.openEmbedded(config.VECTOR_DATA_DIR);
}

/**
 * The process's one vector store, opened on first use and shared after: an in-process store is a
 * folder only one opener may hold, so concurrent activities must not each open it.
 */
export function sharedVectorStore(config: VectorStoreConfig): {
  open: () => Promise<VectorStore>;
  close: () => Promise<void>;
} {
  let opened: Promise<VectorStore> | undefined;
  return {
    open() {
      opened ??= openVectorStore(config).catch((err: unknown) => {
        opened = undefined;
        throw err;
      });
      return opened;
    },
    async close() {
      const store = opened;
      opened = undefined;
      if (store) await (await store).close();
    },
  };
}
