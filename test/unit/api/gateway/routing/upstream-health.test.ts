import { describe, expect, it } from 'vitest';
import { UpstreamHealth } from '../../../../../api/gateway/routing/upstream-health.js';

const url = 'http://replica-0:8000';

function clocked(options: ConstructorParameters<typeof UpstreamHealth>[0] = {}) {
  const clock = { now: 1_000_000 };
  const health = new UpstreamHealth({ ...options, now: () => clock.now });
  return { clock, health };
}

function failTimes(health: UpstreamHealth, times: number): void {
  for (let i = 0; i < times; i++) health.failed(url);
}

describe('UpstreamHealth', () => {
  it('ejects a URL after 3 consecutive failures, not before', () => {
    const { health } = clocked();
    failTimes(health, 2);
    expect(health.available(url)).toBe(true);
    health.failed(url);
    expect(health.available(url)).toBe(false);
    expect(health.ejected(url)).toBe(true);
  });

  it('counts consecutive failures only: a success in between starts over', () => {
    const { health } = clocked();
    failTimes(health, 2);
    health.succeeded(url);
    failTimes(health, 2);
    expect(health.available(url)).toBe(true);
  });

  it('lets exactly one probe through after the cooldown, and a successful probe closes the circuit', () => {
    const { clock, health } = clocked();
    failTimes(health, 3);
    clock.now += 4_999;
    expect(health.admit(url)).toBe('ejected');
    clock.now += 1;
    expect(health.admit(url)).toBe('probe');
    expect(health.admit(url)).toBe('ejected');
    health.succeeded(url);
    expect(health.admit(url)).toBe('healthy');
    expect(health.tracked).toBe(0);
  });

  it('re-ejects on a failed probe with a cooldown that doubles up to 60 s, and resets it after a success', () => {
    const { clock, health } = clocked();
    failTimes(health, 3);
    const cooldowns: number[] = [];
    for (let round = 0; round < 6; round++) {
      const ejectedAt = clock.now;
      while (health.admit(url) !== 'probe') clock.now += 100;
      cooldowns.push(clock.now - ejectedAt);
      health.failed(url);
    }
    expect(cooldowns).toEqual([5_000, 10_000, 20_000, 40_000, 60_000, 60_000]);

    clock.now += 60_000;
    expect(health.admit(url)).toBe('probe');
    health.succeeded(url);
    failTimes(health, 3);
    clock.now += 5_000;
    expect(health.admit(url)).toBe('probe');
  });

  it('lets another probe through when one goes unanswered past the probe timeout', () => {
    const { clock, health } = clocked({ probeTimeoutMs: 2_000 });
    failTimes(health, 3);
    clock.now += 5_000;
    expect(health.admit(url)).toBe('probe');
    clock.now += 1_999;
    expect(health.admit(url)).toBe('ejected');
    clock.now += 1;
    expect(health.admit(url)).toBe('probe');
  });

  it('ignores failures of requests sent before the ejection; a success of one closes the circuit', () => {
    const { clock, health } = clocked();
    failTimes(health, 3);
    failTimes(health, 10);
    clock.now += 5_000;
    expect(health.admit(url)).toBe('probe');
    health.succeeded(url);
    expect(health.available(url)).toBe(true);
  });

  it('keeps at most maxTracked entries, and none for URLs that only succeed', () => {
    const { health } = clocked({ maxTracked: 100 });
    for (let i = 0; i < 1_000; i++) health.succeeded(`http://ok-${i}:8000`);
    expect(health.tracked).toBe(0);
    for (let i = 0; i < 1_000; i++) health.failed(`http://bad-${i}:8000`);
    expect(health.tracked).toBe(100);
  });
});
