// The operators' cost analysis over a period: the GPU allocation history and every tenant's tokens
// per model (the hourly rollups, read across tenants through the billing run's read-only policies,
// 0013 and 0021 migrations), priced and split by core/cost-analysis.ts, each tenant named.
import { sql } from 'drizzle-orm';
import {
  costBreakdown,
  type CostBreakdown,
  type PoolPrices,
  type TenantCost,
  type TenantTokens,
} from '../core/cost-analysis.js';
import type { Db } from './client.js';
import { gpuIntervals } from './gpu-allocations.js';
import { withBillingRun } from './tenant.js';

export interface CostQuery {
  /** On UTC hours, as the rollups are. */
  from: Date;
  to: Date;
  now: Date;
  prices: PoolPrices;
  currency: string;
}

export interface CostReport extends Omit<CostBreakdown, 'tenants'> {
  from: string;
  to: string;
  currency: string;
  tenants: (TenantCost & { name: string })[];
}

interface TokenRow extends Record<string, unknown> {
  org_id: string;
  name: string;
  model: string;
  tokens: string;
}

export async function costAnalysis(db: Db, query: CostQuery): Promise<CostReport> {
  const { from, to } = query;
  const { intervals, tokenRows } = await withBillingRun(db, async (tx) => ({
    intervals: await gpuIntervals(tx, from, to),
    tokenRows: (
      await tx.execute<TokenRow>(sql`
        SELECT u.org_id, o.name, u.model, (sum(u.prompt_tokens) + sum(u.completion_tokens))::text AS tokens
        FROM usage_hourly u JOIN organizations o ON o.id = u.org_id
        WHERE u.hour >= ${from.toISOString()} AND u.hour < ${to.toISOString()}
        GROUP BY 1, 2, 3`)
    ).rows,
  }));
  const tokens = tokenRows.map((r): TenantTokens => ({
    orgId: r.org_id,
    model: r.model,
    tokens: Number(r.tokens),
  }));
  const names = new Map(tokenRows.map((r) => [r.org_id, r.name]));
  const breakdown = costBreakdown({ period: query, prices: query.prices, intervals, tokens });
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    currency: query.currency,
    ...breakdown,
    tenants: breakdown.tenants.map((t) => ({ ...t, name: names.get(t.orgId)! })),
  };
}
