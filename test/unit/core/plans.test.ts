import { describe, expect, it } from 'vitest';
import { isPlanName, planLimits, planNames } from '../../../core/plans.js';

describe('plan catalog', () => {
  it('knows exactly the four plans', () => {
    expect(planNames).toEqual(['free', 'developer', 'team', 'enterprise']);
    expect(isPlanName('team')).toBe(true);
    expect(isPlanName('platinum')).toBe(false);
    expect(isPlanName(undefined)).toBe(false);
  });

  it('gives every plan positive whole limits', () => {
    for (const plan of planNames) {
      const limits = planLimits(plan);
      for (const value of [
        limits.requestsPerMinute,
        limits.tokensPerMinute,
        limits.concurrentRequests,
        limits.monthlyTokens,
        limits.maxTokensPerRequest,
      ]) {
        expect(Number.isSafeInteger(value) && value > 0, `${plan}: ${value}`).toBe(true);
      }
    }
  });

  it('lets one request of the largest size fit in a minute of tokens', () => {
    for (const plan of planNames) {
      expect(planLimits(plan).maxTokensPerRequest).toBeLessThanOrEqual(planLimits(plan).tokensPerMinute);
    }
  });

  it('never gives a higher plan less than a lower one', () => {
    const numeric = [
      'requestsPerMinute',
      'tokensPerMinute',
      'concurrentRequests',
      'monthlyTokens',
      'maxTokensPerRequest',
    ] as const;
    for (let i = 1; i < planNames.length; i += 1) {
      const lower = planLimits(planNames[i - 1]!);
      const higher = planLimits(planNames[i]!);
      for (const field of numeric) expect(higher[field]).toBeGreaterThan(lower[field]);
    }
  });

  it('starts the free plan small', () => {
    expect(planLimits('free')).toMatchObject({
      requestsPerMinute: 20,
      tokensPerMinute: 10_000,
      concurrentRequests: 2,
      monthlyTokens: 100_000,
      maxTokensPerRequest: 1_024,
      models: null,
    });
  });
});
