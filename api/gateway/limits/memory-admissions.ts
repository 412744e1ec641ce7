// Admission in this process: the semantics of admission.lua and settle.lua, for a single instance
// without Redis, and for each replica on its own while Redis is down (fail-open).
import {
  inflightMemoryMs,
  limitKeys,
  outcomes,
  type AdmissionInput,
  type BucketState,
  type Decision,
  type Outcome,
  type SettleInput,
} from './admissions.js';

interface Bucket {
  level: number;
  at: number;
}

// Above this many entries, the maps drop what no longer matters (full buckets, past months).
const sweepAbove = 10_000;

const msToFill = (cap: number, level: number, wanted: number) =>
  Math.max(0, Math.ceil(((wanted - level) * 60_000) / cap));

export class MemoryAdmissions {
  private readonly buckets = new Map<string, Bucket>();
  /** In-flight set → reservation id → when its slot expires; in admission (so expiry) order. */
  private readonly inflight = new Map<string, Map<string, number>>();
  private readonly months = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  admit(input: AdmissionInput): Decision {
    const now = this.now();
    const keys = limitKeys(input.orgId, input.keyId, input.month);
    const { caps, reserve } = input;
    const bucketKeys = [keys.keyRequests, keys.keyTokens, keys.orgRequests, keys.orgTokens];
    const bucketCaps = [caps.keyRequests, caps.keyTokens, caps.orgRequests, caps.orgTokens];
    const costs = [1, reserve, 1, reserve];
    const levels = bucketKeys.map((key, i) => this.level(key, bucketCaps[i]!, now));
    const state = (i: number): BucketState => ({
      limit: bucketCaps[i]!,
      remaining: Math.max(0, Math.floor(levels[i]!)),
      resetMs: msToFill(bucketCaps[i]!, levels[i]!, bucketCaps[i]!),
    });
    const report = (outcome: Outcome, retryMs: number, monthUsed: number): Decision => ({
      outcome,
      retryMs,
      requests: state(levels[0]! <= levels[2]! ? 0 : 2),
      tokens: state(levels[1]! <= levels[3]! ? 1 : 3),
      monthUsed,
    });

    const running = this.runningSlots(keys.inflight, now);
    if (running.live >= caps.concurrency) return report(outcomes.concurrency, 1000, 0);
    for (let i = 0; i < 4; i += 1) {
      if (levels[i]! < costs[i]!) {
        const wanted = Math.min(costs[i]!, bucketCaps[i]!);
        return report((i + 2) as Outcome, msToFill(bucketCaps[i]!, levels[i]!, wanted), 0);
      }
    }
    const monthUsed = this.months.get(keys.monthly) ?? 0;
    if (monthUsed + reserve > caps.monthly) return report(outcomes.monthly, input.msToMonthEnd, monthUsed);

    for (let i = 0; i < 4; i += 1) {
      levels[i] = levels[i]! - costs[i]!;
      this.buckets.set(bucketKeys[i]!, { level: levels[i]!, at: now });
    }
    running.slots.set(input.id, now + input.inflightTtlMs);
    this.inflight.set(keys.inflight, running.slots);
    this.months.set(keys.monthly, monthUsed + reserve);
    this.sweep(now, input.month);
    return report(outcomes.admitted, 0, monthUsed + reserve);
  }

  /** Whether the org's month has a counter in this process. */
  knowsMonth(orgId: string, month: string): boolean {
    return this.months.has(limitKeys(orgId, '', month).monthly);
  }

  /** Starts the org's month at `used` (from the ledger's rollups) unless it has a counter already. */
  seedMonth(orgId: string, month: string, used: number): void {
    const key = limitKeys(orgId, '', month).monthly;
    if (!this.months.has(key)) this.months.set(key, used);
  }

  /** Forgets every monthly counter (Redis holds them again; the next outage starts them afresh). */
  forgetMonths(): void {
    this.months.clear();
  }

  /** True when applied; false when the admission was settled before or never made here. */
  settle(input: SettleInput): boolean {
    const keys = limitKeys(input.orgId, input.keyId, input.month);
    const slots = this.inflight.get(keys.inflight);
    if (!slots?.delete(input.id)) return false;
    if (slots.size === 0) this.inflight.delete(keys.inflight);
    if (input.refund === 0) return true;
    const now = this.now();
    for (const [key, cap] of [
      [keys.keyTokens, input.keyTokens],
      [keys.orgTokens, input.orgTokens],
    ] as const) {
      this.buckets.set(key, { level: Math.min(cap, this.level(key, cap, now) + input.refund), at: now });
    }
    const used = this.months.get(keys.monthly);
    if (used !== undefined) this.months.set(keys.monthly, used - input.refund);
    return true;
  }

  private level(key: string, cap: number, now: number): number {
    const bucket = this.buckets.get(key);
    if (!bucket) return cap;
    return Math.min(cap, bucket.level + ((now - bucket.at) * cap) / 60_000);
  }

  /** The org's in-flight slots, forgetting long-expired ones, and how many still count. */
  private runningSlots(key: string, now: number): { slots: Map<string, number>; live: number } {
    const slots = this.inflight.get(key) ?? new Map<string, number>();
    let expired = 0;
    for (const [id, expiresAt] of slots) {
      if (expiresAt > now) break;
      if (expiresAt <= now - inflightMemoryMs) slots.delete(id);
      else expired += 1;
    }
    return { slots, live: slots.size - expired };
  }

  private sweep(now: number, month: string): void {
    if (this.buckets.size > sweepAbove) {
      // A bucket that has refilled is the same as no bucket. Caps are not stored, so "full" is
      // judged by time: a bucket not in debt refills completely within a minute of its last change.
      for (const [key, bucket] of this.buckets)
        if (bucket.level >= 0 && now - bucket.at >= 60_000) this.buckets.delete(key);
    }
    if (this.months.size > sweepAbove) {
      for (const key of this.months.keys()) if (!key.endsWith(`:month:${month}`)) this.months.delete(key);
    }
  }
}
