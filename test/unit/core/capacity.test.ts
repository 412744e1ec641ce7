import { describe, expect, it } from 'vitest';
import {
  capacitySettingsRejection,
  decide,
  defaultCapacitySettings,
  demandOf,
  retainObservations,
  type CapacityObservation,
  type CapacitySettings,
} from '../../../core/capacity.js';

const s = 1000;
const t0 = Date.parse('2026-12-06T10:00:00Z');
const settings: CapacitySettings = {
  ...defaultCapacitySettings,
  minReplicas: 1,
  maxReplicas: 6,
  targetOngoingPerReplica: 10,
  targetWaitingPerReplica: 5,
  scaleUpWindowMs: 30 * s,
  scaleDownWindowMs: 120 * s,
  scaleUpCooldownMs: 60 * s,
  scaleDownCooldownMs: 300 * s,
  coldStartMs: 90 * s,
  intervalMs: 15 * s,
};

const quiet: Omit<CapacityObservation, 'at'> = {
  replicas: 2,
  ongoing: 0,
  waiting: 0,
  kvCacheUse: 0,
  gpuUtilization: null,
  gatewayInflight: null,
};

/** A sample every 15 s over the 10 minutes before `now`, each from `fields(i)`. */
function series(
  now: number,
  fields: (i: number) => Partial<CapacityObservation>,
  count = 40,
): CapacityObservation[] {
  return Array.from({ length: count }, (_, i) => ({
    ...quiet,
    at: now - (count - 1 - i) * 15 * s,
    ...fields(i),
  }));
}

const steady = (fields: Partial<CapacityObservation>, now = t0) => series(now, () => fields);

describe('what a sample asks for', () => {
  it.each([
    ['requests held against the ongoing target', { ongoing: 30, waiting: 5 }, 3, 'ongoing'],
    ['the queue against its own target when it dominates', { ongoing: 22, waiting: 20 }, 4, 'waiting'],
    [
      'KV cache against its ceiling, scaled by the replicas',
      { ongoing: 1, kvCacheUse: 0.9 * 1.5 },
      3,
      'kv-cache',
    ],
    ['GPU utilisation against the goal', { ongoing: 1, gpuUtilization: 0.85 * 2 }, 4, 'gpu'],
    ['the gateway’s in-flight count', { ongoing: 1, gatewayInflight: 50 }, 5, 'gateway'],
  ] as const)('%s', (_, fields, replicas, signal) => {
    const demand = demandOf({ ...quiet, at: t0, ...fields }, settings);
    expect(demand?.replicas).toBeCloseTo(replicas);
    expect(demand?.signal).toBe(signal);
  });

  it('is unknown when no metric is present', () => {
    const none = { ...quiet, ongoing: null, waiting: null, kvCacheUse: null, at: t0 };
    expect(demandOf(none, settings)).toBeNull();
  });
});

describe('capacity decisions', () => {
  const long = t0 - 3_600 * s;
  it.each([
    // [case, current, lastChangeAt, observations, desired, reason]
    ['holds inside the band', 2, long, steady({ ongoing: 15 }), 2, 'within-band'],
    [
      'scales up to what the sustained demand needs',
      2,
      long,
      steady({ ongoing: 42, waiting: 12 }),
      5,
      'scale-up',
    ],
    ['scales up by at least one', 2, long, steady({ ongoing: 21 }), 3, 'scale-up'],
    ['never above max', 2, long, steady({ waiting: 500 }), 6, 'scale-up'],
    ['holds at max', 6, long, steady({ replicas: 6, waiting: 500 }), 6, 'at-max'],
    ['holds in the scale-up cooldown', 2, t0 - 30 * s, steady({ ongoing: 40 }), 2, 'cooldown'],
    [
      'waits for the last scale-up’s replicas to start',
      3,
      t0 - 80 * s,
      steady({ replicas: 2, ongoing: 40 }),
      3,
      'starting',
    ],
    [
      'scales up again once the cold start has passed without them',
      3,
      t0 - 100 * s,
      steady({ replicas: 2, ongoing: 40 }),
      4,
      'scale-up',
    ],
    ['scales down to the middle of the band', 4, long, steady({ replicas: 4, ongoing: 15 }), 2, 'scale-down'],
    ['never below min', 4, long, steady({ replicas: 4 }), 1, 'scale-down'],
    ['holds at min', 1, long, steady({ replicas: 1 }), 1, 'at-min'],
    ['holds in the scale-down cooldown', 4, t0 - 200 * s, steady({ replicas: 4 }), 4, 'cooldown'],
    ['moves into new bounds at once', 8, t0 - 1 * s, steady({}), 6, 'bounds'],
    ['leaves zero when scale-to-zero is turned off', 0, t0 - 1 * s, steady({ replicas: 0 }), 1, 'bounds'],
    ['holds without a recent sample', 2, long, steady({ ongoing: 90 }, t0 - 60 * s), 2, 'stale'],
    ['holds until the windows are covered', 2, long, series(t0, () => ({ ongoing: 90 }), 1), 2, 'warming-up'],
  ] as const)('%s', (_, current, lastChangeAt, observations, desired, reason) => {
    const decision = decide({ settings, current, lastChangeAt, observations: [...observations], now: t0 });
    expect({ desired: decision.desired, reason: decision.reason }, decision.detail).toEqual({
      desired,
      reason,
    });
  });

  it('does not scale up on a spike that the up-window does not sustain', () => {
    const spike = series(t0, (i) => ({ ongoing: i === 38 ? 200 : 15 }));
    expect(decide({ settings, current: 2, lastChangeAt: null, observations: spike, now: t0 }).reason).toBe(
      'within-band',
    );
  });

  it('does not scale down while one sample of the down-window still needs the replicas', () => {
    const dip = series(t0, (i) => ({ replicas: 4, ongoing: i === 35 ? 35 : 2 }));
    expect(decide({ settings, current: 4, lastChangeAt: null, observations: dip, now: t0 }).desired).toBe(4);
  });

  it('does not act on a window with a sample that carries no signal', () => {
    const gap = series(t0, (i) =>
      i === 39 ? { ongoing: null, waiting: null, kvCacheUse: null } : { ongoing: 90 },
    );
    expect(decide({ settings, current: 2, lastChangeAt: null, observations: gap, now: t0 }).reason).toBe(
      'warming-up',
    );
  });
});

describe('scale to zero', () => {
  const zero = { ...settings, scaleToZero: { idleMs: 300 * s } };
  const long = t0 - 3_600 * s;

  it('goes to zero after the idle time, not before', () => {
    const idleSince = (ago: number) =>
      series(t0, (i) => ({ replicas: 1, ongoing: t0 - (39 - i) * 15 * s < t0 - ago ? 3 : 0 }));
    const at = (obs: CapacityObservation[]) =>
      decide({ settings: zero, current: 1, lastChangeAt: long, observations: obs, now: t0 });
    expect(at(idleSince(200 * s))).toMatchObject({ desired: 1, reason: 'at-min' });
    expect(at(idleSince(301 * s))).toMatchObject({ desired: 0, reason: 'scale-to-zero' });
  });

  it('wakes on the first request queued at Serve, without waiting for a window or a cooldown', () => {
    const obs = steady({ replicas: 0, ongoing: null, kvCacheUse: null, waiting: 0 });
    obs.push({ ...quiet, at: t0 + 1 * s, replicas: 0, ongoing: null, kvCacheUse: null, waiting: 1 });
    const decision = decide({
      settings: zero,
      current: 0,
      lastChangeAt: t0 - 1 * s,
      observations: obs,
      now: t0 + s,
    });
    expect(decision).toMatchObject({ desired: 1, reason: 'wake' });
    expect(decision.detail).toContain('cold start about 90 s');
  });

  it('stays at zero while nothing asks', () => {
    const obs = steady({ replicas: 0, ongoing: null, kvCacheUse: null, waiting: 0 });
    expect(
      decide({ settings: zero, current: 0, lastChangeAt: long, observations: obs, now: t0 }).reason,
    ).toBe('idle-at-zero');
  });
});

describe('a noisy series', () => {
  /** A deterministic pseudo-random sequence (no flakiness): a linear congruential generator. */
  function noise(seed: number) {
    let x = seed;
    return () => {
      x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
      return x / 2 ** 31;
    };
  }

  /** Runs the rules as the loop would, applying each change, over `minutes` of 15-s samples. */
  function simulate(load: (minute: number, random: number) => number, minutes: number, seed = 7) {
    const random = noise(seed);
    let current = 2;
    let lastChangeAt: number | null = null;
    let observations: CapacityObservation[] = [];
    const changes: { at: number; to: number }[] = [];
    const samples: number[] = [];
    for (let now = t0; now < t0 + minutes * 60 * s; now += settings.intervalMs) {
      const ongoing = Math.max(0, load((now - t0) / (60 * s), random()));
      samples.push(ongoing);
      const obs = {
        ...quiet,
        at: now,
        replicas: current,
        ongoing,
        waiting: Math.max(0, ongoing - 16 * current),
      };
      observations = retainObservations([...observations, obs], settings, now);
      const d = decide({ settings, current, lastChangeAt, observations, now });
      if (d.desired !== current) {
        changes.push({ at: now, to: d.desired });
        current = d.desired;
        lastChangeAt = now;
      }
    }
    return { changes, samples };
  }

  it('does not move when demand swings ±35 % around what 2 replicas hold', () => {
    // Mean 15 ongoing; the band is (12, 20]: single samples cross both of its edges.
    const load = (_: number, r: number) => 15 * (1 + (r - 0.5) * 0.7);
    const { changes, samples } = simulate(load, 120);
    expect(samples.filter((n) => n > 20).length).toBeGreaterThan(0);
    expect(samples.filter((n) => n < 12).length).toBeGreaterThan(20);
    expect(changes).toEqual([]);
  });

  it('never reverses when demand swings ±60 %, crossing the band many times an hour', () => {
    const load = (_: number, r: number) => 15 * (1 + (r - 0.5) * 1.2);
    const { changes, samples } = simulate(load, 120);
    expect(samples.filter((n) => n > 20).length).toBeGreaterThan(50);
    // A single settled move at most (to the replicas that hold the peaks), never back and forth.
    expect(changes.length).toBeLessThanOrEqual(1);
  });

  it('follows a real rise and fall, once each way, through the same noise', () => {
    // 10 minutes at ~15, 20 minutes at ~45 (needs 5), then back to ~15.
    const level = (m: number) => (m >= 10 && m < 30 ? 45 : 15);
    const { changes } = simulate((m, r) => level(m) * (1 + (r - 0.5) * 0.4), 60);
    const ups = changes.filter((c, i) => c.to > (changes[i - 1]?.to ?? 2));
    const downs = changes.filter((c, i) => c.to < (changes[i - 1]?.to ?? 2));
    expect(ups.length).toBeGreaterThanOrEqual(1);
    expect(ups.every((c) => c.at >= t0 + 10 * 60 * s && c.at < t0 + 30 * 60 * s)).toBe(true);
    expect(downs.every((c) => c.at >= t0 + 30 * 60 * s)).toBe(true);
    expect(changes.at(-1)?.to).toBe(2);
    // Nothing oscillates: every move in the rise is up, every move after it is down.
    expect(changes.length).toBe(ups.length + downs.length);
    expect(changes.length).toBeLessThanOrEqual(4);
  });
});

describe('settings', () => {
  it('accepts the defaults', () => {
    expect(capacitySettingsRejection(defaultCapacitySettings)).toBeNull();
  });

  it.each([
    [{ minReplicas: 0 }, 'minReplicas'],
    [{ maxReplicas: 0 }, 'maxReplicas'],
    [{ scaleDownBelow: 1.2 }, 'hysteresis'],
    [{ kvCacheCeiling: 1.5 }, 'kvCacheCeiling'],
    [{ gpuUtilizationGoal: 0 }, 'gpuUtilizationGoal'],
    [{ intervalMs: 10 }, 'intervalMs'],
    [{ scaleToZero: { idleMs: 1_000 } }, 'coldStartMs'],
  ] as const)('rejects %o', (change, words) => {
    expect(capacitySettingsRejection({ ...defaultCapacitySettings, ...change })).toContain(words);
  });
});
