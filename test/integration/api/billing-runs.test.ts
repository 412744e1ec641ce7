// GET /api/admin/billing/runs: an operator sees each window's run, newest first, in pages: a finished
// run as completed or incomplete (tenants it could not bill) with its counts, an unfinished one as
// running while its workflow runs and as stopped once that workflow is gone. Bad cursors and limits
// are refused. (Who may call it: the route table's operator row.)
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIds } from '../../../temporal.config.js';
import { workflowTypes, type BillingRunInput } from '../../../workflows/definitions.js';
import { useTestApp } from '../../support/app.js';
import { bearer, errorCode, signUp, useAdminPool, type TestUser } from './helpers.js';

const t = useTestApp();
let admin: pg.Pool;
let operator: TestUser;
let running: WorkflowHandle | undefined;

const hourMs = 3_600_000;
// Five windows on a day long before any other test's runs, oldest first.
const base = Date.UTC(2001, 0, 1 + Math.floor(Math.random() * 1_000));
const windows = Array.from({ length: 5 }, (_, i) => new Date(base + i * hourMs));
const [oldRun, incomplete, completed, stopped, current] = windows as [Date, Date, Date, Date, Date];

interface RunRow {
  window: Date;
  tenants: number;
  failedTenants: number | null;
  meterEvents: number;
  lateTokens: number;
  finished: boolean;
}

async function record(run: RunRow): Promise<void> {
  await admin.query(
    `INSERT INTO billing_runs (window_start, window_end, workflow_id, tenants, failed_tenants, meter_events,
       late_tokens, started_at, finished_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $1, CASE WHEN $8 THEN $2::timestamptz END)`,
    [
      run.window,
      new Date(run.window.getTime() + hourMs),
      workflowIds.billingRun(run.window),
      run.tenants,
      run.failedTenants,
      run.meterEvents,
      run.lateTokens,
      run.finished,
    ],
  );
}

beforeAll(async () => {
  admin = useAdminPool();
  operator = await signUp(t.app, 'billing-runs-operator');
  await admin.query(`UPDATE users SET platform_role = 'operator' WHERE id = $1`, [operator.id]);
  const done = { meterEvents: 0, lateTokens: 0, finished: true };
  // Recorded before failed tenants were: finished, failures unknown.
  await record({ window: oldRun, tenants: 3, failedTenants: null, ...done });
  await record({ window: incomplete, tenants: 5, failedTenants: 2, ...done });
  await record({
    window: completed,
    tenants: 5,
    failedTenants: 0,
    meterEvents: 8,
    lateTokens: 120,
    finished: true,
  });
  // Unfinished, and no workflow runs it any more (terminated, or its history is gone).
  await record({
    window: stopped,
    tenants: 0,
    failedTenants: null,
    meterEvents: 0,
    lateTokens: 0,
    finished: false,
  });
  await record({
    window: current,
    tenants: 0,
    failedTenants: null,
    meterEvents: 0,
    lateTokens: 0,
    finished: false,
  });
  // Its workflow runs: on a task queue no worker polls, so it stays running.
  const input: BillingRunInput = { windowStart: current.toISOString() };
  running = await t.app.temporal.workflow.start(workflowTypes.billingRun, {
    taskQueue: `billing-runs-${randomUUID()}`,
    workflowId: workflowIds.billingRun(current),
    args: [input],
  });
});

afterAll(async () => {
  await running?.terminate('test over');
});

async function runs(query: string) {
  const res = await t.app.inject({
    method: 'GET',
    url: `/api/admin/billing/runs?${query}`,
    headers: bearer(operator),
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ items: Record<string, unknown>[]; nextCursor: string | null }>();
}

describe('GET /api/admin/billing/runs', () => {
  it('lists the runs newest first with their status and what they did, in pages', async () => {
    const after = new Date(current.getTime() + hourMs).toISOString();
    const first = await runs(`limit=3&cursor=${after}`);
    expect(first.items).toEqual([
      {
        windowStart: current.toISOString(),
        windowEnd: after,
        workflowId: workflowIds.billingRun(current),
        status: 'running',
        tenants: null,
        failedTenants: null,
        meterEvents: null,
        lateTokens: null,
        startedAt: current.toISOString(),
        finishedAt: null,
      },
      expect.objectContaining({ windowStart: stopped.toISOString(), status: 'stopped', tenants: null }),
      expect.objectContaining({
        windowStart: completed.toISOString(),
        status: 'completed',
        tenants: 5,
        failedTenants: 0,
        meterEvents: 8,
        lateTokens: 120,
        finishedAt: new Date(completed.getTime() + hourMs).toISOString(),
      }),
    ]);
    expect(first.nextCursor).toBe(completed.toISOString());

    const second = await runs(`limit=2&cursor=${first.nextCursor}`);
    expect(second.items).toEqual([
      expect.objectContaining({
        windowStart: incomplete.toISOString(),
        status: 'incomplete',
        failedTenants: 2,
      }),
      expect.objectContaining({
        windowStart: oldRun.toISOString(),
        status: 'completed',
        failedTenants: null,
      }),
    ]);
  });

  it.each([
    ['a cursor that is not a time', 'cursor=yesterday'],
    ['a limit of 0', 'limit=0'],
    ['a limit over 100', 'limit=101'],
    ['an unknown parameter', 'page=2'],
  ])('refuses %s (400)', async (_what, query) => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/admin/billing/runs?${query}`,
      headers: bearer(operator),
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(errorCode(res)).toBe('VALIDATION');
  });
});
