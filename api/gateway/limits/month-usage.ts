// The monthly quota's ground truth when Redis lost its counter: an org's prompt and completion
// tokens of one UTC month, summed from the ledger's hourly rollups under the org's RLS scope.
// Events still in the usage stream (not yet ingested) are not in the rollups yet.
import { and, eq, gte, lt, sql } from 'drizzle-orm';
import type { Db } from '../../../db/client.js';
import { usageHourly } from '../../../db/schema/index.js';
import { withTenant } from '../../../db/tenant.js';
import type { MonthUsage } from './limiter.js';

export function monthUsageFromRollups(db: Db): MonthUsage {
  return (orgId, monthStart) =>
    withTenant(db, orgId, async (tx) => {
      const monthEnd = new Date(Date.UTC(monthStart.getUTCFullYear(), monthStart.getUTCMonth() + 1, 1));
      const [row] = await tx
        .select({
          tokens: sql<string>`coalesce(sum(${usageHourly.promptTokens} + ${usageHourly.completionTokens}), 0)`,
        })
        .from(usageHourly)
        .where(
          and(
            eq(usageHourly.orgId, orgId),
            gte(usageHourly.hour, monthStart),
            lt(usageHourly.hour, monthEnd),
          ),
        );
      return Number(row?.tokens ?? 0);
    });
}
