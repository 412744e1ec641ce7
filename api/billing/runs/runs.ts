// The billing runs as recorded in `billing_runs` (one row per window, a platform table), newest
// window first. A finished run's row says what it did; an unfinished one's workflow says whether it
// still runs or was stopped (terminated, timed out) before recording its end.
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { desc, lt } from 'drizzle-orm';
import type { Static } from 'typebox';
import type { Db } from '../../../db/client.js';
import { billingRuns } from '../../../db/schema/index.js';
import type { BillingRun, BillingRunPage, BillingRunQuery } from './schemas.js';

type RunView = Static<typeof BillingRun>;
type Row = typeof billingRuns.$inferSelect;

const defaultLimit = 24;

async function workflowRuns(temporal: Client, workflowId: string): Promise<boolean> {
  try {
    const { status } = await temporal.workflow.getHandle(workflowId).describe();
    return status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

async function view(temporal: Client, row: Row): Promise<RunView> {
  const finished = row.finishedAt !== null;
  let status: RunView['status'];
  if (finished) status = (row.failedTenants ?? 0) > 0 ? 'incomplete' : 'completed';
  else status = (await workflowRuns(temporal, row.workflowId)) ? 'running' : 'stopped';
  return {
    windowStart: row.windowStart.toISOString(),
    windowEnd: row.windowEnd.toISOString(),
    workflowId: row.workflowId,
    status,
    tenants: finished ? row.tenants : null,
    failedTenants: finished ? row.failedTenants : null,
    meterEvents: finished ? row.meterEvents : null,
    lateTokens: finished ? row.lateTokens : null,
    startedAt: row.startedAt.toISOString(),
    finishedAt: row.finishedAt?.toISOString() ?? null,
  };
}

export async function listBillingRuns(
  deps: { db: Db; temporal: Client },
  query: Static<typeof BillingRunQuery>,
): Promise<Static<typeof BillingRunPage>> {
  const limit = query.limit === undefined ? defaultLimit : Number(query.limit);
  const rows = await deps.db
    .select()
    .from(billingRuns)
    .where(query.cursor === undefined ? undefined : lt(billingRuns.windowStart, new Date(query.cursor)))
    .orderBy(desc(billingRuns.windowStart))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: await Promise.all(page.map((row) => view(deps.temporal, row))),
    nextCursor: rows.length > limit && last ? last.windowStart.toISOString() : null,
  };
}
