import { describe, expect, it } from 'vitest';
import { formatReset, monthOf } from '../../../../../api/gateway/limits/limiter.js';

describe('x-ratelimit-reset-* values', () => {
  it('are written as OpenAI writes them', () => {
    expect(formatReset(0)).toBe('0ms');
    expect(formatReset(17.2)).toBe('18ms');
    expect(formatReset(999)).toBe('999ms');
    expect(formatReset(1_000)).toBe('1s');
    expect(formatReset(8_640)).toBe('8.64s');
    expect(formatReset(60_000)).toBe('1m0s');
    expect(formatReset(360_000)).toBe('6m0s');
    expect(formatReset(88_800)).toBe('1m28.8s');
    expect(formatReset(3_723_000)).toBe('1h2m3s');
  });
});

describe('the month a reservation counts in', () => {
  it('is the UTC calendar month, ending at the next month’s first midnight UTC', () => {
    expect(monthOf(Date.parse('2026-11-30T23:59:59.000Z'))).toEqual({
      month: '2026-11',
      msToMonthEnd: 1_000,
    });
    expect(monthOf(Date.parse('2026-12-31T12:00:00.000Z'))).toEqual({
      month: '2026-12',
      msToMonthEnd: 12 * 3_600_000,
    });
    expect(monthOf(Date.parse('2027-02-01T00:00:00.000Z')).month).toBe('2027-02');
  });

  it('follows the clock back and forth across a month’s edges (the month is remembered, not stale)', () => {
    expect(monthOf(Date.parse('2027-02-28T23:59:59.999Z')).month).toBe('2027-02');
    expect(monthOf(Date.parse('2027-03-01T00:00:00.000Z'))).toEqual({
      month: '2027-03',
      msToMonthEnd: 31 * 86_400_000,
    });
    expect(monthOf(Date.parse('2027-02-28T23:59:59.999Z'))).toEqual({ month: '2027-02', msToMonthEnd: 1 });
  });
});
