import { describe, expect, it } from 'vitest';
import { PrefixRing, pointsPerUrl } from '../../../../../api/gateway/routing/prefix-ring.js';

const urls = [
  'http://replica-0:8000',
  'http://replica-1:8000',
  'http://replica-2:8000',
  'http://replica-3:8000',
];
const keys = Array.from({ length: 10_000 }, (_, i) => `system: You are assistant number ${i}.\nuser: hello`);

function owners(ring: PrefixRing): string[] {
  return keys.map((key) => ring.lookup(key) ?? '');
}

describe('PrefixRing', () => {
  it('sends the same prefix to the same URL, on every replica of the gateway, whatever the URL order', () => {
    const a = new PrefixRing(urls);
    const b = new PrefixRing([...urls].reverse());
    expect(owners(a)).toEqual(owners(b));
    expect(a.lookup(keys[42] ?? '')).toBe(a.lookup(keys[42] ?? ''));
  });

  it('spreads 10,000 keys over 4 URLs evenly (each within 20 % of a quarter)', () => {
    const counts = new Map<string, number>();
    for (const url of owners(new PrefixRing(urls))) counts.set(url, (counts.get(url) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual(urls);
    for (const count of counts.values()) {
      expect(count).toBeGreaterThan(2500 * 0.8);
      expect(count).toBeLessThan(2500 * 1.2);
    }
  });

  it('moves only the removed URL’s keys (about a quarter) when one of 4 goes', () => {
    const before = owners(new PrefixRing(urls));
    const after = owners(new PrefixRing(urls.filter((u) => u !== urls[2])));
    let moved = 0;
    before.forEach((owner, i) => {
      if (owner === urls[2]) moved += 1;
      else expect(after[i]).toBe(owner);
    });
    expect(moved / keys.length).toBeGreaterThan(0.15);
    expect(moved / keys.length).toBeLessThan(0.35);
  });

  it('moves only about a fifth of the keys, all to the new URL, when a fifth URL comes', () => {
    const before = owners(new PrefixRing(urls));
    const after = owners(new PrefixRing([...urls, 'http://replica-4:8000']));
    const moved = after.filter((owner, i) => owner !== before[i]);
    expect(new Set(moved)).toEqual(new Set(['http://replica-4:8000']));
    expect(moved.length / keys.length).toBeGreaterThan(0.12);
    expect(moved.length / keys.length).toBeLessThan(0.28);
  });

  it('orders every URL once, the key’s owner first', () => {
    const ring = new PrefixRing(urls);
    for (const key of keys.slice(0, 100)) {
      const order = ring.order(key);
      expect(order[0]).toBe(ring.lookup(key));
      expect([...order].sort()).toEqual(urls);
    }
    expect(new PrefixRing([]).order('anything')).toEqual([]);
    expect(new PrefixRing(['http://only:8000']).order('anything')).toEqual(['http://only:8000']);
  });

  it('holds urls × points whatever the number of keys looked up (nothing is kept per key)', () => {
    const ring = new PrefixRing(urls);
    expect(ring.size).toBe(urls.length * pointsPerUrl);
    for (let i = 0; i < 100_000; i++) ring.order(`a prefix never seen before ${i}`);
    expect(ring.size).toBe(urls.length * pointsPerUrl);
  });
});
