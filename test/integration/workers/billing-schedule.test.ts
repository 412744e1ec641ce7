// The hourly Schedule and the backfill command: `schedules:ensure` run twice leaves one schedule
// with the settings of the config; triggering it runs the window its scheduled time bills as
// `billing/<window>`; a backfill runs past windows under their ids, and again reports nothing new.
// The daily audit-chain Schedule: created once, and a run it starts reports a break planted in one
// org's chain, naming that org (on the billing worker, through the encrypting data converter).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { windowBilledAt } from '../../../core/billing-window.js';
import { scheduleIds, taskQueues, workflowIds } from '../../../temporal.config.js';
import type { BillingRunResult } from '../../../workflows/definitions.js';
import { backfillBilling, parseBackfillArgs, usage } from '../../../scripts/billing-backfill.js';
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { ensureAuditChainSchedule, ensureBillingSchedule } from '../../../scripts/ensure-schedules.js';
import { tamper } from '../db/audit-chain-support.js';
import { addUsage, meteredTotals, seedBillingTenants } from '../../support/billing-fixture.js';
import { waitUntil } from '../../support/child-process.js';
import {
  hourAgo,
  startBillingSuite,
  stripeTotals,
  type BillingSuite,
  startBillingWorker,
} from './billing-support.js';

let suite: BillingSuite;
let worker: { stop(): Promise<void> } | undefined;

beforeAll(async () => {
  suite = await startBillingSuite('schedule');
  worker = await startBillingWorker(suite);
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await suite?.close();
});

async function scheduleIdsListed(): Promise<string[]> {
  const ids: string[] = [];
  for await (const s of suite.client.schedule.list()) ids.push(s.scheduleId);
  return ids;
}

describe('schedules:ensure', () => {
  it(
    'creates the hourly billing schedule once and updates it to the config',
    { timeout: 120_000 },
    async () => {
      expect(await ensureBillingSchedule(suite.client, suite.config)).toBe('created');
      expect(await ensureBillingSchedule(suite.client, suite.config)).toBe('updated');
      await waitUntil('the schedule to be listed', async () => (await scheduleIdsListed()).length > 0);
      expect(await scheduleIdsListed()).toEqual([scheduleIds.billing]);

      const handle = suite.client.schedule.getHandle(scheduleIds.billing);
      const described = await handle.describe();
      expect(described.spec.calendars).toEqual([
        expect.objectContaining({
          minute: [{ start: 15, end: 15, step: 1 }],
          hour: [{ start: 0, end: 23, step: 1 }],
        }),
      ]);
      expect(described.action).toMatchObject({
        type: 'startWorkflow',
        workflowType: 'scheduledBillingRun',
        workflowId: scheduleIds.billing,
        taskQueue: taskQueues.billing,
        args: [{ watermarkMinutes: 15, concurrency: 8 }],
      });
      expect(described.policies).toMatchObject({
        overlap: 'BUFFER_ALL',
        catchupWindow: 86_400_000,
        pauseOnFailure: false,
      });

      // A new watermark in the config reaches the existing schedule.
      const changed = { ...suite.config, BILLING_WATERMARK_MINUTES: 20, BILLING_RUN_CONCURRENCY: 4 };
      expect(await ensureBillingSchedule(suite.client, changed)).toBe('updated');
      const updated = await handle.describe();
      expect(updated.spec.calendars?.[0]?.minute).toEqual([{ start: 20, end: 20, step: 1 }]);
      expect(updated.action).toMatchObject({ args: [{ watermarkMinutes: 20, concurrency: 4 }] });
      await ensureBillingSchedule(suite.client, suite.config);
    },
  );

  it('runs the window its scheduled time bills as billing/<window>', { timeout: 120_000 }, async () => {
    const handle = suite.client.schedule.getHandle(scheduleIds.billing);
    const triggeredAt = new Date();
    await handle.trigger();
    let workflowId = '';
    await waitUntil('the schedule to start a run', async () => {
      workflowId = (await handle.describe()).info.recentActions.at(-1)?.action.workflow.workflowId ?? '';
      return workflowId !== '';
    });
    expect(workflowId.startsWith(`${scheduleIds.billing}-`)).toBe(true);
    const result = await suite.client.workflow
      .getHandle<() => Promise<BillingRunResult>>(workflowId)
      .result();
    const window = windowBilledAt(triggeredAt, 15).start;
    expect(result).toMatchObject({ windowStart: window.toISOString(), tenants: 0 });
    const child = await suite.client.workflow.getHandle(workflowIds.billingRun(window)).describe();
    expect(child.status.name).toBe('COMPLETED');
    await handle.delete();
  });
});

describe('the daily audit-chain schedule', () => {
  it(
    'is created once; its run verifies every chain and fails naming a planted break',
    { timeout: 120_000 },
    async () => {
      expect(await ensureAuditChainSchedule(suite.client)).toBe('created');
      expect(await ensureAuditChainSchedule(suite.client)).toBe('updated');
      const handle = suite.client.schedule.getHandle(scheduleIds.auditChains);
      const described = await handle.describe();
      expect(described.spec.calendars).toEqual([
        expect.objectContaining({
          hour: [{ start: 3, end: 3, step: 1 }],
          minute: [{ start: 30, end: 30, step: 1 }],
        }),
      ]);
      expect(described.action).toMatchObject({
        workflowType: 'auditChainVerification',
        taskQueue: taskQueues.billing,
      });
      expect(described.policies).toMatchObject({ overlap: 'SKIP', pauseOnFailure: false });

      const [intact, tampered] = [randomUUID(), randomUUID()];
      for (const orgId of [intact, tampered, tampered])
        await suite.admin.query(
          `INSERT INTO audit_log (org_id, action, target_type) VALUES ($1, 'member.add', 'membership')`,
          [orgId],
        );
      await tamper(suite.admin, [
        [`DELETE FROM audit_log WHERE id = (SELECT min(id) FROM audit_log WHERE org_id = $1)`, [tampered]],
      ]);

      await handle.trigger();
      let workflowId = '';
      await waitUntil('the schedule to start a verification', async () => {
        workflowId = (await handle.describe()).info.recentActions.at(-1)?.action.workflow.workflowId ?? '';
        return workflowId !== '';
      });
      const failure = await suite.client.workflow
        .getHandle(workflowId)
        .result()
        .then(
          () => null,
          (err: unknown) => err,
        );
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      expect((failure as WorkflowFailedError).cause).toMatchObject({ type: 'AUDIT_CHAIN_BROKEN' });
      expect((failure as WorkflowFailedError).cause?.message).toMatch(
        new RegExp(`^the audit chain of 1 of \\d+ orgs is broken: ${tampered} at entry \\d+$`),
      );
      await handle.delete();
    },
  );
});

describe('billing:backfill', () => {
  it(
    'runs past windows in order under their ids; a second backfill reports nothing new',
    { timeout: 120_000 },
    async () => {
      const tenants = await seedBillingTenants(suite.admin, 3);
      const [h0, h1, h2] = [12, 11, 10].map(hourAgo) as [Date, Date, Date];
      await addUsage(
        suite.admin,
        tenants.flatMap((t) =>
          [h0, h2].map((hour) => ({ orgId: t.orgId, hour, promptTokens: 100, completionTokens: 40 })),
        ),
      );
      const first: BillingRunResult[] = [];
      for await (const result of backfillBilling(suite.client, suite.config, { from: h0, to: h2 }))
        first.push(result);
      expect(first).toEqual([
        { windowStart: h0.toISOString(), tenants: 3, meterEvents: 6, lateTokens: 0 },
        { windowStart: h1.toISOString(), tenants: 3, meterEvents: 0, lateTokens: 0 },
        { windowStart: h2.toISOString(), tenants: 3, meterEvents: 6, lateTokens: 0 },
      ]);
      const again: BillingRunResult[] = [];
      for await (const result of backfillBilling(suite.client, suite.config, { from: h0, to: h2 }))
        again.push(result);
      expect(again.map((r) => r.meterEvents)).toEqual([0, 0, 0]);

      const stripe = stripeTotals(suite.recorder);
      const metered = await meteredTotals(
        suite.admin,
        tenants.map((t) => t.orgId),
      );
      for (const t of tenants) expect(stripe.byOrg.get(t.orgId)).toEqual(metered.get(t.orgId));
    },
  );

  it('refuses bad arguments with a clear reason', () => {
    const now = new Date('2026-11-26T14:20:00Z');
    expect(
      parseBackfillArgs(['--window', '2026-11-26T12:00Z', '--to', '2026-11-26T13:00Z'], now, 15),
    ).toEqual({
      from: new Date('2026-11-26T12:00:00Z'),
      to: new Date('2026-11-26T13:00:00Z'),
    });
    expect(parseBackfillArgs([], now, 15)).toEqual({ error: usage });
    expect(parseBackfillArgs(['--window', '2026-11-26T12:00Z', '--since', 'x'], now, 15)).toEqual({
      error: usage,
    });
    expect(parseBackfillArgs(['--window', '2026-11-26T12:30Z'], now, 15)).toEqual({
      error: expect.stringMatching(/not a UTC hour/),
    });
    expect(
      parseBackfillArgs(['--window', '2026-11-26T13:00Z', '--to', '2026-11-26T12:00Z'], now, 15),
    ).toEqual({
      error: expect.stringMatching(/before/),
    });
    expect(parseBackfillArgs(['--window', '2026-11-26T14:00Z'], now, 15)).toEqual({
      error: expect.stringMatching(/has not closed yet/),
    });
    expect(
      parseBackfillArgs(['--window', '2026-09-01T00:00Z', '--to', '2026-11-26T12:00Z'], now, 15),
    ).toEqual({
      error: expect.stringMatching(/at most 744 windows/),
    });
  });
});
