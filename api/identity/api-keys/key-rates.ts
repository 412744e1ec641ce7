// A key's request rate against its own baseline: a key that suddenly makes many times more requests
// than it usually does (a leaked key put to work, a client stuck in a loop) is reported once per
// spike. Kept per replica and in memory, on the gateway's hot path (a map lookup and some arithmetic
// per request): behind a load balancer every replica sees the same share of a key's traffic, so a
// spike shows on each replica as it does on all. A replica starts with no baselines, and a key is
// judged only after `warmupMinutes` of its history there.
//
// The rate is the last 60 s, estimated from this minute's count and the previous minute's weighted by
// how much of it the window still covers. The baseline is a moving average of requests per minute
// over about the last hour (an average of every minute so far while the key has less history).

export interface SpikeSettings {
  /** A spike is a rate above `factor` × the baseline… */
  factor: number;
  /** …and above this floor, so a quiet key's first busy minute is not one. */
  minRequestsPerMinute: number;
  warmupMinutes: number;
}

export interface Spike {
  requestsPerMinute: number;
  baselinePerMinute: number;
}

interface KeyRate {
  firstMinute: number;
  minute: number;
  count: number;
  previous: number;
  baseline: number;
  reported: boolean;
}

/** The moving average's weight of one minute: about an hour of memory. */
const minuteWeight = 1 / 60;
const maxKeys = 100_000;

export class KeyRates {
  private readonly keys = new Map<string, KeyRate>();

  constructor(private readonly settings: SpikeSettings) {}

  /** Counts one request of the key at `nowMs`; answers a spike the first time the rate crosses the threshold. */
  hit(keyId: string, nowMs: number): Spike | undefined {
    const minute = Math.floor(nowMs / 60_000);
    let rate = this.keys.get(keyId);
    if (!rate) {
      // Full: the key idle longest goes (keys move to the back once a minute, in roll).
      if (this.keys.size >= maxKeys) this.keys.delete(this.keys.keys().next().value!);
      rate = { firstMinute: minute, minute, count: 0, previous: 0, baseline: 0, reported: false };
      this.keys.set(keyId, rate);
    } else if (minute > rate.minute) {
      this.roll(rate, minute);
      this.keys.delete(keyId);
      this.keys.set(keyId, rate);
    }
    rate.count += 1;
    const windowLeft = 1 - (nowMs % 60_000) / 60_000;
    const perMinute = rate.previous * windowLeft + rate.count;
    if (rate.reported || perMinute <= this.threshold(rate)) return undefined;
    if (minute - rate.firstMinute < this.settings.warmupMinutes) return undefined;
    rate.reported = true;
    return {
      requestsPerMinute: Math.round(perMinute),
      baselinePerMinute: Math.round(rate.baseline * 100) / 100,
    };
  }

  private threshold(rate: KeyRate): number {
    return Math.max(this.settings.factor * rate.baseline, this.settings.minRequestsPerMinute);
  }

  /** Closes the key's last minute (and any idle minutes after it) into the baseline. */
  private roll(rate: KeyRate, minute: number): void {
    // A spike is reported again only after a minute back below the threshold.
    if (rate.count <= this.threshold(rate)) rate.reported = false;
    const minutesSoFar = rate.minute - rate.firstMinute + 1;
    rate.baseline += Math.max(minuteWeight, 1 / minutesSoFar) * (rate.count - rate.baseline);
    const idleMinutes = minute - rate.minute - 1;
    rate.baseline *= (1 - minuteWeight) ** idleMinutes;
    rate.previous = idleMinutes === 0 ? rate.count : 0;
    rate.count = 0;
    rate.minute = minute;
  }
}
