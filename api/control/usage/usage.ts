// Usage reports read from the hourly rollups only (never a GROUP BY over the ledger): rows per hour
// or UTC day (the sum of its hours) and per model, key or team, plus their CSV rendering.
import { sql } from 'drizzle-orm';
import type { Db } from '../../../db/client.js';
import { usageHourly } from '../../../db/schema/index.js';
import { withTenant } from '../../../db/tenant.js';
import { AppError } from '../../errors.js';

export type Granularity = 'hour' | 'day';
export type UsageGroupBy = 'model' | 'key' | 'team';

export const maxRangeDays = 93;
const hourMs = 3_600_000;
const unitMs: Record<Granularity, number> = { hour: hourMs, day: 24 * hourMs };
const earliest = Date.parse('2000-01-01T00:00:00Z');
const latest = Date.parse('9999-01-01T00:00:00Z');

export interface UsageRange {
  from: Date;
  to: Date;
}

export interface UsageRow {
  period: string;
  group: string | null;
  requests: number;
  errors: number;
  cancelled: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  totalTokens: number;
  estimated: number;
}

export interface UsageReport {
  orgId: string;
  from: string;
  to: string;
  granularity: Granularity;
  groupBy: UsageGroupBy;
  teamId: string | null;
  rows: UsageRow[];
}

/**
 * The range a query asks for, aligned to whole buckets (UTC hours and days are multiples of their
 * length since the epoch). Defaults: up to now, 24 hours. Refuses an empty, inverted or too long range.
 */
export function usageRange(
  query: { from?: string | undefined; to?: string | undefined },
  granularity: Granularity,
  now = Date.now(),
): UsageRange {
  const unit = unitMs[granularity];
  const toMs = query.to ? Date.parse(query.to) : now;
  const fromMs = query.from ? Date.parse(query.from) : toMs - 24 * hourMs;
  if (!(fromMs < toMs)) throw new AppError('VALIDATION', 'from must be before to.');
  if (fromMs < earliest || toMs > latest)
    throw new AppError('VALIDATION', 'from and to must lie between 2000-01-01 and 9999-01-01.');
  const from = Math.floor(fromMs / unit) * unit;
  const to = Math.ceil(toMs / unit) * unit;
  if (to - from > maxRangeDays * 24 * hourMs)
    throw new AppError('VALIDATION', `The range may span at most ${maxRangeDays} days.`);
  return { from: new Date(from), to: new Date(to) };
}

const groupColumns = {
  model: usageHourly.model,
  key: usageHourly.keyId,
  team: usageHourly.teamId,
} as const;

interface RollupRow extends Record<string, unknown> {
  period: Date;
  grp: string | null;
  requests: string;
  errors: string;
  cancelled: string;
  prompt_tokens: string;
  completion_tokens: string;
  cached_tokens: string;
  estimated: string;
}

export async function readUsage(
  db: Db,
  orgId: string,
  options: { range: UsageRange; granularity: Granularity; groupBy: UsageGroupBy; teamId: string | null },
): Promise<UsageReport> {
  const { range, granularity, groupBy, teamId } = options;
  const group = groupColumns[groupBy];
  const h = usageHourly;
  const result = await withTenant(db, orgId, (tx) =>
    tx.execute<RollupRow>(sql`
      SELECT date_trunc(${granularity}, ${h.hour}, 'UTC') AS period, ${group}::text AS grp,
        sum(${h.requests}) AS requests, sum(${h.errors}) AS errors, sum(${h.cancelled}) AS cancelled,
        sum(${h.promptTokens}) AS prompt_tokens, sum(${h.completionTokens}) AS completion_tokens,
        sum(${h.cachedTokens}) AS cached_tokens, sum(${h.estimated}) AS estimated
      FROM ${h}
      WHERE ${h.orgId} = ${orgId} AND ${h.hour} >= ${range.from.toISOString()}
        AND ${h.hour} < ${range.to.toISOString()}
        ${teamId ? sql`AND ${h.teamId} = ${teamId}` : sql``}
      GROUP BY 1, 2
      ORDER BY 1, 2 NULLS FIRST`),
  );
  return {
    orgId,
    from: range.from.toISOString(),
    to: range.to.toISOString(),
    granularity,
    groupBy,
    teamId,
    rows: result.rows.map((r) => {
      const promptTokens = Number(r.prompt_tokens);
      const completionTokens = Number(r.completion_tokens);
      return {
        period: new Date(r.period).toISOString(),
        group: r.grp,
        requests: Number(r.requests),
        errors: Number(r.errors),
        cancelled: Number(r.cancelled),
        promptTokens,
        completionTokens,
        cachedTokens: Number(r.cached_tokens),
        totalTokens: promptTokens + completionTokens,
        estimated: Number(r.estimated),
      };
    }),
  };
}

const groupHeaders: Record<UsageGroupBy, string> = { model: 'model', key: 'key_id', team: 'team_id' };

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break, quotes doubled. Text
 * that a spreadsheet would run as a formula (=, +, -, @, tab, CR first) is prefixed with a quote.
 */
function csvField(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The report as CSV: a header row, then one row per period and group; CRLF line ends. */
export function usageCsv(report: UsageReport): string {
  const header = [
    'period',
    groupHeaders[report.groupBy],
    'requests',
    'errors',
    'cancelled',
    'prompt_tokens',
    'completion_tokens',
    'cached_tokens',
    'total_tokens',
    'estimated',
  ];
  const lines = report.rows.map((r) =>
    [
      r.period,
      r.group,
      r.requests,
      r.errors,
      r.cancelled,
      r.promptTokens,
      r.completionTokens,
      r.cachedTokens,
      r.totalTokens,
      r.estimated,
    ]
      .map(csvField)
      .join(','),
  );
  return [header.join(','), ...lines].map((line) => `${line}\r\n`).join('');
}
