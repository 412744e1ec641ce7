// Files and vector stores through the official `openai` client, as a tenant uses them: upload a
// file, make a store of it, wait for the ingestion workflow (a real tenants worker) to embed its
// chunks through /v1/embeddings, search it. The vector store is pgvector served over the wire (as
// under `up`, shared by the API and the worker); file bytes are on the suite's S3 server. Another
// tenant, acting as an attacker with our ids, sees none of it.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { Redis } from 'ioredis';
import OpenAI, { toFile } from 'openai';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FileMailer } from '../../../activities/mail/mailer.js';
import { sharedVectorStore } from '../../../activities/vectors/index.js';
import { chunkText } from '../../../core/chunking.js';
import type { UsageEvent } from '../../../core/usage-event.js';
import { createDb, createPool } from '../../../db/client.js';
import { startPgliteServer, type PgliteServer } from '../../../scripts/pglite-server.js';
import { Simulator } from '../../../simulator/simulator.js';
import { createTenantsWorker } from '../../../workers/bootstrap.js';
import { buildTestApp, type TestApp } from '../../support/app.js';
import { workerNamespaces } from '../../support/global-setup.js';
import { suiteS3Options } from '../../support/s3.js';
import { adminPool, seedActiveOrg, signUp } from '../api/helpers.js';
import { addModel, createKey, gatewayWorld, serverUrl, untilRegistered, type GatewayWorld } from './world.js';

const s3 = suiteS3Options();
const embeddingModel = `embed-${randomUUID().slice(0, 8)}`;
const usageStream = `vlinders:usage:vector-stores-${randomUUID().slice(0, 8)}`;
const handbook = Array.from(
  { length: 60 },
  (_, i) => `Section ${i + 1}. The butterfly garden opens at ${7 + (i % 5)} o'clock and closes at dusk.`,
).join('\n\n');

let t: TestApp;
let admin: pg.Pool;
let pool: pg.Pool;
let vectorsServer: PgliteServer;
let simulator: Simulator;
let connection: NativeConnection;
let worker: Worker;
let workerVectors: ReturnType<typeof sharedVectorStore>;
let running: Promise<void>;
let mailDir: string;
let redis: Redis;
let world: GatewayWorld;
let attacker: OpenAI;
let tenant: OpenAI;
let flakyModel: string;
let flaky: FlakyUpstream;

beforeAll(async () => {
  vectorsServer = await startPgliteServer({
    dataDir: 'memory://',
    host: '127.0.0.1',
    port: 0,
    maxConnections: 16,
    pgvector: true,
  });
  t = await buildTestApp({
    TEMPORAL_NAMESPACE: workerNamespaces.vectorStores,
    VECTOR_DATABASE_URL: vectorsServer.url,
    VECTOR_EMBEDDING_MODEL: embeddingModel,
    USAGE_STREAM: usageStream,
    S3_BUCKET: s3.bucket,
    S3_ENDPOINT: s3.endpoint!,
    S3_ACCESS_KEY_ID: s3.credentials!.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.credentials!.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
  });
  admin = adminPool();
  world = await gatewayWorld(t, admin);
  await admin.query(`UPDATE organizations SET plan = 'enterprise' WHERE id = $1`, [world.orgId]);
  simulator = new Simulator({
    models: ['upstream-embed'],
    timeToFirstTokenMs: 1,
    interTokenMs: 1,
    completionTokens: 1,
    errorRate: 0,
    usage: true,
    embeddingDimensions: 8,
  });
  const simulatorBase = serverUrl(await simulator.listen());
  await addModel(admin, {
    name: embeddingModel,
    deployments: [{ urls: [simulatorBase], upstreamModel: 'upstream-embed' }],
  });
  await untilRegistered(t, embeddingModel);
  flaky = new FlakyUpstream(simulatorBase);
  flakyModel = await addModel(admin, {
    deployments: [{ urls: [await flaky.listen()], upstreamModel: 'upstream-embed' }],
  });
  await untilRegistered(t, flakyModel);

  pool = createPool({ url: t.config.DATABASE_URL, size: 3, applicationName: 'vlinders-test-worker' });
  workerVectors = sharedVectorStore(t.config);
  connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  mailDir = mkdtempSync(join(tmpdir(), 'vlinders-vector-stores-mail-'));
  worker = await createTenantsWorker({
    // The worker reaches the platform's /v1 where this test's app listens.
    config: { ...t.config, INFERENCE_URL: world.baseURL },
    connection,
    db: createDb(pool),
    mailer: new FileMailer(mailDir),
    vectors: workerVectors.open,
  });
  running = worker.run();
  redis = new Redis(inject('redisUrl'));

  const otherOwner = await signUp(t.app, 'vector-attacker');
  const otherOrgId = await seedActiveOrg(admin, otherOwner, 'Attacker Co');
  attacker = sdk(await createKey(t, otherOwner, otherOrgId));
  tenant = sdk(world.key);
}, 120_000);

afterAll(async () => {
  worker?.shutdown();
  await running;
  await connection?.close();
  await workerVectors?.close();
  await pool?.end();
  await t?.close();
  await flaky?.close();
  await simulator?.close();
  await vectorsServer?.stop();
  await admin?.end();
  redis?.disconnect();
  rmSync(mailDir, { recursive: true, force: true });
});

/**
 * An upstream in front of the simulator that can answer one embedding request with a 503, and records how many inputs each request it passed on had.
 */
class FlakyUpstream {
  failed = 0;
  private failNext = 0;
  readonly inputs: number[] = [];
  private seen = 0;
  private readonly server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.seen += 1;
      if (this.failNext > 0 && this.seen === this.failNext) {
        this.failNext = 0;
        this.seen = 0;
        this.failed += 1;
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"message":"overloaded"}}');
        return;
      }
      const body = Buffer.concat(chunks);
      const parsed = JSON.parse(body.toString()) as { input: string[] };
      this.inputs.push(parsed.input.length);
      void fetch(`${this.target}${req.url}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      }).then(async (answer) => {
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(await answer.text());
      });
    });
  });

  constructor(private readonly target: string) {}

  /** Fails the n-th request from now (1: the next one). */
  failRequest(n: number): void {
    this.failNext = n;
    this.seen = 0;
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * A client on Node's own fetch: file uploads need its FormData (world.ts's clients use undici's
 * fetch, whose FormData class the SDK cannot build a multipart body with).
 */
function sdk(apiKey: string): OpenAI {
  return new OpenAI({ baseURL: world.baseURL, apiKey, maxRetries: 0, timeout: 20_000 });
}

async function upload(client: OpenAI, name: string, content: string | Buffer) {
  return client.files.create({ file: await toFile(Buffer.from(content), name), purpose: 'assistants' });
}

/** Polls the file's ingestion in the store until it is no longer in progress. */
async function ingested(client: OpenAI, storeId: string, fileId: string) {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const file = await client.vectorStores.files.retrieve(fileId, { vector_store_id: storeId });
    if (file.status !== 'in_progress') return file;
    if (Date.now() > deadline) throw new Error(`file ${fileId} still in progress`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function usageEvents(): Promise<UsageEvent[]> {
  const entries = await redis.xrange(usageStream, '-', '+');
  return entries
    .map(([, fields]) => JSON.parse(fields[1]!) as UsageEvent)
    .filter((e) => e.orgId === world.orgId);
}

async function status(request: Promise<unknown>): Promise<number> {
  try {
    await request;
    return 200;
  } catch (err) {
    if (err instanceof OpenAI.APIError) return Number(err.status);
    throw err;
  }
}

describe('a vector store through the official openai client', () => {
  let fileId: string;
  let storeId: string;

  it('uploads a file, stores it sealed, and gives its bytes back', async () => {
    const file = await upload(tenant, 'handbook.txt', handbook);
    expect(file).toMatchObject({ object: 'file', filename: 'handbook.txt', purpose: 'assistants' });
    expect(file.bytes).toBe(Buffer.byteLength(handbook));
    fileId = file.id;
    const content = await tenant.files.content(fileId);
    expect(await content.text()).toBe(handbook);
    const listed = await tenant.files.list();
    expect(listed.data.map((f) => f.id)).toContain(fileId);
  });

  it('makes a store of it, ingests it in the background, and finds a chunk by its meaning', async () => {
    const before = (await usageEvents()).length;
    const store = await tenant.vectorStores.create({ name: 'Handbook', file_ids: [fileId] });
    expect(store).toMatchObject({ object: 'vector_store', name: 'Handbook' });
    expect(store.file_counts.total).toBe(1);
    storeId = store.id;

    const file = await ingested(tenant, storeId, fileId);
    expect(file.status, JSON.stringify(file.last_error)).toBe('completed');
    expect(file.usage_bytes).toBe(Buffer.byteLength(handbook));
    const chunks = chunkText(handbook);
    expect(chunks.length).toBeGreaterThan(1);

    // The simulator embeds the same text the same way: a chunk's own text finds it first.
    const results = await tenant.vectorStores.search(storeId, { query: chunks[1]!, max_num_results: 3 });
    expect(results.data[0]).toMatchObject({ file_id: fileId, filename: 'handbook.txt' });
    expect(results.data[0]!.content[0]!.text).toBe(chunks[1]);
    expect(results.data[0]!.score).toBeCloseTo(1, 5);

    const done = await tenant.vectorStores.retrieve(storeId);
    expect(done.status).toBe('completed');
    expect(done.file_counts).toMatchObject({ completed: 1, total: 1 });

    // Ingestion and the search both went through /v1/embeddings, metered as this tenant's usage.
    const events = (await usageEvents()).slice(before);
    expect(events.every((e) => e.model === embeddingModel)).toBe(true);
    expect(events.length).toBe(Math.ceil(chunks.length / 32) + 1);
    // The key ingestion used lived for its attempt only.
    const { rows } = await admin.query<{ revoked: boolean }>(
      `SELECT revoked_at IS NOT NULL AS revoked FROM api_keys WHERE org_id = $1 AND name LIKE 'vector-store ingestion%'`,
      [world.orgId],
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.revoked)).toBe(true);
  });

  it('shows another tenant nothing of it, whatever ids it sends', async () => {
    expect(await status(attacker.vectorStores.retrieve(storeId))).toBe(404);
    expect(await status(attacker.vectorStores.search(storeId, { query: 'butterfly' }))).toBe(404);
    expect(await status(attacker.files.retrieve(fileId))).toBe(404);
    expect(await status(attacker.files.content(fileId))).toBe(404);
    expect(await status(attacker.vectorStores.files.list(storeId))).toBe(404);
    expect(await status(attacker.files.delete(fileId))).toBe(404);
    expect(await status(attacker.vectorStores.delete(storeId))).toBe(404);
    // Our file into its own store: the file is not found in its org.
    expect(await status(attacker.vectorStores.create({ name: 'stolen', file_ids: [fileId] }))).toBe(404);
    expect((await attacker.vectorStores.list()).data).toEqual([]);
    expect((await attacker.files.list()).data).toEqual([]);
    // And ours is intact.
    expect((await tenant.vectorStores.retrieve(storeId)).file_counts.completed).toBe(1);
  });

  it('refuses bad input with a clear error and changes nothing', async () => {
    const stores = (await tenant.vectorStores.list()).data.length;
    const refused = tenant.vectorStores.create({
      name: 'bad chunks',
      file_ids: [fileId],
      chunking_strategy: {
        type: 'static',
        static: { max_chunk_size_tokens: 200, chunk_overlap_tokens: 150 },
      },
    });
    await expect(refused).rejects.toMatchObject({ status: 400 });
    await expect(tenant.vectorStores.create({ file_ids: ['file-nope'] })).rejects.toMatchObject({
      status: 404,
    });
    expect((await tenant.vectorStores.list()).data.length).toBe(stores);
    await expect(
      tenant.vectorStores.search(storeId, { query: 'x', filters: { type: 'eq', key: 'a', value: 1 } }),
    ).rejects.toMatchObject({ status: 400 });
  });

  it('marks a file that is not text failed, saying why', async () => {
    const binary = await upload(tenant, 'photo.jpg', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x81]));
    await tenant.vectorStores.files.create(storeId, { file_id: binary.id });
    const file = await ingested(tenant, storeId, binary.id);
    expect(file.status).toBe('failed');
    expect(file.last_error?.code).toBe('unsupported_file');
    expect((await tenant.vectorStores.retrieve(storeId)).file_counts).toMatchObject({
      failed: 1,
      completed: 1,
    });
  });

  it('takes a deleted file out of the store: its chunks are no longer found', async () => {
    const chunk = chunkText(handbook)[0]!;
    await tenant.files.delete(fileId);
    expect(await status(tenant.files.retrieve(fileId))).toBe(404);
    const results = await tenant.vectorStores.search(storeId, { query: chunk });
    expect(results.data.filter((hit) => hit.file_id === fileId)).toEqual([]);
    expect((await tenant.vectorStores.retrieve(storeId)).file_counts.completed).toBe(0);
  });

  it('resumes a file where it stopped when the model fails in the middle of it', async () => {
    // 100-token chunks without overlap: 48 chunks, two embedding requests (32, then 16).
    const text = Array.from({ length: 48 }, (_, i) => `Paragraph ${i}: ${'wing '.repeat(76)}`).join('\n');
    const chunking = {
      type: 'static' as const,
      static: { max_chunk_size_tokens: 100, chunk_overlap_tokens: 0 },
    };
    expect(chunkText(text, { maxChunkTokens: 100, overlapTokens: 0 }).length).toBe(48);
    const store = await tenant.vectorStores.create({
      name: 'flaky',
      embedding_model: flakyModel,
    } as OpenAI.VectorStores.VectorStoreCreateParams);
    const file = await upload(tenant, 'long.txt', text);
    flaky.failRequest(2);
    await tenant.vectorStores.files.create(store.id, { file_id: file.id, chunking_strategy: chunking });
    const done = await ingested(tenant, store.id, file.id);
    expect(done.status, JSON.stringify(done.last_error)).toBe('completed');
    // The second request failed (503, not passed on); the retry started from the heartbeat, at
    // chunk 32: the first batch was embedded once.
    expect(flaky.failed).toBe(1);
    expect(flaky.inputs).toEqual([32, 16]);
    const hits = await tenant.vectorStores.search(store.id, { query: 'wing', max_num_results: 50 });
    expect(new Set(hits.data.map((h) => h.content[0]!.text)).size).toBe(48);
  });

  it('refuses a key that may call no model', async () => {
    const usageOnly = await createKey(t, world.owner, world.orgId, { scopes: ['usage:read'] });
    expect(await status(sdk(usageOnly).files.list())).toBe(403);
    expect(await status(sdk(usageOnly).vectorStores.list())).toBe(403);
  });
});
