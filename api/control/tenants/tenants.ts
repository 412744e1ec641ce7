// Every tenant as operators see it: status, plan, subscription (and an operator's suspension),
// seats, members and this month's tokens. Reads across tenants go through the read-only `app.billing_run` policies (0011, 0013,
// 0021 and 0025 migrations), as the reconciliation and the cost analysis do.
import { sql, type SQL } from 'drizzle-orm';
import type { Static } from 'typebox';
import type { Db } from '../../../db/client.js';
import { withBillingRun } from '../../../db/tenant.js';
import { AppError } from '../../errors.js';
import type { Tenant, TenantPage, TenantQuery } from './schemas.js';

type TenantView = Static<typeof Tenant>;

interface TenantRow extends Record<string, unknown> {
  id: string;
  name: string;
  slug: string;
  status: TenantView['status'];
  failure_reason: string | null;
  created_at: Date;
  /** created_at to the microsecond, for the page cursor (a Date keeps milliseconds only). */
  position: string;
  plan: TenantView['plan'];
  subscription_status: TenantView['subscriptionStatus'];
  seats: number | null;
  operator_suspended_at: Date | null;
  operator_suspended_by: string | null;
  operator_suspension_reason: string | null;
  members: number;
  tokens: string;
}

const defaultLimit = 50;
const positionPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The page cursor: the last tenant's position in the order (created_at, id), opaque to callers. */
function encodeCursor(row: TenantRow): string {
  return Buffer.from(`${row.position}|${row.id}`).toString('base64url');
}

function decodeCursor(cursor: string): { position: string; id: string } {
  const [position = '', id = '', ...rest] = Buffer.from(cursor, 'base64url').toString().split('|');
  if (rest.length > 0 || !positionPattern.test(position) || !uuidPattern.test(id))
    throw new AppError('VALIDATION', 'The cursor is not one this list gave.', { field: 'cursor' });
  return { position, id };
}

/** A LIKE pattern that finds the text anywhere, its own wildcards taken literally. */
function containing(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function startOfMonth(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}

async function selectTenants(db: Db, where: SQL[], limit: number, now: Date): Promise<TenantRow[]> {
  const since = startOfMonth(now).toISOString();
  return withBillingRun(db, async (tx) => {
    const { rows } = await tx.execute<TenantRow>(sql`
      SELECT o.id, o.name, o.slug, o.status, o.failure_reason, o.created_at,
        to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS position,
        o.plan, o.subscription_status, b.seats,
        b.operator_suspended_at, b.operator_suspended_by, b.operator_suspension_reason,
        (SELECT count(*) FROM memberships m WHERE m.org_id = o.id)::int AS members,
        (SELECT coalesce(sum(u.prompt_tokens + u.completion_tokens), 0) FROM usage_hourly u
          WHERE u.org_id = o.id AND u.hour >= ${since})::text AS tokens
      FROM organizations o LEFT JOIN billing_accounts b ON b.org_id = o.id
      WHERE ${where.length > 0 ? sql.join(where, sql` AND `) : sql`true`}
      ORDER BY o.created_at DESC, o.id DESC
      LIMIT ${limit}`);
    return rows;
  });
}

function view(row: TenantRow): TenantView {
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    status: row.status,
    failureReason: row.failure_reason,
    createdAt: new Date(row.created_at).toISOString(),
    plan: row.plan,
    subscriptionStatus: row.subscription_status,
    seats: row.seats,
    members: row.members,
    tokensThisMonth: Number(row.tokens),
    suspension:
      row.operator_suspended_at && row.operator_suspended_by && row.operator_suspension_reason !== null
        ? {
            reason: row.operator_suspension_reason,
            since: new Date(row.operator_suspended_at).toISOString(),
            by: row.operator_suspended_by,
          }
        : null,
  };
}

export async function listTenants(
  db: Db,
  query: Static<typeof TenantQuery>,
  now: Date,
): Promise<Static<typeof TenantPage>> {
  const limit = query.limit === undefined ? defaultLimit : Number(query.limit);
  const where: SQL[] = [];
  if (query.status !== undefined) where.push(sql`o.status = ${query.status}`);
  if (query.subscriptionStatus !== undefined)
    where.push(sql`o.subscription_status = ${query.subscriptionStatus}`);
  if (query.q !== undefined) {
    const pattern = containing(query.q);
    where.push(sql`(o.name ILIKE ${pattern} OR o.slug ILIKE ${pattern})`);
  }
  if (query.cursor !== undefined) {
    const after = decodeCursor(query.cursor);
    where.push(sql`(o.created_at, o.id) < (${after.position}::timestamptz, ${after.id}::uuid)`);
  }
  const rows = await selectTenants(db, where, limit + 1, now);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map(view),
    nextCursor: rows.length > limit && last ? encodeCursor(last) : null,
  };
}

export async function getTenant(db: Db, orgId: string, now: Date): Promise<TenantView> {
  const [row] = await selectTenants(db, [sql`o.id = ${orgId}`], 1, now);
  if (!row) throw new AppError('NOT_FOUND', 'The organization does not exist.');
  return view(row);
}
