// Cost analysis as arithmetic: GPU-seconds per model and pool from the allocation history, their
// cost at each pool's price per hour, and each model's cost split over tenants by their share of
// its tokens in the same period. A model that served no tokens is idle: its cost is unattributed.
// GPU-seconds in a pool without a price are counted and listed, never guessed at.

/** One stretch of a deployment's allocation history: `gpus` GPUs of one pool, from start to end. */
export interface GpuInterval {
  model: string;
  pool: string;
  gpus: number;
  startedAt: Date;
  /** Null while the deployment still holds them. */
  endedAt: Date | null;
}

/** A tenant's tokens (prompt + completion) of one model in the period. */
export interface TenantTokens {
  orgId: string;
  model: string;
  tokens: number;
}

/** Price of one GPU for one hour, per pool (GPU type), in one currency. */
export type PoolPrices = Readonly<Record<string, number>>;

export interface CostPeriod {
  from: Date;
  to: Date;
  /** Open stretches end now: the part of the period still to come costs nothing yet. */
  now: Date;
}

export interface PoolCost {
  pool: string;
  pricePerHour: number | null;
  gpuSeconds: number;
  cost: number | null;
}

export interface ModelCost {
  model: string;
  gpuSeconds: number;
  /** The GPU-seconds in pools without a price (not in `cost`). */
  unpricedGpuSeconds: number;
  cost: number;
  tokens: number;
  /** The cost with no tokens to carry it (the model was idle). */
  unattributedCost: number;
}

export interface TenantModelCost {
  model: string;
  tokens: number;
  cost: number;
}

export interface TenantCost {
  orgId: string;
  tokens: number;
  cost: number;
  models: TenantModelCost[];
}

export interface CostTotals {
  gpuSeconds: number;
  unpricedGpuSeconds: number;
  cost: number;
  attributedCost: number;
  unattributedCost: number;
  tokens: number;
}

export interface CostBreakdown {
  pools: PoolCost[];
  /** Pools that held GPUs in the period but have no price. */
  unpricedPools: string[];
  models: ModelCost[];
  tenants: TenantCost[];
  totals: CostTotals;
}

/** The seconds of an interval that fall in the period (up to now). */
export function overlapSeconds(interval: GpuInterval, period: CostPeriod): number {
  const end = Math.min((interval.endedAt ?? period.now).getTime(), period.to.getTime(), period.now.getTime());
  const start = Math.max(interval.startedAt.getTime(), period.from.getTime());
  return Math.max(0, end - start) / 1000;
}

/** Amounts to a millionth of the currency, GPU-seconds to a millisecond. */
const money = (amount: number) => Math.round(amount * 1e6) / 1e6;
const seconds = (value: number) => Math.round(value * 1e3) / 1e3;

const sum = (values: number[]) => values.reduce((total, v) => total + v, 0);
const add = <K>(map: Map<K, number>, key: K, amount: number) => map.set(key, (map.get(key) ?? 0) + amount);
const byName =
  <T>(key: (item: T) => string) =>
  (a: T, b: T) =>
    key(a).localeCompare(key(b));

export function costBreakdown(input: {
  period: CostPeriod;
  prices: PoolPrices;
  intervals: readonly GpuInterval[];
  tokens: readonly TenantTokens[];
}): CostBreakdown {
  const priceOf = (pool: string) => (Object.hasOwn(input.prices, pool) ? input.prices[pool]! : null);
  const poolSeconds = new Map<string, number>();
  const modelSeconds = new Map<string, number>();
  const modelUnpriced = new Map<string, number>();
  const modelCost = new Map<string, number>();
  for (const interval of input.intervals) {
    const gpuSeconds = interval.gpus * overlapSeconds(interval, input.period);
    if (gpuSeconds === 0) continue;
    add(poolSeconds, interval.pool, gpuSeconds);
    add(modelSeconds, interval.model, gpuSeconds);
    const price = priceOf(interval.pool);
    if (price === null) add(modelUnpriced, interval.model, gpuSeconds);
    else add(modelCost, interval.model, (gpuSeconds * price) / 3600);
  }

  const modelTokens = new Map<string, number>();
  for (const t of input.tokens) add(modelTokens, t.model, t.tokens);

  const pools = [...poolSeconds]
    .map(([pool, gpuSeconds]): PoolCost => {
      const price = priceOf(pool);
      return {
        pool,
        pricePerHour: price,
        gpuSeconds: seconds(gpuSeconds),
        cost: price === null ? null : money((gpuSeconds * price) / 3600),
      };
    })
    .sort(byName((p) => p.pool));

  const modelNames = new Set([...modelSeconds.keys(), ...modelTokens.keys()]);
  const models = [...modelNames].map((model): ModelCost => {
    const cost = modelCost.get(model) ?? 0;
    const tokens = modelTokens.get(model) ?? 0;
    return {
      model,
      gpuSeconds: seconds(modelSeconds.get(model) ?? 0),
      unpricedGpuSeconds: seconds(modelUnpriced.get(model) ?? 0),
      cost: money(cost),
      tokens,
      unattributedCost: tokens === 0 ? money(cost) : 0,
    };
  });

  const tenantModels = new Map<string, TenantModelCost[]>();
  for (const t of input.tokens) {
    if (t.tokens === 0) continue;
    const share = t.tokens / modelTokens.get(t.model)!;
    const list = tenantModels.get(t.orgId) ?? [];
    list.push({ model: t.model, tokens: t.tokens, cost: money((modelCost.get(t.model) ?? 0) * share) });
    tenantModels.set(t.orgId, list);
  }
  const tenants = [...tenantModels].map(([orgId, list]): TenantCost => ({
    orgId,
    tokens: sum(list.map((m) => m.tokens)),
    cost: money(sum(list.map((m) => m.cost))),
    models: list.sort(byName((m) => m.model)),
  }));

  const cost = sum([...modelCost.values()]);
  const unattributedCost = sum(models.map((m) => m.unattributedCost));
  return {
    pools,
    unpricedPools: pools.filter((p) => p.pricePerHour === null).map((p) => p.pool),
    models: models.sort(byName((m) => m.model)),
    tenants: tenants.sort((a, b) => b.cost - a.cost || a.orgId.localeCompare(b.orgId)),
    totals: {
      gpuSeconds: seconds(sum([...poolSeconds.values()])),
      unpricedGpuSeconds: seconds(sum([...modelUnpriced.values()])),
      cost: money(cost),
      attributedCost: money(cost - unattributedCost),
      unattributedCost: money(unattributedCost),
      tokens: sum([...modelTokens.values()]),
    },
  };
}
