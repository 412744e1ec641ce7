// Configuration alone picks the vector store: Qdrant when QDRANT_URL is set, else pgvector at
// VECTOR_DATABASE_URL, else pgvector in this process in VECTOR_DATA_DIR.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { PgvectorVectorStore } from '../../../activities/vectors/pgvector-adapter.js';
import { openVectorStore } from '../../../activities/vectors/index.js';
import { QdrantVectorStore } from '../../../activities/vectors/qdrant-adapter.js';

const dataDir = mkdtempSync(join(tmpdir(), 'vlinders-vectors-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

it('uses the embedded store in VECTOR_DATA_DIR without QDRANT_URL, and keeps its collections there', async () => {
  const first = await openVectorStore({ VECTOR_DATA_DIR: dataDir });
  expect(first).toBeInstanceOf(PgvectorVectorStore);
  await first.ensureCollection({ model: 'kept', dimensions: 3 });
  await first.close();
  const reopened = await openVectorStore({ VECTOR_DATA_DIR: dataDir });
  expect(await reopened.collections()).toEqual([{ model: 'kept', dimensions: 3 }]);
  await reopened.close();
});

it('connects to VECTOR_DATABASE_URL when it is set', async () => {
  // No server listens there: the connection is tried, which the in-process store never does.
  await expect(
    openVectorStore({
      VECTOR_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/vectors',
      VECTOR_DATA_DIR: dataDir,
    }),
  ).rejects.toThrow(/ECONNREFUSED/);
});

it('uses Qdrant when QDRANT_URL is set', async () => {
  const store = await openVectorStore({ QDRANT_URL: 'http://127.0.0.1:6333', VECTOR_DATA_DIR: dataDir });
  expect(store).toBeInstanceOf(QdrantVectorStore);
});
