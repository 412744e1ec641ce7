// The vector-store port's contract on both adapters: the embedded one (pgvector in PGlite) and the
// Qdrant adapter against the Qdrant stand-in (the real engine, every request and answer checked
// against Qdrant's OpenAPI document).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedVectorStore } from '../../../activities/vectors/embedded-adapter.js';
import { QdrantVectorStore } from '../../../activities/vectors/qdrant-adapter.js';
import { startQdrantStandin, type QdrantStandin } from '../../support/qdrant-standin.js';
import { describeVectorStoreContract } from './contract.js';

describe('embedded (pgvector in PGlite)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vlinders-vectors-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  describeVectorStoreContract('embedded', () => EmbeddedVectorStore.open(dataDir));
});

describe('Qdrant adapter against the Qdrant stand-in', () => {
  let standin: QdrantStandin;
  beforeAll(async () => {
    standin = await startQdrantStandin();
  });
  describeVectorStoreContract('qdrant', async () => new QdrantVectorStore({ url: standin.url }));
  afterAll(async () => {
    await standin?.stop();
  });
  it("made no request and got no answer that violates Qdrant's OpenAPI document", () => {
    expect(standin.violations()).toEqual([]);
  });
});
