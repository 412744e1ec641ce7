import { describe, expect, it } from 'vitest';
import { KeyRates } from '../../../../api/identity/api-keys/key-rates.js';

const minute = 60_000;
const start = Date.UTC(2026, 11, 7, 9, 0, 0);

/** `count` requests spread evenly over the minute `m` after the start. */
function minuteOf(rates: KeyRates, m: number, count: number, key = 'key') {
  const spikes = [];
  for (let i = 0; i < count; i++) {
    const spike = rates.hit(key, start + m * minute + Math.floor((i * minute) / count));
    if (spike) spikes.push({ minute: m, ...spike });
  }
  return spikes;
}

describe('KeyRates', () => {
  const settings = { factor: 10, minRequestsPerMinute: 50, warmupMinutes: 30 };

  it("reports a key's rate far above its own baseline once, with both numbers", () => {
    const rates = new KeyRates(settings);
    for (let m = 0; m < 60; m++) expect(minuteOf(rates, m, 20)).toEqual([]);
    const spikes = [...minuteOf(rates, 60, 400), ...minuteOf(rates, 61, 400)];
    expect(spikes).toHaveLength(1);
    expect(spikes[0]!.minute).toBe(60);
    expect(spikes[0]!.requestsPerMinute).toBeGreaterThan(200);
    expect(spikes[0]!.baselinePerMinute).toBeCloseTo(20, 0);
  });

  it('reports again after a minute back below the threshold', () => {
    const rates = new KeyRates(settings);
    for (let m = 0; m < 40; m++) minuteOf(rates, m, 20);
    expect(minuteOf(rates, 40, 400)).toHaveLength(1);
    expect(minuteOf(rates, 41, 20)).toEqual([]);
    expect(minuteOf(rates, 42, 20)).toEqual([]);
    expect(minuteOf(rates, 43, 600)).toHaveLength(1);
  });

  it('does not judge a key before its warm-up, nor a rate under the floor', () => {
    const rates = new KeyRates(settings);
    // A new key bursting at once: no history to judge it by.
    expect(minuteOf(rates, 0, 1000)).toEqual([]);
    const quiet = new KeyRates(settings);
    for (let m = 0; m < 40; m++) minuteOf(quiet, m, 1);
    // Forty times its baseline, but 40 a minute is under the floor of 50.
    expect(minuteOf(quiet, 40, 40)).toEqual([]);
  });

  it('counts a burst across a minute boundary as one rate (the last 60 s)', () => {
    const rates = new KeyRates(settings);
    for (let m = 0; m < 40; m++) minuteOf(rates, m, 2);
    // 40 requests at the end of one minute and 40 at the start of the next: 80 within 60 s.
    const spikes = [];
    for (let i = 0; i < 40; i++) spikes.push(rates.hit('key', start + 40 * minute + 50_000 + i * 100));
    for (let i = 0; i < 40; i++) spikes.push(rates.hit('key', start + 41 * minute + i * 100));
    expect(spikes.filter(Boolean)).toHaveLength(1);
  });

  it('lets the baseline fall while a key is idle, and keeps keys apart', () => {
    const rates = new KeyRates({ ...settings, minRequestsPerMinute: 1 });
    for (let m = 0; m < 60; m++) minuteOf(rates, m, 100);
    // Ten idle hours later, the usual 100 a minute is a spike against a baseline near zero.
    expect(minuteOf(rates, 660, 100)).toHaveLength(1);
    for (let m = 0; m < 60; m++) expect(minuteOf(rates, m, 100, 'other')).toEqual([]);
  });
});
