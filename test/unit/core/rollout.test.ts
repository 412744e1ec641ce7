import { describe, expect, it } from 'vitest';
import {
  defaultRolloutPlan,
  evaluateGates,
  rolloutOptionProblems,
  rolloutPlan,
  splitSettleSeconds,
  stepWeights,
  type HealthSample,
} from '../../../core/rollout.js';

const gates = defaultRolloutPlan.gates;
const sample = (requests: number, errors = 0, ttftP95Ms: number | null = 100): HealthSample => ({
  requests,
  errors,
  ttftSamples: ttftP95Ms === null ? 0 : requests,
  ttftP95Ms,
});
const held = (heldSeconds: number) => ({ heldSeconds, holdSeconds: 300, maxHoldSeconds: 3600 });

describe('rollout plan', () => {
  it('defaults to 1 → 10 → 50 → 100 % held 5 minutes each', () => {
    const plan = rolloutPlan({});
    expect(plan.steps.map((s) => s.percent)).toEqual([1, 10, 50, 100]);
    expect(plan.steps.every((s) => s.holdSeconds === 300 && !s.requireApproval)).toBe(true);
    expect(plan.gates).toEqual({
      minRequests: 20,
      maxErrorRatioIncrease: 0.02,
      maxTtftP95Ratio: 1.5,
      ttftP95SlackMs: 100,
    });
  });

  it('keeps what the operator set and fills in the rest', () => {
    const plan = rolloutPlan({
      steps: [
        { percent: 5, requireApproval: true },
        { percent: 100, holdSeconds: 0 },
      ],
      gates: { minRequests: 3 },
    });
    expect(plan.steps).toEqual([
      { percent: 5, holdSeconds: 300, requireApproval: true },
      { percent: 100, holdSeconds: 0, requireApproval: false },
    ]);
    expect(plan.gates.minRequests).toBe(3);
    expect(plan.gates.maxTtftP95Ratio).toBe(1.5);
  });

  it('names every problem: steps not increasing, not ending at 100, holds past the longest wait', () => {
    expect(rolloutOptionProblems({ steps: [{ percent: 50 }, { percent: 10 }] })).toEqual([
      'steps[1].percent must be greater than the step before (50).',
      'the last step must be 100 percent.',
    ]);
    expect(
      rolloutOptionProblems({ steps: [{ percent: 100, holdSeconds: 600 }], maxHoldSeconds: 300 }),
    ).toEqual(['maxHoldSeconds must be at least the longest step hold.']);
    expect(rolloutOptionProblems({ steps: [], gates: { maxErrorRatioIncrease: 2 } })).toEqual([
      'steps must have 1 to 20 entries.',
      'gates.maxErrorRatioIncrease must be from 0 to 1.',
    ]);
    expect(rolloutOptionProblems({})).toEqual([]);
  });
});

describe('step weights', () => {
  it('gives the new version its percent of 1000 and the current ones the rest, in proportion', () => {
    expect(stepWeights(1, [{ id: 'a', weight: 1000 }])).toEqual({
      canary: 10,
      current: [{ id: 'a', weight: 990 }],
    });
    expect(
      stepWeights(10, [
        { id: 'a', weight: 2 },
        { id: 'b', weight: 1 },
      ]),
    ).toEqual({
      canary: 100,
      current: [
        { id: 'a', weight: 600 },
        { id: 'b', weight: 300 },
      ],
    });
    const odd = stepWeights(50, [
      { id: 'a', weight: 1 },
      { id: 'b', weight: 1 },
      { id: 'c', weight: 1 },
    ]);
    expect(odd.canary + odd.current.reduce((sum, d) => sum + d.weight, 0)).toBe(1000);
  });

  it('takes everything at 100 %, or when nothing serves yet', () => {
    expect(stepWeights(100, [{ id: 'a', weight: 500 }])).toEqual({
      canary: 1000,
      current: [{ id: 'a', weight: 0 }],
    });
    expect(stepWeights(10, [])).toEqual({ canary: 1000, current: [] });
  });
});

describe('gates', () => {
  it('give no verdict before the minimum of requests, and fail for lack of traffic once the longest hold is spent', () => {
    expect(evaluateGates(gates, sample(19), sample(500), held(300)).verdict).toBe('wait');
    const starved = evaluateGates(gates, sample(19), sample(500), held(3600));
    expect(starved).toMatchObject({ verdict: 'fail', reason: expect.stringMatching(/^not enough traffic/) });
  });

  it('fail on an error ratio above the current version’s plus the margin, even before the hold ends', () => {
    expect(evaluateGates(gates, sample(40, 1), sample(1000, 10), held(10)).verdict).toBe('wait');
    const failing = evaluateGates(gates, sample(40, 2), sample(1000, 10), held(10));
    expect(failing).toMatchObject({
      verdict: 'fail',
      reason: expect.stringMatching(/^error ratio 5\.0% \(2\/40\) above 3\.0%/),
    });
  });

  it('fail on a TTFT p95 beyond the current version’s times the ratio plus the slack', () => {
    expect(evaluateGates(gates, sample(40, 0, 250), sample(1000, 0, 100), held(300)).verdict).toBe('pass');
    expect(evaluateGates(gates, sample(40, 0, 251), sample(1000, 0, 100), held(300))).toMatchObject({
      verdict: 'fail',
      reason: expect.stringMatching(/^TTFT p95 251 ms above 250 ms/),
    });
    // Nothing streamed: no TTFT to compare.
    expect(evaluateGates(gates, sample(40, 0, null), sample(1000, 0, 100), held(300)).verdict).toBe('pass');
  });

  it('pass once held long enough with enough requests', () => {
    expect(evaluateGates(gates, sample(40), sample(1000), held(299)).verdict).toBe('wait');
    expect(evaluateGates(gates, sample(40), sample(1000), held(300)).verdict).toBe('pass');
  });

  it('fail a version that answers far less than its weight (the gateway routed around it), not one a little short', () => {
    const time = held(10);
    // 20 %: 200 requests answered in the step, 40 expected of the new version.
    expect(
      evaluateGates(gates, sample(0), sample(1000), time, { percent: 20, othersInStep: 200 }),
    ).toMatchObject({
      verdict: 'fail',
      reason: expect.stringMatching(/^answered 0 of 200 requests where 20 % is 40/),
    });
    expect(
      evaluateGates(gates, sample(30), sample(1000), time, { percent: 20, othersInStep: 170 }).verdict,
    ).toBe('wait');
    // Too few requests to tell chance from failure.
    expect(
      evaluateGates(gates, sample(0), sample(1000), time, { percent: 1, othersInStep: 200 }).verdict,
    ).toBe('wait');
  });

  it("judge the split only once it has settled: a step's first seconds still carry the old one", () => {
    // 3 s into a 50 % step, 16 of 78 answered: requests routed and begun at the previous 10 %.
    const early = { percent: 50, othersInStep: 62 };
    expect(evaluateGates(gates, sample(16), sample(1000), held(3), early).verdict).toBe('wait');
    expect(evaluateGates(gates, sample(16), sample(1000), held(splitSettleSeconds), early).verdict).toBe(
      'fail',
    );
  });
});
