// Configuration alone picks the vector store: Qdrant when QDRANT_URL is set, else the embedded one.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { EmbeddedVectorStore } from '../../../activities/vectors/embedded-adapter.js';
import { openVectorStore } from '../../../activities/vectors/index.js';
import { QdrantVectorStore } from '../../../activities/vectors/qdrant-adapter.js';

const dataDir = mkdtempSync(join(tmpdir(), 'vlinders-vectors-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

it('uses the embedded store in VECTOR_DATA_DIR without QDRANT_URL, and keeps its collections there', async () => {
  const first = await openVectorStore({ VECTOR_DATA_DIR: dataDir });
  expect(first).toBeInstanceOf(EmbeddedVectorStore);
  await first.ensureCollection({ model: 'kept', dimensions: 3 });
  await first.close();
  const reopened = await openVectorStore({ VECTOR_DATA_DIR: dataDir });
  expect(await reopened.collections()).toEqual([{ model: 'kept', dimensions: 3 }]);
  await reopened.close();
});

it('uses Qdrant when QDRANT_URL is set', async () => {
  const store = await openVectorStore({ QDRANT_URL: 'http://127.0.0.1:6333', VECTOR_DATA_DIR: dataDir });
  expect(store).toBeInstanceOf(QdrantVectorStore);
});
