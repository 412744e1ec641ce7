// Reading inference bodies: OpenAI's fields are checked, every other field travels on, and no field
// may choose the upstream.
import { describe, expect, it } from 'vitest';
import { InferenceError } from '../../../../api/errors.js';
import { affinityChars, readInferenceBody, upstreamBody } from '../../../../api/gateway/inference-body.js';

const chat = { model: 'm', messages: [{ role: 'user', content: 'hello' }] };

function refusal(run: () => unknown): { param?: string; message: string } {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(InferenceError);
    const e = err as InferenceError;
    expect(e.status).toBe(400);
    return { message: e.message, ...(e.options.param ? { param: e.options.param } : {}) };
  }
  throw new Error('expected a refusal');
}

describe('readInferenceBody', () => {
  it('keeps unknown fields (vLLM sampling and guided decoding) for the upstream', () => {
    const body = readInferenceBody('chat/completions', {
      ...chat,
      top_k: 5,
      guided_json: { type: 'object' },
    });
    expect(body.fields).toMatchObject({ top_k: 5, guided_json: { type: 'object' } });
    expect(body).toMatchObject({ model: 'm', stream: false, clientWantsUsage: false, maxTokens: null });
  });

  it.each(['api_base', 'base_url', 'api_key', 'custom_llm_provider'])(
    'refuses %s: no request chooses the upstream',
    (field) => {
      expect(
        refusal(() => readInferenceBody('chat/completions', { ...chat, [field]: 'http://169.254.169.254' })),
      ).toMatchObject({
        param: field,
      });
    },
  );

  it.each([
    ['chat/completions', { model: 'm', messages: [] }, 'messages'],
    ['chat/completions', { model: 'm', messages: [{ content: 'no role' }] }, 'messages[0]'],
    ['chat/completions', { messages: chat.messages }, 'model'],
    ['chat/completions', { ...chat, stream: 'yes' }, 'stream'],
    ['chat/completions', { ...chat, max_tokens: 0 }, 'max_tokens'],
    ['chat/completions', { ...chat, max_completion_tokens: 1.5 }, 'max_completion_tokens'],
    ['completions', { model: 'm', prompt: 42 }, 'prompt'],
    ['embeddings', { model: 'm', input: [] }, 'input'],
    ['embeddings', { model: 'm', input: 'x', stream: true }, 'stream'],
  ] as const)('refuses a bad %s body, naming the field', (endpoint, body, param) => {
    expect(refusal(() => readInferenceBody(endpoint, body)).param).toBe(param);
  });

  it('reads the stream, usage and budget fields', () => {
    const body = readInferenceBody('chat/completions', {
      ...chat,
      stream: true,
      stream_options: { include_usage: true },
      max_completion_tokens: 64,
    });
    expect(body).toMatchObject({ stream: true, clientWantsUsage: true, maxTokens: 64 });
  });

  it('sizes prompts given as text, texts or token ids (a token id counts four characters)', () => {
    expect(readInferenceBody('completions', { model: 'm', prompt: ['ab', 'cd'] }).promptChars).toBe(5);
    expect(readInferenceBody('completions', { model: 'm', prompt: [1, 2, 3] }).promptChars).toBe(12);
    expect(readInferenceBody('embeddings', { model: 'm', input: [[1, 2], [3]] }).promptChars).toBe(12);
    const chat = readInferenceBody('chat/completions', {
      model: 'm',
      messages: [
        { role: 'user', content: 'hello' },
        { role: 'user', content: [{ type: 'text', text: 'abc' }, { type: 'image_url' }] },
      ],
    });
    expect(chat.promptChars).toBe('user'.length + 2 + 5 + 'user'.length + 2 + 3);
  });
});

describe('the affinity key, read in the same pass', () => {
  const system = { role: 'system', content: 'You are a terse assistant.' };
  const keyOf = (messages: unknown[]) =>
    readInferenceBody('chat/completions', { model: 'm', messages }).affinityKey;

  it('keys chat requests by their leading messages, so a shared system prompt gives a shared key', () => {
    const a = keyOf([system, { role: 'user', content: 'x'.repeat(500) }]);
    const b = keyOf([system, { role: 'user', content: 'x'.repeat(500) + 'different tail' }]);
    expect(a).toBe(b);
    expect(a.length).toBe(affinityChars);
    expect(a.startsWith('system: You are a terse assistant.\nuser: xxx')).toBe(true);
    expect(keyOf([system, { role: 'user', content: 'hi' }])).not.toBe(
      keyOf([system, { role: 'user', content: 'ho' }]),
    );
  });

  it('reads the text parts of content arrays and skips the rest', () => {
    const key = keyOf([
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: 'data:…' } },
          { type: 'text', text: 'caption' },
        ],
      },
    ]);
    expect(key).toBe('user: caption\n');
  });

  it('keys completions by the prompt: a string, the first of a list, or token ids', () => {
    const key = (prompt: unknown) => readInferenceBody('completions', { model: 'm', prompt }).affinityKey;
    expect(key('y'.repeat(1000))).toBe('y'.repeat(affinityChars));
    expect(key(['first', 'second'])).toBe('first');
    expect(key([1, 2, 3])).toBe('1,2,3,');
    expect(key([[7, 8], [9]])).toBe('7,8,');
    expect(readInferenceBody('embeddings', { model: 'm', input: 'embed me' }).affinityKey).toBe('embed me');
  });
});

describe('upstreamBody', () => {
  it('names the deployment model, sends the budget when the client set none, and always asks a stream for usage', () => {
    const body = readInferenceBody('chat/completions', { ...chat, stream: true, top_k: 5 });
    expect(JSON.parse(upstreamBody(body, 'served-name', 128))).toEqual({
      ...chat,
      model: 'served-name',
      stream: true,
      top_k: 5,
      max_tokens: 128,
      stream_options: { include_usage: true },
    });
    const budgeted = readInferenceBody('chat/completions', { ...chat, max_tokens: 7 });
    expect(JSON.parse(upstreamBody(budgeted, 'm', 128))).toEqual({ ...chat, max_tokens: 7 });
    expect(body.fields).not.toHaveProperty('max_tokens');
  });
});
