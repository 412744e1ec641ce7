// What the two admission backends share: their input, their answer and the names of the counters.
// Redis (admission.lua, settle.lua) and this process (memory-admissions.ts) implement the same
// semantics; limiter.ts chooses between them.

/** The effective limits of one admission: the key's are already min(key's own, plan's). */
export interface Caps {
  concurrency: number;
  keyRequests: number;
  keyTokens: number;
  orgRequests: number;
  orgTokens: number;
  monthly: number;
}

export interface AdmissionInput {
  id: string;
  orgId: string;
  keyId: string;
  /** Whole tokens reserved on the token buckets and the monthly counter. */
  reserve: number;
  caps: Caps;
  /** The UTC month the reservation counts in ("2026-11") and the ms until it ends. */
  month: string;
  msToMonthEnd: number;
  /** How long an unsettled admission holds its in-flight slot. */
  inflightTtlMs: number;
  /**
   * The month's tokens so far, to start the monthly counter with when Redis has none; absent, a
   * missing counter answers `monthUnknown` instead. In memory, unused.
   */
  monthSeed?: number | undefined;
}

export interface SettleInput {
  id: string;
  orgId: string;
  keyId: string;
  month: string;
  /** Reserved minus used: given back to the token buckets and the month (negative takes more). */
  refund: number;
  keyTokens: number;
  orgTokens: number;
}

/** 0 admitted; otherwise the first limit that refused, in the order they are checked. */
export const outcomes = {
  admitted: 0,
  concurrency: 1,
  keyRequests: 2,
  keyTokens: 3,
  orgRequests: 4,
  orgTokens: 5,
  monthly: 6,
  /** Redis only: the monthly counter is missing and no seed came with the admission; nothing reserved. */
  monthUnknown: 7,
} as const;
export type Outcome = (typeof outcomes)[keyof typeof outcomes];

export interface BucketState {
  limit: number;
  /** Whole units left (after this admission, when admitted). */
  remaining: number;
  /** Until the bucket is full again. */
  resetMs: number;
}

export interface Decision {
  outcome: Outcome;
  /** When a retry can succeed (0 when admitted). */
  retryMs: number;
  /** The key's or the org's bucket, whichever has less left. */
  requests: BucketState;
  tokens: BucketState;
  /** Tokens counted in the month (including this reservation when admitted). */
  monthUsed: number;
}

/** Counter names; `{orgId}` is a Redis Cluster hash tag, so one org's counters share a slot. */
export function limitKeys(orgId: string, keyId: string, month: string) {
  const org = `vl:lim:{${orgId}}`;
  return {
    inflight: `${org}:inflight`,
    keyRequests: `${org}:key:${keyId}:rpm`,
    keyTokens: `${org}:key:${keyId}:tpm`,
    orgRequests: `${org}:rpm`,
    orgTokens: `${org}:tpm`,
    monthly: `${org}:month:${month}`,
  };
}

/** Settled or not, an in-flight entry is forgotten this long after it expired. */
export const inflightMemoryMs = 3_600_000;
