import { describe, expect, it } from 'vitest';
import {
  billingWindow,
  meterEventIdentifier,
  meterEventTimestamp,
  parseWindowStart,
  periodStartFor,
  reachedThresholds,
  windowBilledAt,
  windowsBetween,
} from '../../../core/billing-window.js';
import { workflowIds } from '../../../temporal.config.js';

const at = (iso: string) => new Date(iso);

describe('billing windows', () => {
  it('bills the hour that ended at least the watermark before the run', () => {
    expect(windowBilledAt(at('2026-11-26T14:15:00Z'), 15).start).toEqual(at('2026-11-26T13:00:00Z'));
    expect(windowBilledAt(at('2026-11-26T14:59:59Z'), 15).start).toEqual(at('2026-11-26T13:00:00Z'));
    // One second before the watermark passes, the hour before is still the last closed one.
    expect(windowBilledAt(at('2026-11-26T14:14:59Z'), 15).start).toEqual(at('2026-11-26T12:00:00Z'));
    expect(windowBilledAt(at('2026-11-27T00:15:00Z'), 15)).toEqual({
      start: at('2026-11-26T23:00:00Z'),
      end: at('2026-11-27T00:00:00Z'),
    });
  });

  it('refuses a window that does not start on a UTC hour', () => {
    expect(() => billingWindow(at('2026-11-26T13:30:00Z'))).toThrow(/UTC hour/);
    expect(() => billingWindow(new Date(Number.NaN))).toThrow(/UTC hour/);
  });

  it('names windows as the workflow ids do, and parses the names back', () => {
    const start = at('2026-11-26T13:00:00Z');
    expect(workflowIds.billingRun(start)).toBe('billing/2026-11-26T13:00Z');
    expect(parseWindowStart('2026-11-26T13:00Z')).toEqual(start);
    expect(parseWindowStart('2026-11-26T13:00:00.000Z')).toEqual(start);
    expect(() => parseWindowStart('2026-11-26T13:30Z')).toThrow(/UTC hour/);
    expect(() => parseWindowStart('yesterday')).toThrow(/UTC hour/);
  });

  it('lists the windows between two hours, both included', () => {
    const windows = windowsBetween(at('2026-11-26T22:00:00Z'), at('2026-11-27T01:00:00Z'));
    expect(windows.map((w) => w.start.toISOString())).toEqual([
      '2026-11-26T22:00:00.000Z',
      '2026-11-26T23:00:00.000Z',
      '2026-11-27T00:00:00.000Z',
      '2026-11-27T01:00:00.000Z',
    ]);
  });

  it('gives each org, meter and window one identifier within Stripe’s 100 characters', () => {
    const orgId = '0b7a2c1e-9f1d-4c55-8f0e-2d4a6b8c0e1f';
    const id = meterEventIdentifier(orgId, 'outputTokens', at('2026-11-26T13:00:00Z'));
    expect(id).toBe(`${orgId}:outputTokens:2026-11-26T13:00Z`);
    expect(id.length).toBeLessThanOrEqual(100);
    expect(meterEventIdentifier(orgId, 'inputTokens', at('2026-11-26T13:00:00Z'))).not.toBe(id);
    expect(meterEventTimestamp(billingWindow(at('2026-11-26T13:00:00Z')))).toBe(
      Date.parse('2026-11-26T13:59:59Z') / 1000,
    );
  });

  it('counts quota thresholds against the period the window falls in', () => {
    expect(reachedThresholds(79, 100)).toEqual([]);
    expect(reachedThresholds(80, 100)).toEqual([80]);
    expect(reachedThresholds(250, 100)).toEqual([80, 100]);
    expect(reachedThresholds(5, 0)).toEqual([]);
    const window = at('2026-11-26T13:00:00Z');
    expect(periodStartFor(window, null)).toEqual(at('2026-11-01T00:00:00Z'));
    expect(periodStartFor(window, at('2026-11-10T08:00:00Z'))).toEqual(at('2026-11-10T08:00:00Z'));
    // A backfilled window before the current period counts against its own month.
    expect(periodStartFor(at('2026-11-05T13:00:00Z'), at('2026-11-10T08:00:00Z'))).toEqual(
      at('2026-11-01T00:00:00Z'),
    );
  });
});
