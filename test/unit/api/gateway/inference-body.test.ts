// Reading inference bodies: OpenAI's fields are checked, every other field travels on, and no field
// may choose the upstream.
import { describe, expect, it } from 'vitest';
import { InferenceError } from '../../../../api/errors.js';
import { readInferenceBody } from '../../../../api/gateway/inference-body.js';

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

  it('takes prompts as text, texts or token ids', () => {
    expect(readInferenceBody('completions', { model: 'm', prompt: ['ab', 'cd'] }).promptText).toBe('ab\ncd');
    expect(readInferenceBody('completions', { model: 'm', prompt: [1, 2, 3] }).promptText).toHaveLength(12);
    expect(readInferenceBody('embeddings', { model: 'm', input: [[1, 2], [3]] }).promptText).toHaveLength(12);
  });
});
