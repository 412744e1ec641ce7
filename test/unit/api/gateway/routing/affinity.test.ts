import { describe, expect, it } from 'vitest';
import { affinityKey } from '../../../../../api/gateway/routing/affinity.js';

describe('affinityKey', () => {
  const system = { role: 'system', content: 'You are a terse assistant.' };

  it('keys chat requests by their leading messages, so a shared system prompt gives a shared key', () => {
    const a = affinityKey({ messages: [system, { role: 'user', content: 'x'.repeat(500) }] });
    const b = affinityKey({
      messages: [system, { role: 'user', content: 'x'.repeat(500) + 'different tail' }],
    });
    expect(a).toBe(b);
    expect(a.length).toBe(256);
    expect(a.startsWith('system: You are a terse assistant.\nuser: xxx')).toBe(true);
    expect(affinityKey({ messages: [system, { role: 'user', content: 'hi' }] })).not.toBe(
      affinityKey({ messages: [system, { role: 'user', content: 'ho' }] }),
    );
  });

  it('reads the text parts of content arrays and skips the rest', () => {
    const key = affinityKey({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: 'data:…' } },
            { type: 'text', text: 'caption' },
          ],
        },
      ],
    });
    expect(key).toBe('user: caption\n');
  });

  it('keys completions by the prompt: a string, the first of a list, or token ids', () => {
    expect(affinityKey({ prompt: 'y'.repeat(1000) })).toBe('y'.repeat(256));
    expect(affinityKey({ prompt: ['first', 'second'] })).toBe('first');
    expect(affinityKey({ prompt: [1, 2, 3] })).toBe('1,2,3,');
    expect(affinityKey({ prompt: [[7, 8], [9]] })).toBe('7,8,');
    expect(affinityKey({ input: 'embed me' })).toBe('embed me');
  });

  it('gives an empty key for a body without text, whatever its shape', () => {
    for (const body of [
      null,
      'text',
      42,
      {},
      { messages: 'no' },
      { messages: [null, 1] },
      { prompt: [] },
      { prompt: {} },
    ])
      expect(affinityKey(body).length).toBeLessThanOrEqual(4);
    expect(affinityKey({ prompt: {} })).toBe('');
  });
});
