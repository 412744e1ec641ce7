// The model-server simulator (a stand-in for vLLM) as the official `openai` client sees it: the
// shapes the gateway will forward, streaming with and without usage, errors in OpenAI's shape, and
// generation that stops when the client goes away.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSimulatorArgs } from '../../../simulator/args.js';
import { Simulator, simulatedTokenCount, type SimulatorOptions } from '../../../simulator/simulator.js';

const options: SimulatorOptions = {
  models: ['sim-chat', 'sim-embed'],
  timeToFirstTokenMs: 5,
  interTokenMs: 2,
  completionTokens: 6,
  errorRate: 0,
  usage: true,
  embeddingDimensions: 4,
};

let simulator: Simulator;
let client: OpenAI;

beforeAll(async () => {
  simulator = new Simulator(options);
  client = new OpenAI({ baseURL: await simulator.listen(), apiKey: 'not-checked', maxRetries: 0 });
});
afterAll(() => simulator?.close());

const messages = [{ role: 'user' as const, content: 'Say something, please.' }];

describe('model-server simulator', () => {
  it('lists its models', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['sim-chat', 'sim-embed']);
  });

  it('answers a chat completion with usage, capped by max_tokens', async () => {
    const answer = await client.chat.completions.create({ model: 'sim-chat', messages, max_tokens: 4 });
    expect(answer.choices[0]?.message.content).toBe('sim token1 token2 token3');
    expect(answer.usage).toEqual({
      prompt_tokens: simulatedTokenCount('Say something, please.'),
      completion_tokens: 4,
      total_tokens: simulatedTokenCount('Say something, please.') + 4,
    });
  });

  it('answers a legacy completion and embeddings', async () => {
    const completion = await client.completions.create({ model: 'sim-chat', prompt: 'abcdefgh' });
    expect(completion.choices[0]?.text).toBe('sim token1 token2 token3 token4 token5');
    expect(completion.usage?.prompt_tokens).toBe(2);
    const embeddings = await client.embeddings.create({ model: 'sim-embed', input: ['a', 'bb'] });
    expect(embeddings.data).toHaveLength(2);
    expect(embeddings.data[0]?.embedding).toHaveLength(4);
    expect(embeddings.usage.prompt_tokens).toBe(2);
  });

  it('streams one chunk per token, and the usage chunk only when asked for', async () => {
    const withUsage = await client.chat.completions.create({
      model: 'sim-chat',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of withUsage) chunks.push(chunk);
    expect(chunks.filter((c) => c.choices.length === 1).map((c) => c.choices[0]?.delta.content)).toEqual([
      'sim',
      ' token1',
      ' token2',
      ' token3',
      ' token4',
      ' token5',
    ]);
    expect(chunks.at(-1)?.usage?.completion_tokens).toBe(6);

    const withoutUsage = await client.chat.completions.create({ model: 'sim-chat', messages, stream: true });
    const plain = [];
    for await (const chunk of withoutUsage) plain.push(chunk);
    expect(plain).toHaveLength(6);
    expect(plain.every((c) => !c.usage)).toBe(true);
  });

  it('answers an unknown model with a 404 and a bad body with a 400, in OpenAI’s error shape', async () => {
    await expect(client.chat.completions.create({ model: 'gpt-nope', messages })).rejects.toMatchObject({
      status: 404,
      error: { type: 'not_found_error' },
    });
    await expect(client.chat.completions.create({ model: 'sim-chat', messages: [] })).rejects.toMatchObject({
      status: 400,
      error: { type: 'invalid_request_error' },
    });
  });

  it('fails at the configured rate, and stops generating when the client goes away', async () => {
    const failing = new Simulator({ ...options, errorRate: 1 });
    // 20 s of generation: a cancellation that arrives late under load still stops it before the end.
    const slow = new Simulator({ ...options, completionTokens: 1000, interTokenMs: 20 });
    try {
      const failingClient = new OpenAI({ baseURL: await failing.listen(), apiKey: 'x', maxRetries: 0 });
      await expect(
        failingClient.chat.completions.create({ model: 'sim-chat', messages }),
      ).rejects.toMatchObject({ status: 500, error: { type: 'server_error' } });

      const slowClient = new OpenAI({ baseURL: await slow.listen(), apiKey: 'x', maxRetries: 0 });
      const stream = await slowClient.chat.completions.create({ model: 'sim-chat', messages, stream: true });
      let received = 0;
      for await (const chunk of stream) {
        expect(chunk.choices).toHaveLength(1);
        received += 1;
        if (received === 3) break; // the SDK aborts the request
      }
      await expect.poll(() => slow.stats.cancelled, { timeout: 15_000 }).toBe(1);
      expect(slow.stats.completed).toBe(0);
    } finally {
      await failing.close();
      await slow.close();
    }
  });

  it('refuses bad command-line values, naming the option', () => {
    expect(parseSimulatorArgs(['--tokens', '8', '--usage', 'false']).options).toMatchObject({
      completionTokens: 8,
      usage: false,
    });
    expect(() => parseSimulatorArgs(['--error-rate', '2'])).toThrow(/--error-rate/);
    expect(() => parseSimulatorArgs(['--usage', 'maybe'])).toThrow(/--usage/);
    expect(() => parseSimulatorArgs(['--colour', 'blue'])).toThrow();
  });
});
