// Billing windows: the UTC hours usage is reported by. A run started at time T bills the hour that
// ended at least the watermark before T, so usage events still on their way when the hour ends
// (queued in the usage stream, a retrying recorder) land in their own hour before it is billed.
// Pure, no I/O: the scheduled workflow computes its window with it.
import type { BillingMeter } from './billing.js';

export const hourMs = 3_600_000;

export interface BillingWindow {
  /** Inclusive, on a UTC hour. */
  start: Date;
  /** Exclusive: start + 1 hour. */
  end: Date;
}

/** The window [start, start + 1 hour); start must lie on a UTC hour. */
export function billingWindow(start: Date): BillingWindow {
  if (Number.isNaN(start.getTime()) || start.getTime() % hourMs !== 0)
    throw new RangeError(`a billing window starts on a UTC hour, not at ${String(start)}`);
  return { start, end: new Date(start.getTime() + hourMs) };
}

/** The window a run started at `at` bills: the last hour that ended at least `watermarkMinutes` before. */
export function windowBilledAt(at: Date, watermarkMinutes: number): BillingWindow {
  const closed = at.getTime() - watermarkMinutes * 60_000;
  return billingWindow(new Date(Math.floor(closed / hourMs) * hourMs - hourMs));
}

/** Whether a run may bill the window at `now`: its hour ended at least the watermark ago. */
export function isWindowClosed(window: BillingWindow, now: Date, watermarkMinutes: number): boolean {
  return window.end.getTime() + watermarkMinutes * 60_000 <= now.getTime();
}

/** Every window from `from` to `to`, both included (both on UTC hours). */
export function windowsBetween(from: Date, to: Date): BillingWindow[] {
  const windows: BillingWindow[] = [];
  for (let t = billingWindow(from).start.getTime(); t <= billingWindow(to).start.getTime(); t += hourMs)
    windows.push(billingWindow(new Date(t)));
  return windows;
}

/** The window's name in ids: its start hour in UTC, e.g. 2026-11-26T13:00Z. */
export function windowName(start: Date): string {
  return `${start.toISOString().slice(0, 13)}:00Z`;
}

/** Parses a window name (or any ISO time on a UTC hour, e.g. 2026-11-26T13:00:00.000Z). */
export function parseWindowStart(text: string): Date {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}):00(?::00(?:\.000)?)?Z$/.exec(text);
  if (!match) throw new RangeError(`"${text}" is not a UTC hour such as 2026-11-26T13:00Z`);
  return billingWindow(new Date(`${match[1]}:00:00.000Z`)).start;
}

/**
 * The meter event's identifier: one per org, meter and window, so Stripe drops a second event for
 * the same report (at most 36 + 1 + 12 + 1 + 17 = 67 characters; Stripe allows 100).
 */
export function meterEventIdentifier(orgId: string, meter: BillingMeter, windowStart: Date): string {
  return `${orgId}:${meter}:${windowName(windowStart)}`;
}

/** The meter event's timestamp (unix seconds): the window's last second, so Stripe books it in that hour. */
export function meterEventTimestamp(window: BillingWindow): number {
  return Math.floor(window.end.getTime() / 1000) - 1;
}

/** The quota thresholds (percent of the plan's included tokens) a notice goes out at, once per period. */
export const quotaThresholds = [80, 100] as const;
export type QuotaThreshold = (typeof quotaThresholds)[number];

/** The thresholds `tokens` has reached of `included`. */
export function reachedThresholds(tokens: number, included: number): QuotaThreshold[] {
  return quotaThresholds.filter((t) => included > 0 && tokens * 100 >= included * t);
}

/** The billing period a window counts against: the subscription's, else the window's UTC month. */
export function periodStartFor(windowStart: Date, currentPeriodStart: Date | null): Date {
  if (currentPeriodStart && currentPeriodStart.getTime() <= windowStart.getTime()) return currentPeriodStart;
  return new Date(Date.UTC(windowStart.getUTCFullYear(), windowStart.getUTCMonth(), 1));
}
