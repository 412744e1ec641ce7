// The failed-API-key budget on the gateway's hot path: a key check costs the counter (Redis in
// production) nothing until it fails, and an address over budget is refused from memory.
import { describe, expect, it } from 'vitest';
import {
  AuthThrottle,
  keyCounterTimeoutMs,
  MemoryAttemptCounter,
  type AttemptCounter,
} from '../../../../api/identity/auth-throttle.js';
import { RateLimitError } from '../../../../api/errors.js';

/** The in-process counter, recording every call the throttle makes to it. */
function recordingCounter(): AttemptCounter & { calls: string[] } {
  const inner = new MemoryAttemptCounter();
  const calls: string[] = [];
  return {
    calls,
    hit: (key, windowSeconds) => (calls.push(`hit ${key}`), inner.hit(key, windowSeconds)),
    peek: (key) => (calls.push(`peek ${key}`), inner.peek(key)),
    reset: (key) => (calls.push(`reset ${key}`), inner.reset(key)),
  };
}

const limits = {
  attemptsPerMinutePerAddress: 30,
  maxFailedLogins: 5,
  lockoutSeconds: 600,
  failedKeysPerMinutePerAddress: 3,
};

describe('the failed-key budget', () => {
  it('admits keys without touching the counter; only failures count', async () => {
    const counter = recordingCounter();
    const throttle = new AuthThrottle(counter, limits);
    for (let i = 0; i < 100; i++) throttle.admitKeyCheck('10.0.0.1');
    expect(counter.calls).toEqual([]);
    await throttle.keyCheckFailed('10.0.0.1');
    expect(counter.calls).toEqual(['hit key-failures:10.0.0.1']);
  });

  it('past the budget refuses the failure and then every key from the address, from memory, with a retry-after', async () => {
    const counter = recordingCounter();
    const throttle = new AuthThrottle(counter, limits);
    for (let i = 0; i < limits.failedKeysPerMinutePerAddress; i++) await throttle.keyCheckFailed('10.0.0.2');
    const over = await throttle.keyCheckFailed('10.0.0.2').catch((err: unknown) => err);
    expect(over).toBeInstanceOf(RateLimitError);
    expect((over as RateLimitError).retryAfterSeconds).toBeGreaterThan(0);
    const calls = counter.calls.length;
    let refused: unknown;
    try {
      throttle.admitKeyCheck('10.0.0.2');
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(RateLimitError);
    expect((refused as RateLimitError).retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(counter.calls).toHaveLength(calls);
    // Another address is not affected.
    expect(() => throttle.admitKeyCheck('10.0.0.3')).not.toThrow();
  });

  it('a counter that does not answer in time counts nothing and holds nobody: an error after the timeout, not a 429', async () => {
    const hung: AttemptCounter = {
      hit: () => new Promise(() => undefined),
      peek: () => new Promise(() => undefined),
      reset: () => new Promise(() => undefined),
    };
    const throttle = new AuthThrottle(hung, limits);
    const started = Date.now();
    const err = await throttle.keyCheckFailed('10.0.0.4').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(RateLimitError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(keyCounterTimeoutMs - 10);
    expect(() => throttle.admitKeyCheck('10.0.0.4')).not.toThrow();
  });
});
