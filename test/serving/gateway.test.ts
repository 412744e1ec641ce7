// The inference API through Vlinders to real vLLM behind Ray Serve (the CPU profile, deploy/ray/cpu.yaml,
// started by the suite's global setup): the official OpenAI SDK against /v1 for chat (streamed and
// not), completions and embeddings; the usage the client gets and the ledger records equal to what
// vLLM reports for the same request called directly; answers that name the public model, never the
// upstream's; a client that leaves mid-stream stops the generation in vLLM; limits and metering as
// with the simulator (test/integration/gateway/inference.test.ts), on real token counts.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { APIError } from 'openai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { limitKeys } from '../../api/gateway/limits/admissions.js';
import { monthOf } from '../../api/gateway/limits/limiter.js';
import { planLimits } from '../../core/plans.js';
import { createDb, createPool } from '../../db/client.js';
import { UsageIngester } from '../../workers/usage-ingest/ingest.js';
import { useTestApp } from '../support/app.js';
import { seedActiveOrg, signUp, useAdminPool } from '../integration/api/helpers.js';
import {
  addModel,
  clientFor,
  closeClients,
  createKey,
  gatewayWorld,
  untilRegistered,
  type GatewayWorld,
} from '../integration/gateway/world.js';
import { takeSuiteCluster } from './ray.js';
import { direct, directStreamUsage, metric, type Usage } from './support.js';

// A usage stream of this file's own, moved into the ledger by an ingester of its own.
const usageStream = `vlinders:usage:serving-${randomUUID().slice(0, 8)}`;
// vLLM on two busy cores: a first token may take seconds.
const t = useTestApp({ USAGE_STREAM: usageStream, GATEWAY_FIRST_TOKEN_TIMEOUT_MS: '120000' });
const admin = useAdminPool();
const redis = new Redis(inject('redisUrl'));
let ingester: UsageIngester;
let closeIngester: () => Promise<void>;
let serveUrl: string;
let metricsUrl: string;
let world: GatewayWorld;
let chat: string;
let embed: string;

const messages = [{ role: 'user' as const, content: 'Tell me about butterflies.' }];
// vLLM on two cores beside the rest of the suite: an answer may take far longer than a simulator's.
const patient = (client: OpenAI) => client.withOptions({ timeout: 120_000 });

let releaseCluster: (() => void) | undefined;

beforeAll(async () => {
  // Steady while it counts tokens and watches vLLM's counters: no replica or version changing.
  const { ray, release } = await takeSuiteCluster('tiny-chat-v1', 'minilm');
  releaseCluster = release;
  ({ serveUrl, metricsUrl } = ray);
  // A first answer after the cluster changed hands (or on a cold engine) may take a minute: had once
  // before the tests count, so none of them waits on it.
  await direct(serveUrl, 'tiny-chat-v1', 'chat/completions', { messages, max_tokens: 1 });
  await direct(serveUrl, 'minilm', 'embeddings', { input: 'butterflies' });
  const built = await gatewayWorld(t, admin);
  world = { ...built, client: patient(built.client) };
  await admin.query(`UPDATE organizations SET plan = 'enterprise' WHERE id = $1`, [world.orgId]);
  chat = await addModel(admin, {
    name: `chat-${randomUUID().slice(0, 8)}`,
    contextLength: 2048,
    deployments: [{ urls: [`${serveUrl}/tiny-chat-v1`], upstreamModel: 'tiny-chat-v1' }],
  });
  embed = await addModel(admin, {
    name: `embed-${randomUUID().slice(0, 8)}`,
    contextLength: 256,
    deployments: [{ urls: [`${serveUrl}/minilm`], upstreamModel: 'minilm' }],
  });
  for (const name of [chat, embed]) await untilRegistered(t, name);
  const pool = createPool({ url: inject('databaseUrl'), size: 2, applicationName: 'serving-test-ingest' });
  const connection = new Redis(inject('redisUrl'));
  ingester = new UsageIngester({
    redis: connection,
    db: createDb(pool),
    logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
    stream: usageStream,
    consumer: 'serving-test',
    batchSize: 100,
    claimIdleMs: 1000,
    blockMs: 100,
  });
  await ingester.start();
  closeIngester = async () => {
    await ingester.stop();
    connection.disconnect();
    await pool.end();
  };
}, 2_400_000);
afterAll(async () => {
  await closeClients();
  await closeIngester?.();
  redis.disconnect();
  releaseCluster?.();
});

interface LedgerRow {
  model: string;
  prompt_tokens: number;
  completion_tokens: number;
  estimated: boolean;
  status: number;
  streamed: boolean;
  cancelled: boolean;
}

/** The ledger's rows of one request (the ingester stores them within a moment). */
async function ledgerRows(requestId: string | null): Promise<LedgerRow[]> {
  const { rows } = await admin.query<LedgerRow>(
    `SELECT model, prompt_tokens, completion_tokens, estimated, status, streamed, cancelled
       FROM usage_events WHERE request_id = $1`,
    [requestId],
  );
  return rows;
}

/** The one ledger row of a request, once stored. */
async function ledgerRow(requestId: string | null): Promise<LedgerRow> {
  await expect.poll(() => ledgerRows(requestId), { timeout: 30_000 }).toHaveLength(1);
  return (await ledgerRows(requestId))[0]!;
}

const tokens = (usage: Usage) => ({
  prompt_tokens: usage.prompt_tokens,
  completion_tokens: usage.completion_tokens ?? 0,
});

describe('the OpenAI SDK through Vlinders to vLLM', { timeout: 180_000 }, () => {
  it('answers a chat completion under the public name, with the usage vLLM reports, recorded once', async () => {
    const request = { messages, max_tokens: 8, temperature: 0 };
    const { data, response } = await world.client.chat.completions
      .create({ model: chat, ...request })
      .withResponse();
    const reference = await direct(serveUrl, 'tiny-chat-v1', 'chat/completions', request);

    expect(data.model).toBe(chat);
    expect(data.choices[0]?.message.role).toBe('assistant');
    expect(data.choices[0]?.finish_reason).toBe('length');
    expect(data.usage).toMatchObject(tokens(reference.usage));
    expect(data.usage?.completion_tokens).toBe(8);
    expect(response.headers.get('x-ratelimit-remaining-requests')).toBeTruthy();
    expect(await ledgerRow(response.headers.get('x-request-id'))).toEqual({
      model: chat,
      ...tokens(reference.usage),
      estimated: false,
      status: 200,
      streamed: false,
      cancelled: false,
    });
  });

  it('streams a chat completion, every chunk under the public name, with the usage chunk asked for', async () => {
    const request = { messages, max_tokens: 6, temperature: 0 };
    const { data: stream, response } = await world.client.chat.completions
      .create({ model: chat, ...request, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const reference = await directStreamUsage(serveUrl, 'tiny-chat-v1', 'chat/completions', request);

    expect(chunks.length).toBeGreaterThan(2);
    expect(new Set(chunks.map((c) => c.model))).toEqual(new Set([chat]));
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(chunks.at(-1)?.usage).toMatchObject(tokens(reference));
    expect(await ledgerRow(response.headers.get('x-request-id'))).toMatchObject({
      ...tokens(reference),
      estimated: false,
      streamed: true,
    });
  });

  it("meters a stream by vLLM's usage even when the client did not ask for the usage chunk", async () => {
    const request = { messages, max_tokens: 5, temperature: 0 };
    const { data: stream, response } = await world.client.chat.completions
      .create({ model: chat, ...request, stream: true })
      .withResponse();
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.some((c) => c.usage)).toBe(false);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('length');
    const reference = await directStreamUsage(serveUrl, 'tiny-chat-v1', 'chat/completions', request);
    expect(await ledgerRow(response.headers.get('x-request-id'))).toMatchObject({
      ...tokens(reference),
      estimated: false,
    });
  });

  it('answers completions, streamed and not, with the usage vLLM reports', async () => {
    const request = { prompt: 'Once upon a time', max_tokens: 7, temperature: 0 };
    const completion = await world.client.completions.create({ model: chat, ...request });
    const reference = await direct(serveUrl, 'tiny-chat-v1', 'completions', request);
    expect(completion.model).toBe(chat);
    expect(completion.choices[0]?.text).toEqual(expect.any(String));
    expect(completion.usage).toMatchObject(tokens(reference.usage));

    const stream = await world.client.completions.create({
      model: chat,
      ...request,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(new Set(chunks.map((c) => c.model))).toEqual(new Set([chat]));
    expect(chunks.at(-1)?.usage).toMatchObject(tokens(reference.usage));
  });

  it('answers embeddings: 384 dimensions per input, under the public name, with the usage vLLM reports', async () => {
    const input = ['Butterflies taste with their feet.', 'A second sentence.'];
    const { data: answer, response } = await world.client.embeddings
      .create({ model: embed, input })
      .withResponse();
    const reference = await direct(serveUrl, 'minilm', 'embeddings', { input });
    expect(answer.model).toBe(embed);
    expect(answer.data.map((d) => d.embedding.length)).toEqual([384, 384]);
    expect(answer.usage.prompt_tokens).toBe(reference.usage.prompt_tokens);
    expect(await ledgerRow(response.headers.get('x-request-id'))).toMatchObject({
      model: embed,
      prompt_tokens: reference.usage.prompt_tokens,
      completion_tokens: 0,
      estimated: false,
    });
  });

  it('lists the models under their public names', async () => {
    const listed = (await world.client.models.list()).data.map((m) => m.id);
    expect(listed).toEqual(expect.arrayContaining([chat, embed]));
    expect(listed).not.toContain('tiny-chat-v1');
  });
});

describe('a client that leaves mid-stream', { timeout: 240_000 }, () => {
  it('stops the generation in vLLM, and is billed for what was generated', async () => {
    // Far more tokens than anything else in this run asks for: vLLM takes several seconds for them
    // on CPU, and would generate every one (ignore_eos) unless the request is aborted.
    const maxTokens = 2000;
    const model = { model_name: 'tiny-chat-v1' };
    const generated = () => metric(metricsUrl, 'ray_vllm_generation_tokens_total', model);
    const running = () => metric(metricsUrl, 'ray_vllm_num_requests_running', model);
    // Ray exports what vLLM counted every few seconds, so `before` may miss the last few tokens of
    // the earlier tests' requests: tens of tokens, nothing next to maxTokens.
    const before = await generated();

    const controller = new AbortController();
    const { data: stream, response } = await world.client.completions
      .create(
        {
          model: chat,
          prompt: 'Once upon a time',
          max_tokens: maxTokens,
          temperature: 0,
          stream: true,
          ...({ ignore_eos: true } as object),
        },
        { signal: controller.signal },
      )
      .withResponse();
    let seen = 0;
    // The SDK ends the iteration quietly when its request is aborted.
    for await (const chunk of stream) {
      if (chunk.choices[0]?.text) seen += 1;
      if (seen === 3) controller.abort();
    }
    expect(seen).toBe(3);

    // vLLM's own counters: nothing running any more, and far fewer tokens generated than asked for
    // (they count every request to the model: other tests' short requests to it at the same time
    // add a few tokens, far fewer than maxTokens).
    await expect
      .poll(async () => ({ running: await running(), started: (await generated()) > before }), {
        timeout: 120_000,
        interval: 1000,
      })
      .toEqual({ running: 0, started: true });
    expect((await generated()) - before).toBeLessThan(maxTokens);

    const row = await ledgerRow(response.headers.get('x-request-id'));
    expect(row).toMatchObject({ cancelled: true, status: 499, streamed: true });
    expect(row.completion_tokens).toBeGreaterThanOrEqual(3);
    expect(row.completion_tokens).toBeLessThan(maxTokens);
  });
});

describe('limits on real token counts', { timeout: 180_000 }, () => {
  it('refuses the request over a key’s rate limit with a 429, and meters only the answered one', async () => {
    const key = await createKey(t, world.owner, world.orgId, { requestsPerMinute: 1 });
    const client = patient(clientFor(world.baseURL, key));
    const { response } = await client.chat.completions
      .create({ model: chat, messages, max_tokens: 2 })
      .withResponse();
    const refused = await client.chat.completions
      .create({ model: chat, messages, max_tokens: 2 })
      .catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect(refused).toMatchObject({ code: 'rate_limit_exceeded', type: 'requests' });
    expect(Number((refused as APIError).headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await ledgerRow(response.headers.get('x-request-id'));
    const refusedId = (refused as APIError).headers?.get('x-request-id') ?? null;
    expect(refusedId).toBeTruthy();
    expect(await ledgerRows(refusedId)).toEqual([]);
  });

  it("counts vLLM's tokens against the monthly quota, and refuses once it is used up", async () => {
    // A tenant of its own on the free plan, so its monthly counter is this test's alone.
    const owner = await signUp(t.app, 'quota', '10.9.0.1');
    const orgId = await seedActiveOrg(admin, owner, 'Quota org');
    await admin.query(`UPDATE organizations SET plan = 'free' WHERE id = $1`, [orgId]);
    const client = patient(clientFor(world.baseURL, await createKey(t, owner, orgId)));
    const monthly = limitKeys(orgId, 'any', monthOf(Date.now()).month).monthly;
    await redis.set(monthly, 1000, 'EX', 3600);

    const request = { messages, max_tokens: 8, temperature: 0 };
    const answer = await client.chat.completions.create({ model: chat, ...request });
    const reference = await direct(serveUrl, 'tiny-chat-v1', 'chat/completions', request);
    expect(answer.usage?.total_tokens).toBe(reference.usage.total_tokens);
    // The reservation (the prompt's estimate plus max_tokens) is settled to what vLLM counted.
    await expect
      .poll(async () => Number(await redis.get(monthly)), { timeout: 30_000 })
      .toBe(1000 + reference.usage.total_tokens);

    await redis.set(monthly, planLimits('free').monthlyTokens, 'EX', 3600);
    await expect(client.chat.completions.create({ model: chat, ...request })).rejects.toMatchObject({
      status: 429,
      code: 'quota_exceeded',
      type: 'insufficient_quota',
    });
    // One row per answered request, none for the refusal.
    await expect
      .poll(async () => {
        const { rows } = await admin.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM usage_events WHERE org_id = $1',
          [orgId],
        );
        return rows[0]!.n;
      })
      .toBe(1);
  });
});
