// The vector-store port's contract on both adapters: pgvector (in PGlite in this process, and over
// the wire as `up` serves it to the API and the workers) and the Qdrant adapter against the Qdrant
// stand-in (the real engine, every request and answer checked against Qdrant's OpenAPI document).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgvectorVectorStore } from '../../../activities/vectors/pgvector-adapter.js';
import { QdrantVectorStore } from '../../../activities/vectors/qdrant-adapter.js';
import { startPgliteServer, type PgliteServer } from '../../../scripts/pglite-server.js';
import { startQdrantStandin, type QdrantStandin } from '../../support/qdrant-standin.js';
import { describeVectorStoreContract } from './contract.js';

describe('embedded (pgvector in PGlite)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vlinders-vectors-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  describeVectorStoreContract('embedded', () => PgvectorVectorStore.openEmbedded(dataDir));
});

describe('pgvector over the wire (PGlite served, as under `up`)', () => {
  let server: PgliteServer;
  beforeAll(async () => {
    server = await startPgliteServer({
      dataDir: 'memory://',
      host: '127.0.0.1',
      port: 0,
      maxConnections: 8,
      pgvector: true,
    });
  });
  afterAll(async () => {
    await server?.stop();
  });
  describeVectorStoreContract('pgvector-wire', () => PgvectorVectorStore.connect(server.url));
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
