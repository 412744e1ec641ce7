// The stream relay passes complete server-sent events through as they arrive, whatever the upstream's
// chunking, and reads the usage on the way.
import { describe, expect, it } from 'vitest';
import { modelNameRewrite } from '../../../../api/gateway/model-name.js';
import { StreamRelay } from '../../../../api/gateway/stream-relay.js';

const event = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;
const piece = (content: string) => event({ choices: [{ index: 0, delta: { content } }], usage: null });
const usageChunk = event({
  choices: [],
  usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 },
});
const done = 'data: [DONE]\n\n';

function relayAll(relay: StreamRelay, chunks: string[]): string[] {
  return chunks.map((chunk) => relay.push(Buffer.from(chunk)).toString('utf8'));
}

describe('StreamRelay', () => {
  it('sends each complete event at once and holds an unfinished one until its end arrives', () => {
    const relay = new StreamRelay(false);
    const whole = piece('Hel') + piece('lo');
    const cut = piece('Hel').length + 5;
    const out = relayAll(relay, [whole.slice(0, cut), whole.slice(cut)]);
    expect(out).toEqual([piece('Hel'), piece('lo')]);
    expect(relay.pieces).toBe(2);
  });

  it('never splits a multi-byte character, wherever the upstream cut the bytes', () => {
    const relay = new StreamRelay(false);
    const bytes = Buffer.from(piece('héllo 🦋'));
    const middle = bytes.indexOf(0xf0) + 2;
    const first = relay.push(bytes.subarray(0, middle));
    const second = relay.push(bytes.subarray(middle));
    expect(first.length).toBe(0);
    expect(second.toString('utf8')).toBe(piece('héllo 🦋'));
  });

  it('drops the usage-only chunk for a client that did not ask for it, and reads the usage', () => {
    const relay = new StreamRelay(false);
    const out = relayAll(relay, [piece('a'), usageChunk + done]);
    expect(out).toEqual([piece('a'), '']);
    expect(relay.usage).toEqual({ promptTokens: 7, completionTokens: 3, cachedTokens: 0 });
    expect(relay.done).toBe(true);
  });

  it('keeps the usage chunk for a client that asked, and holds back [DONE] for the gateway to send', () => {
    const relay = new StreamRelay(true);
    const out = relayAll(relay, [piece('a') + usageChunk + done]);
    expect(out).toEqual([piece('a') + usageChunk]);
    expect(relay.usage?.promptTokens).toBe(7);
    expect(relay.done).toBe(true);
  });

  it('counts generated pieces, not empty deltas, when the upstream reports no usage', () => {
    const relay = new StreamRelay(false);
    relayAll(relay, [
      event({ choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] }),
      piece('x'),
      event({ choices: [{ index: 0, text: 'y' }] }),
    ]);
    expect(relay.pieces).toBe(2);
    expect(relay.usage).toBeNull();
  });

  it('hands back what is left when the upstream ends without a final boundary', () => {
    const relay = new StreamRelay(false);
    expect(relay.push(Buffer.from('data: {"partial"')).length).toBe(0);
    expect(relay.rest().toString()).toBe('data: {"partial"');
  });

  it('answers with the public model name in every event, never in the generated text', () => {
    const relay = new StreamRelay(true, modelNameRewrite('tiny-chat-v1', 'chat'));
    const chunk = (content: string) =>
      event({ model: 'tiny-chat-v1', choices: [{ index: 0, delta: { content } }] });
    const tricky = '"model":"tiny-chat-v1"';
    const whole = chunk('a') + chunk(tricky) + chunk('b');
    const cut = chunk('a').length + 12;
    const out = relayAll(relay, [whole.slice(0, cut), whole.slice(cut)]).join('');
    const rename = (content: string) => event({ model: 'chat', choices: [{ index: 0, delta: { content } }] });
    expect(out).toBe(rename('a') + rename(tricky) + rename('b'));
  });
});

describe('modelNameRewrite', () => {
  it('renames a whole answer, and is absent when the names are the same', () => {
    const answer = JSON.stringify({ id: 'x', model: 'up/model "1"', choices: [] });
    expect(modelNameRewrite('up/model "1"', 'public')?.text(answer)).toBe(
      JSON.stringify({ id: 'x', model: 'public', choices: [] }),
    );
    expect(modelNameRewrite('same', 'same')).toBeNull();
  });
});
