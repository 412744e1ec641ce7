// A tenant's billing as the API shows it: the billing account (written by the subscription
// workflow's activities), its member count (seats may not fall below it), and this period's tokens
// against the plan's included tokens, read from the hourly rollups.
import { and, count, eq, gte, sql } from 'drizzle-orm';
import { enforcedStatus } from '../../core/billing.js';
import { plan, type PlanName } from '../../core/plans.js';
import type { Db } from '../../db/client.js';
import { billingAccounts, memberships, organizations, usageHourly } from '../../db/schema/index.js';
import { withTenant } from '../../db/tenant.js';
import { AppError } from '../errors.js';

export type BillingAccountRow = typeof billingAccounts.$inferSelect;

export interface BillingAccountView {
  orgId: string;
  plan: PlanName;
  status: BillingAccountRow['status'];
  seats: number;
  trialEndsAt: string | null;
  currentPeriodStart: string | null;
  currentPeriodEnd: string | null;
  cancelAtPeriodEnd: boolean;
}

const iso = (date: Date | null) => date?.toISOString() ?? null;

/** The org's billing account; 404 when onboarding has not created it (yet). */
export async function readBillingAccount(db: Db, orgId: string): Promise<BillingAccountRow> {
  const [account] = await withTenant(db, orgId, (tx) =>
    tx.select().from(billingAccounts).where(eq(billingAccounts.orgId, orgId)),
  );
  if (!account)
    throw new AppError(
      'NOT_FOUND',
      'This organization has no billing account yet: onboarding creates it with the Stripe customer.',
    );
  return account;
}

export function billingAccountView(account: BillingAccountRow): BillingAccountView {
  return {
    orgId: account.orgId,
    plan: account.plan,
    status: enforcedStatus(account.status, account.operatorSuspendedAt !== null),
    seats: account.seats,
    trialEndsAt: iso(account.trialEndsAt),
    currentPeriodStart: iso(account.currentPeriodStart),
    currentPeriodEnd: iso(account.currentPeriodEnd),
    cancelAtPeriodEnd: account.cancelAtPeriodEnd,
  };
}

export async function memberCount(db: Db, orgId: string): Promise<number> {
  const [row] = await withTenant(db, orgId, (tx) =>
    tx.select({ n: count() }).from(memberships).where(eq(memberships.orgId, orgId)),
  );
  return row?.n ?? 0;
}

export interface PeriodUsage {
  orgId: string;
  plan: PlanName;
  periodStart: string;
  periodEnd: string;
  usedTokens: number;
  includedTokens: number;
  percent: number;
  overageTokens: number;
  overage: 'bill' | 'block';
}

/** The current billing period: the subscription's, while it holds now, else the UTC calendar month. */
function currentPeriod(account: { start: Date | null; end: Date | null } | undefined, now: Date) {
  if (account?.start && account.start <= now && (!account.end || account.end > now)) {
    const end = account.end ?? new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
    return { start: account.start, end };
  }
  return {
    start: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)),
    end: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)),
  };
}

const hourMs = 3_600_000;
const startOfHour = (date: Date) => new Date(Math.floor(date.getTime() / hourMs) * hourMs);

/** This period's metered tokens against the plan's included tokens. */
export async function periodUsage(db: Db, orgId: string, now = new Date()): Promise<PeriodUsage> {
  const { org, period, used } = await withTenant(db, orgId, async (tx) => {
    const [org] = await tx
      .select({
        plan: organizations.plan,
        start: billingAccounts.currentPeriodStart,
        end: billingAccounts.currentPeriodEnd,
      })
      .from(organizations)
      .leftJoin(billingAccounts, eq(billingAccounts.orgId, organizations.id))
      .where(eq(organizations.id, orgId));
    if (!org) throw new AppError('NOT_FOUND', 'The organization does not exist.');
    const period = currentPeriod(org, now);
    // Rollup buckets are whole hours: the one holding the period's start counts from its start.
    const [row] = await tx
      .select({
        tokens: sql<string>`coalesce(sum(${usageHourly.promptTokens} + ${usageHourly.completionTokens}), 0)`,
      })
      .from(usageHourly)
      .where(and(eq(usageHourly.orgId, orgId), gte(usageHourly.hour, startOfHour(period.start))));
    return { org, period, used: Number(row?.tokens ?? 0) };
  });
  const { includedTokens, overage } = plan(org.plan);
  return {
    orgId,
    plan: org.plan,
    periodStart: period.start.toISOString(),
    periodEnd: period.end.toISOString(),
    usedTokens: used,
    includedTokens,
    percent: includedTokens > 0 ? Math.round((used / includedTokens) * 1000) / 10 : 0,
    overageTokens: Math.max(0, used - includedTokens),
    overage,
  };
}
