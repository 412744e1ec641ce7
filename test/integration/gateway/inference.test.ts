// The inference API as an unmodified OpenAI SDK sees it: chat, completions, embeddings and models,
// streamed and not, against the model-server simulator (the stand-in for vLLM) through the real
// pipeline (API key, registry, limits in Redis, metering). Also: what reaches the upstream (unknown
// fields pass, the upstream is never chosen by the client), OpenAI-shaped errors, retries before the
// first byte, fallback, a client that goes away stopping the generation, and the usage events.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { UsageEvent } from '../../../core/usage-event.js';
import { Simulator, simulatedTokenCount } from '../../../simulator/simulator.js';
import { useTestApp } from '../../support/app.js';
import { useAdminPool } from '../api/helpers.js';
import {
  RecordingUpstream,
  addModel,
  clientFor,
  closeClients,
  createKey,
  deadUrl,
  gatewayWorld,
  serverUrl,
  untilRegistered,
  type GatewayWorld,
} from './world.js';

// A usage stream of this file's own: no other file's ingester takes its events away.
const usageStream = `vlinders:usage:inference-${randomUUID().slice(0, 8)}`;
// A first-token timeout far above the fast servers' and far below the slow one's, load or not; as
// many tries as the retried model has servers, so its healthy one is always reached.
const t = useTestApp({
  GATEWAY_FIRST_TOKEN_TIMEOUT_MS: '2000',
  GATEWAY_MAX_ATTEMPTS: '4',
  USAGE_STREAM: usageStream,
});
const admin = useAdminPool();
const fast = new Simulator({
  models: ['upstream-chat', 'upstream-embed'],
  timeToFirstTokenMs: 2,
  interTokenMs: 1,
  completionTokens: 5,
  errorRate: 0,
  usage: true,
  embeddingDimensions: 4,
});
const slowFirstToken = new Simulator({ ...fast.options, timeToFirstTokenMs: 20_000 });
// 20 s of generation: a cancellation that arrives late under load still stops it before the end.
const long = new Simulator({ ...fast.options, completionTokens: 400, interTokenMs: 50 });
const broken = new Simulator({ ...fast.options, errorRate: 1 });
// Serves another model: a 404 for the model the gateway names, like a Serve route gone mid-rebuild.
const elsewhere = new Simulator({ ...fast.options, models: ['another-model'] });
const withoutUsage = new Simulator({ ...fast.options, usage: false });
const recording = new RecordingUpstream();
let world: GatewayWorld;
let chat: string;
let embed: string;
let echo: string;
let recordingUrl: string;

const messages = [{ role: 'user' as const, content: 'Tell me about butterflies.' }];

beforeAll(async () => {
  const [fastUrl, slowUrl, longUrl, brokenUrl, withoutUsageUrl, elsewhereUrl] = (
    await Promise.all([
      fast.listen(),
      slowFirstToken.listen(),
      long.listen(),
      broken.listen(),
      withoutUsage.listen(),
      elsewhere.listen(),
    ])
  ).map(serverUrl);
  recordingUrl = await recording.listen();
  world = await gatewayWorld(t, admin);
  chat = await addModel(admin, { deployments: [{ urls: [fastUrl!], upstreamModel: 'upstream-chat' }] });
  embed = await addModel(admin, { deployments: [{ urls: [fastUrl!], upstreamModel: 'upstream-embed' }] });
  echo = await addModel(admin, { deployments: [{ urls: [recordingUrl], upstreamModel: 'recorded-model' }] });
  Object.assign(names, {
    retried: await addModel(admin, {
      deployments: [
        { urls: [await deadUrl(), brokenUrl!, elsewhereUrl!, fastUrl!], upstreamModel: 'upstream-chat' },
      ],
    }),
    slow: await addModel(admin, {
      deployments: [{ urls: [slowUrl!, fastUrl!], upstreamModel: 'upstream-chat' }],
    }),
    long: await addModel(admin, { deployments: [{ urls: [longUrl!], upstreamModel: 'upstream-chat' }] }),
    fallsBack: await addModel(admin, {
      fallbackModel: chat,
      deployments: [{ urls: [brokenUrl!], upstreamModel: 'upstream-chat' }],
    }),
    withoutUsage: await addModel(admin, {
      deployments: [{ urls: [withoutUsageUrl!], upstreamModel: 'upstream-chat' }],
    }),
    dead: await addModel(admin, {
      deployments: [{ urls: [await deadUrl()], upstreamModel: 'upstream-chat' }],
    }),
  });
  for (const name of [chat, embed, echo, ...Object.values(names)]) await untilRegistered(t, name);
});
afterAll(async () => {
  await closeClients();
  await Promise.all(
    [fast, slowFirstToken, long, broken, withoutUsage, elsewhere, recording].map((upstream) =>
      upstream.close(),
    ),
  );
});
const names = { retried: '', slow: '', long: '', fallsBack: '', withoutUsage: '', dead: '' };

describe('the OpenAI SDK against /v1', () => {
  it('answers a chat completion with the upstream usage and rate-limit headers', async () => {
    const { data, response } = await world.client.chat.completions
      .create({ model: chat, messages, max_tokens: 3 })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe('sim token1 token2');
    expect(data.usage?.completion_tokens).toBe(3);
    expect(data.usage?.prompt_tokens).toBe(simulatedTokenCount('Tell me about butterflies.'));
    for (const header of ['limit', 'remaining', 'reset'])
      for (const kind of ['requests', 'tokens'])
        expect(response.headers.get(`x-ratelimit-${header}-${kind}`)).toBeTruthy();
  });

  it('streams a chat completion chunk by chunk, without a usage chunk the client did not ask for', async () => {
    const stream = await world.client.chat.completions.create({ model: chat, messages, stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(
      'sim token1 token2 token3 token4',
    );
    expect(chunks.every((c) => c.choices.length === 1)).toBe(true);
    expect(chunks.some((c) => c.usage)).toBe(false);
  });

  it('streams with the usage chunk for a client that asks for it', async () => {
    const stream = await world.client.chat.completions.create({
      model: chat,
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(chunks.at(-1)?.usage?.completion_tokens).toBe(5);
  });

  it('answers completions, streamed and not, and embeddings', async () => {
    const completion = await world.client.completions.create({
      model: chat,
      prompt: 'Once upon',
      max_tokens: 2,
    });
    expect(completion.choices[0]?.text).toBe('sim token1');
    const stream = await world.client.completions.create({ model: chat, prompt: 'Once upon', stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe('sim token1 token2 token3 token4');
    const embedding = await world.client.embeddings.create({ model: embed, input: ['a', 'b'] });
    expect(embedding.data).toHaveLength(2);
    expect(embedding.data[0]?.embedding).toHaveLength(4);
  });

  it('lists and shows only the models the key may use', async () => {
    const listed = (await world.client.models.list()).data.map((m) => m.id);
    expect(listed).toEqual(expect.arrayContaining([chat, embed, echo]));
    const narrow = clientFor(
      world.baseURL,
      await createKey(t, world.owner, world.orgId, { allowedModels: [chat] }),
    );
    expect((await narrow.models.list()).data.map((m) => m.id)).toEqual([chat]);
    expect((await narrow.models.retrieve(chat)).id).toBe(chat);
    await expect(narrow.models.retrieve(embed)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(narrow.embeddings.create({ model: embed, input: 'x' })).rejects.toMatchObject({
      status: 404,
      code: 'model_not_found',
    });
  });
});

describe('what reaches the upstream', () => {
  it('passes unknown fields through, names the upstream model, and sends no client credential', async () => {
    recording.requests.length = 0;
    const answer = await world.client.chat.completions.create({
      model: echo,
      messages,
      // vLLM's own sampling and guided-decoding parameters.
      ...({ top_k: 4, guided_choice: ['yes', 'no'] } as object),
    });
    expect(answer.choices[0]?.message.content).toBe('recorded');
    const [seen] = recording.requests;
    expect(seen?.body).toMatchObject({
      model: 'recorded-model',
      top_k: 4,
      guided_choice: ['yes', 'no'],
      messages,
    });
    expect(seen?.headers.authorization).toBeUndefined();
    expect(JSON.stringify(seen?.headers)).not.toContain(world.key);
  });

  it('refuses a body that names an upstream, and nothing reaches any upstream', async () => {
    recording.requests.length = 0;
    for (const field of ['api_base', 'base_url']) {
      const refused = world.client.chat.completions.create({
        model: echo,
        messages,
        ...({ [field]: 'http://169.254.169.254/latest' } as object),
      });
      await expect(refused).rejects.toMatchObject({
        status: 400,
        param: field,
        type: 'invalid_request_error',
      });
    }
    expect(recording.requests).toHaveLength(0);
  });
});

describe('errors in OpenAI shape', () => {
  it('refuses a missing or wrong key with 401', async () => {
    await expect(clientFor(world.baseURL, 'vl_live_nope_nope').models.list()).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
    const res = await fetch(`${world.baseURL}/models`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({
      error: { type: 'authentication_error', message: expect.any(String) },
    });
  });

  it('refuses an unknown model with 404 model_not_found', async () => {
    await expect(
      world.client.chat.completions.create({ model: 'no-such-model', messages }),
    ).rejects.toMatchObject({
      status: 404,
      code: 'model_not_found',
      param: 'model',
    });
  });

  it('refuses max_tokens above the plan with 400 and a stable code', async () => {
    await expect(
      world.client.chat.completions.create({ model: chat, messages, max_tokens: 10_000_000 }),
    ).rejects.toMatchObject({ status: 400, code: 'max_tokens_exceeded', param: 'max_tokens' });
  });

  it('refuses a body over the limit with 413, and malformed JSON with 400', async () => {
    const headers = { authorization: `Bearer ${world.key}`, 'content-type': 'application/json' };
    const huge = await fetch(`${world.baseURL}/chat/completions`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ model: chat, messages: [{ role: 'user', content: 'x'.repeat(9_000_000) }] }),
    });
    expect(huge.status).toBe(413);
    const malformed = await fetch(`${world.baseURL}/chat/completions`, {
      method: 'POST',
      headers,
      body: '{"model":',
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
  });
});

describe('routing', () => {
  it('retries before the first byte: a refused connection, a 500 and a 404 are skipped', async () => {
    // The servers are tried in affinity order: go on until a prompt reached each failing server.
    // One answers only 500s, one 404s (it serves another model), the dead one refuses: every answer
    // is the healthy server's.
    const before = {
      failed: broken.stats.failed,
      missed: elsewhere.stats.requests,
      completed: fast.stats.completed,
    };
    const reachedBoth = () => broken.stats.failed > before.failed && elsewhere.stats.requests > before.missed;
    let answers = 0;
    for (let i = 0; !reachedBoth() && i < 40; i += 1) {
      const answer = await world.client.chat.completions.create({
        model: names.retried,
        messages: [{ role: 'user', content: `retry ${i}` }],
      });
      expect(answer.choices[0]?.message.content).toContain('sim');
      answers += 1;
    }
    expect(reachedBoth()).toBe(true);
    expect(fast.stats.completed - before.completed).toBe(answers);
  });

  it('tries the next server when a stream has no first token in time', async () => {
    // Prompts spread over both servers by affinity; go on until one went to the slow server first.
    for (let i = 0; slowFirstToken.stats.requests === 0 && i < 20; i += 1) {
      const stream = await world.client.chat.completions.create({
        model: names.slow,
        messages: [{ role: 'user', content: `prompt ${i}` }],
        stream: true,
      });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      expect(text).toBe('sim token1 token2 token3 token4');
    }
    expect(slowFirstToken.stats.requests).toBeGreaterThan(0);
    expect(slowFirstToken.stats.completed).toBe(0);
  });

  it("falls back to the model's fallback model when its own servers fail", async () => {
    const answer = await world.client.chat.completions.create({ model: names.fallsBack, messages });
    expect(answer.choices[0]?.message.content).toContain('sim');
  });

  it('answers 502 upstream_unavailable when no server can answer', async () => {
    await expect(world.client.chat.completions.create({ model: names.dead, messages })).rejects.toMatchObject(
      {
        status: 502,
        code: 'upstream_unavailable',
      },
    );
  });

  it('stops the generation when the client goes away', async () => {
    const controller = new AbortController();
    const stream = await world.client.chat.completions.create(
      { model: names.long, messages, stream: true },
      { signal: controller.signal },
    );
    let seen = 0;
    // The SDK ends the iteration quietly when its request is aborted.
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) seen += 1;
      if (seen === 3) controller.abort();
    }
    expect(seen).toBe(3);
    await expect.poll(() => long.stats.cancelled, { timeout: 15_000 }).toBe(1);
    expect(long.stats.completed).toBe(0);
  });
});

describe('metering', () => {
  /** The usage events the gateway appended for a model (read from the stream, before any ingester). */
  async function usageOf(model: string): Promise<UsageEvent[]> {
    const redis = new Redis(inject('redisUrl'));
    try {
      const entries = await redis.xrange(usageStream, '-', '+');
      return entries
        .map(([, fields]) => JSON.parse(fields[1]!) as UsageEvent)
        .filter((e) => e.model === model && e.orgId === world.orgId);
    } finally {
      redis.disconnect();
    }
  }

  it("records one event per answer with the upstream's usage", async () => {
    const before = (await usageOf(chat)).length;
    const { response } = await world.client.chat.completions
      .create({ model: chat, messages, max_tokens: 3 })
      .withResponse();
    const events = await usageOf(chat);
    expect(events).toHaveLength(before + 1);
    expect(events.at(-1)).toMatchObject({
      requestId: response.headers.get('x-request-id'),
      keyId: expect.any(String),
      promptTokens: simulatedTokenCount('Tell me about butterflies.'),
      completionTokens: 3,
      estimated: false,
      status: 200,
      streamed: false,
      cancelled: false,
    });
  });

  it('counts the tokens itself, marked estimated, when the upstream reports no usage', async () => {
    const stream = await world.client.chat.completions.create({
      model: names.withoutUsage,
      messages,
      stream: true,
    });
    for await (const chunk of stream) expect(chunk.usage ?? null).toBeNull();
    const [event] = await usageOf(names.withoutUsage);
    expect(event).toMatchObject({ completionTokens: 5, estimated: true, streamed: true, status: 200 });
    expect(event!.promptTokens).toBeGreaterThan(0);
  });

  it('bills a stream the client left for what was generated', async () => {
    const [event] = await usageOf(names.long);
    expect(event).toMatchObject({ cancelled: true, status: 499, streamed: true });
    expect(event!.completionTokens).toBeGreaterThanOrEqual(3);
    expect(event!.completionTokens).toBeLessThan(400);
  });
});
