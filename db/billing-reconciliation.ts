// The operators' billing reconciliation: per tenant and window, the tokens metered in that hour
// (the rollups), what the window's run reported to Stripe (and how much of it arrived late, from
// earlier hours), the hour's tokens not reported yet, and reports Stripe has not accepted. Per
// tenant, the balance: every token the cursor marks reported must be in exactly one report.
// Anything that does not add up in a window whose run is due is flagged.
// Cross-tenant reads go through the read-only `app.billing_run` policies (0011, 0013 migrations).
import { sql } from 'drizzle-orm';
import { billingWindow, isWindowClosed } from '../core/billing-window.js';
import type { Db } from './client.js';
import { withBillingRun } from './tenant.js';

export interface MeterTokens {
  inputTokens: number;
  outputTokens: number;
}

export type WindowFlag = 'unreported' | 'unsent';

export interface ReconciliationWindow {
  orgId: string;
  windowStart: string;
  /** Tokens the rollups hold for this hour. */
  metered: MeterTokens;
  /** What this window's run reported (its meter events' quantities). */
  reported: MeterTokens;
  /** The part of `reported` from earlier hours: usage that arrived after its own window ran. */
  late: MeterTokens;
  /** This hour's tokens no run has reported yet (they go into the next run, flagged late). */
  unreported: MeterTokens;
  /** This window's reports that Stripe has not accepted yet. */
  unsentMeterEvents: number;
  /** Whether the window's run was due (its hour + the watermark has passed). */
  closed: boolean;
  flags: WindowFlag[];
}

export interface ReconciliationBalance {
  orgId: string;
  /** Every token the cursor marks reported, all hours. */
  cursor: MeterTokens;
  /** Every token in the tenant's reports, all windows. */
  reported: MeterTokens;
  /** cursor − reported: anything but zero means a token was reported twice or never. */
  difference: MeterTokens;
  flagged: boolean;
}

export interface Reconciliation {
  from: string;
  to: string;
  windows: ReconciliationWindow[];
  balances: ReconciliationBalance[];
  /** Windows and balances flagged. */
  flagged: number;
}

export interface ReconciliationQuery {
  /** Both on UTC hours; windows [from, to). */
  from: Date;
  to: Date;
  orgId?: string | undefined;
  /** Only the flagged windows and balances. */
  flaggedOnly?: boolean | undefined;
  now: Date;
  watermarkMinutes: number;
}

interface WindowRow extends Record<string, unknown> {
  org_id: string;
  hour: Date;
  metered_in: string;
  metered_out: string;
  cursor_in: string;
  cursor_out: string;
  reported_in: string;
  reported_out: string;
  late_in: string;
  late_out: string;
  unsent: number;
}

interface BalanceRow extends Record<string, unknown> {
  org_id: string;
  cursor_in: string;
  cursor_out: string;
  reported_in: string;
  reported_out: string;
}

const tokens = (input: string, output: string): MeterTokens => ({
  inputTokens: Number(input),
  outputTokens: Number(output),
});

const minus = (a: MeterTokens, b: MeterTokens): MeterTokens => ({
  inputTokens: a.inputTokens - b.inputTokens,
  outputTokens: a.outputTokens - b.outputTokens,
});

export async function billingReconciliation(db: Db, query: ReconciliationQuery): Promise<Reconciliation> {
  const { from, to, orgId } = query;
  const org = orgId ? sql`AND org_id = ${orgId}` : sql``;
  const { windows, balances } = await withBillingRun(db, async (tx) => {
    const windowRows = await tx.execute<WindowRow>(sql`
      WITH u AS (
        SELECT org_id, hour, sum(prompt_tokens) AS metered_in, sum(completion_tokens) AS metered_out,
          sum(reported_prompt_tokens) AS cursor_in, sum(reported_completion_tokens) AS cursor_out
        FROM usage_hourly
        WHERE hour >= ${from.toISOString()} AND hour < ${to.toISOString()} ${org}
        GROUP BY 1, 2
      ), r AS (
        SELECT org_id, window_start AS hour,
          sum(quantity) FILTER (WHERE meter = 'inputTokens') AS reported_in,
          sum(quantity) FILTER (WHERE meter = 'outputTokens') AS reported_out,
          sum(late_quantity) FILTER (WHERE meter = 'inputTokens') AS late_in,
          sum(late_quantity) FILTER (WHERE meter = 'outputTokens') AS late_out,
          count(*) FILTER (WHERE reported_at IS NULL) AS unsent
        FROM billing_reports
        WHERE window_start >= ${from.toISOString()} AND window_start < ${to.toISOString()} ${org}
        GROUP BY 1, 2
      )
      SELECT org_id, hour,
        coalesce(metered_in, 0)::text AS metered_in, coalesce(metered_out, 0)::text AS metered_out,
        coalesce(cursor_in, 0)::text AS cursor_in, coalesce(cursor_out, 0)::text AS cursor_out,
        coalesce(reported_in, 0)::text AS reported_in, coalesce(reported_out, 0)::text AS reported_out,
        coalesce(late_in, 0)::text AS late_in, coalesce(late_out, 0)::text AS late_out,
        coalesce(unsent, 0)::int AS unsent
      FROM u FULL JOIN r USING (org_id, hour)
      ORDER BY org_id, hour`);
    // The balance spans all of each tenant's hours and windows: a late token's hour and the window
    // that reported it may lie on either side of [from, to).
    const balanceRows = await tx.execute<BalanceRow>(sql`
      WITH orgs AS (
        SELECT org_id FROM usage_hourly WHERE hour >= ${from.toISOString()} AND hour < ${to.toISOString()} ${org}
        UNION
        SELECT org_id FROM billing_reports
        WHERE window_start >= ${from.toISOString()} AND window_start < ${to.toISOString()} ${org}
      ), u AS (
        SELECT org_id, sum(reported_prompt_tokens) AS cursor_in, sum(reported_completion_tokens) AS cursor_out
        FROM usage_hourly WHERE org_id IN (SELECT org_id FROM orgs) GROUP BY 1
      ), r AS (
        SELECT org_id,
          sum(quantity) FILTER (WHERE meter = 'inputTokens') AS reported_in,
          sum(quantity) FILTER (WHERE meter = 'outputTokens') AS reported_out
        FROM billing_reports WHERE org_id IN (SELECT org_id FROM orgs) GROUP BY 1
      )
      SELECT org_id,
        coalesce(cursor_in, 0)::text AS cursor_in, coalesce(cursor_out, 0)::text AS cursor_out,
        coalesce(reported_in, 0)::text AS reported_in, coalesce(reported_out, 0)::text AS reported_out
      FROM u FULL JOIN r USING (org_id)
      ORDER BY org_id`);
    return { windows: windowRows.rows, balances: balanceRows.rows };
  });

  const reconciledWindows = windows.map((row): ReconciliationWindow => {
    const metered = tokens(row.metered_in, row.metered_out);
    const cursor = tokens(row.cursor_in, row.cursor_out);
    const unreported = minus(metered, cursor);
    const start = new Date(row.hour);
    const closed = isWindowClosed(billingWindow(start), query.now, query.watermarkMinutes);
    const flags: WindowFlag[] = [];
    if (closed && (unreported.inputTokens !== 0 || unreported.outputTokens !== 0)) flags.push('unreported');
    if (closed && row.unsent > 0) flags.push('unsent');
    return {
      orgId: row.org_id,
      windowStart: start.toISOString(),
      metered,
      reported: tokens(row.reported_in, row.reported_out),
      late: tokens(row.late_in, row.late_out),
      unreported,
      unsentMeterEvents: row.unsent,
      closed,
      flags,
    };
  });
  const reconciledBalances = balances.map((row): ReconciliationBalance => {
    const cursor = tokens(row.cursor_in, row.cursor_out);
    const reported = tokens(row.reported_in, row.reported_out);
    const difference = minus(cursor, reported);
    return {
      orgId: row.org_id,
      cursor,
      reported,
      difference,
      flagged: difference.inputTokens !== 0 || difference.outputTokens !== 0,
    };
  });
  const flaggedWindows = reconciledWindows.filter((w) => w.flags.length > 0);
  const flaggedBalances = reconciledBalances.filter((b) => b.flagged);
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    windows: query.flaggedOnly ? flaggedWindows : reconciledWindows,
    balances: query.flaggedOnly ? flaggedBalances : reconciledBalances,
    flagged: flaggedWindows.length + flaggedBalances.length,
  };
}
