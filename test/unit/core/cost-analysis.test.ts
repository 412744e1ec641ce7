import { describe, expect, it } from 'vitest';
import { costBreakdown, overlapSeconds, type GpuInterval } from '../../../core/cost-analysis.js';

const at = (iso: string) => new Date(`2026-11-26T${iso}Z`);
const period = { from: at('10:00:00'), to: at('12:00:00'), now: at('13:00:00') };
const interval = (over: Partial<GpuInterval>): GpuInterval => ({
  model: 'chat',
  pool: 'H100',
  gpus: 1,
  startedAt: at('10:00:00'),
  endedAt: at('11:00:00'),
  ...over,
});

describe('overlapSeconds', () => {
  it('counts only the part of a stretch inside the period', () => {
    expect(overlapSeconds(interval({ startedAt: at('09:00:00'), endedAt: at('10:30:00') }), period)).toBe(
      1800,
    );
    expect(overlapSeconds(interval({ startedAt: at('11:45:00'), endedAt: at('12:30:00') }), period)).toBe(
      900,
    );
    expect(overlapSeconds(interval({ startedAt: at('08:00:00'), endedAt: at('09:00:00') }), period)).toBe(0);
  });

  it('ends an open stretch now, not at the end of a period still under way', () => {
    expect(overlapSeconds(interval({ startedAt: at('11:00:00'), endedAt: null }), period)).toBe(3600);
    const running = { ...period, now: at('11:30:00') };
    expect(overlapSeconds(interval({ startedAt: at('11:00:00'), endedAt: null }), running)).toBe(1800);
  });
});

describe('costBreakdown', () => {
  const prices = { H100: 2.5, L4: 0.8 };

  it('prices GPU-seconds per pool and model and splits a model over tenants by tokens', () => {
    const breakdown = costBreakdown({
      period,
      prices,
      intervals: [
        // 4 GPUs for 30 minutes, then 8 for 15 minutes: 7,200 + 7,200 GPU-seconds = 4 GPU-hours.
        interval({ gpus: 4, startedAt: at('10:00:00'), endedAt: at('10:30:00') }),
        interval({ gpus: 8, startedAt: at('10:30:00'), endedAt: at('10:45:00') }),
        interval({ model: 'embed', pool: 'L4', gpus: 1, startedAt: at('10:00:00'), endedAt: at('12:00:00') }),
      ],
      tokens: [
        { orgId: 'org-a', model: 'chat', tokens: 3_000 },
        { orgId: 'org-b', model: 'chat', tokens: 1_000 },
        { orgId: 'org-b', model: 'embed', tokens: 500 },
      ],
    });
    expect(breakdown.pools).toEqual([
      { pool: 'H100', pricePerHour: 2.5, gpuSeconds: 14_400, cost: 10 },
      { pool: 'L4', pricePerHour: 0.8, gpuSeconds: 7_200, cost: 1.6 },
    ]);
    expect(breakdown.models).toEqual([
      {
        model: 'chat',
        gpuSeconds: 14_400,
        unpricedGpuSeconds: 0,
        cost: 10,
        tokens: 4_000,
        unattributedCost: 0,
      },
      {
        model: 'embed',
        gpuSeconds: 7_200,
        unpricedGpuSeconds: 0,
        cost: 1.6,
        tokens: 500,
        unattributedCost: 0,
      },
    ]);
    expect(breakdown.tenants).toEqual([
      { orgId: 'org-a', tokens: 3_000, cost: 7.5, models: [{ model: 'chat', tokens: 3_000, cost: 7.5 }] },
      {
        orgId: 'org-b',
        tokens: 1_500,
        cost: 4.1,
        models: [
          { model: 'chat', tokens: 1_000, cost: 2.5 },
          { model: 'embed', tokens: 500, cost: 1.6 },
        ],
      },
    ]);
    expect(breakdown.totals).toEqual({
      gpuSeconds: 21_600,
      unpricedGpuSeconds: 0,
      cost: 11.6,
      attributedCost: 11.6,
      unattributedCost: 0,
      tokens: 4_500,
    });
  });

  it('reports the cost of a model that served no tokens as unattributed', () => {
    const breakdown = costBreakdown({
      period,
      prices,
      intervals: [interval({ model: 'idle', gpus: 2 })],
      tokens: [{ orgId: 'org-a', model: 'chat', tokens: 100 }],
    });
    expect(breakdown.models).toEqual([
      { model: 'chat', gpuSeconds: 0, unpricedGpuSeconds: 0, cost: 0, tokens: 100, unattributedCost: 0 },
      { model: 'idle', gpuSeconds: 7_200, unpricedGpuSeconds: 0, cost: 5, tokens: 0, unattributedCost: 5 },
    ]);
    expect(breakdown.tenants).toEqual([
      { orgId: 'org-a', tokens: 100, cost: 0, models: [{ model: 'chat', tokens: 100, cost: 0 }] },
    ]);
    expect(breakdown.totals).toMatchObject({ cost: 5, attributedCost: 0, unattributedCost: 5 });
  });

  it('counts GPU-seconds in a pool without a price, lists the pool and leaves its cost out', () => {
    const breakdown = costBreakdown({
      period,
      prices,
      intervals: [interval({ gpus: 1 }), interval({ pool: 'A100', gpus: 2 })],
      tokens: [{ orgId: 'org-a', model: 'chat', tokens: 10 }],
    });
    expect(breakdown.pools).toEqual([
      { pool: 'A100', pricePerHour: null, gpuSeconds: 7_200, cost: null },
      { pool: 'H100', pricePerHour: 2.5, gpuSeconds: 3_600, cost: 2.5 },
    ]);
    expect(breakdown.unpricedPools).toEqual(['A100']);
    expect(breakdown.models[0]).toMatchObject({ gpuSeconds: 10_800, unpricedGpuSeconds: 7_200, cost: 2.5 });
    expect(breakdown.totals).toMatchObject({ gpuSeconds: 10_800, unpricedGpuSeconds: 7_200, cost: 2.5 });
  });

  it('a price of zero is a price, not a missing one', () => {
    const breakdown = costBreakdown({ period, prices: { H100: 0 }, intervals: [interval({})], tokens: [] });
    expect(breakdown.pools).toEqual([{ pool: 'H100', pricePerHour: 0, gpuSeconds: 3_600, cost: 0 }]);
    expect(breakdown.unpricedPools).toEqual([]);
  });

  it('splits to the millionth without losing the total', () => {
    const breakdown = costBreakdown({
      period,
      prices: { H100: 1 },
      intervals: [interval({})],
      tokens: ['a', 'b', 'c'].map((orgId) => ({ orgId, model: 'chat', tokens: 1 })),
    });
    expect(breakdown.tenants.map((t) => t.cost)).toEqual([0.333333, 0.333333, 0.333333]);
    expect(breakdown.totals.cost).toBe(1);
  });
});
