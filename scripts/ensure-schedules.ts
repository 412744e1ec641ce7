// npm run schedules:ensure
// Creates the platform's Temporal Schedules, or brings an existing one to the settings below, so
// `up` and every deployment can run it again and again: the hourly billing run and the daily
// audit-chain verification.
//
// Settings of `billing-hourly`, and why:
// - every hour at minute BILLING_WATERMARK_MINUTES (UTC): the hour just ended, after the watermark
//   that lets its usage events arrive;
// - overlap BUFFER_ALL: runs of different windows never run at once (a slow run delays the next
//   instead of racing it), and none is dropped: after an outage the missed windows run one after
//   the other, in order, each reporting its own hour;
// - catch-up window 1 day: a Temporal outage up to a day replays its windows; beyond that the
//   first run afterwards still reports every unreported token (flagged late), so nothing is lost,
//   and `npm run billing:backfill` can run the skipped windows by name;
// - pauseOnFailure off: a failed run (a tenant Stripe refused for an hour) must not stop the next
//   hours, which report that tenant's usage anyway.
//
// Settings of `audit-chains-daily`, and why:
// - every day at 03:30 UTC: every org's audit chain verified (workflows/audit-verification.ts);
// - overlap SKIP: a verification still running when the next is due covers the same chains;
// - catch-up window 1 day: after a Temporal outage the missed day's verification still runs;
// - pauseOnFailure off: a run that finds a broken chain fails (that is its alert in the UI), and
//   the next days must still verify every other chain.
import { fileURLToPath } from 'node:url';
import { ScheduleAlreadyRunning, type Client, type ScheduleOptions } from '@temporalio/client';
import type { Config } from '../runtime/config.js';
import { scheduleIds, taskQueues } from '../temporal.config.js';
import {
  workflowTypes,
  type AuditChainVerificationInput,
  type ScheduledBillingInput,
} from '../workflows/definitions.js';

type BillingSettings = Pick<Config, 'BILLING_WATERMARK_MINUTES' | 'BILLING_RUN_CONCURRENCY'>;

export function billingSchedule(config: BillingSettings) {
  const input: ScheduledBillingInput = {
    watermarkMinutes: config.BILLING_WATERMARK_MINUTES,
    concurrency: config.BILLING_RUN_CONCURRENCY,
  };
  return {
    scheduleId: scheduleIds.billing,
    spec: {
      calendars: [
        { minute: config.BILLING_WATERMARK_MINUTES, hour: '*', comment: 'hourly after the watermark' },
      ],
    },
    action: {
      type: 'startWorkflow',
      workflowType: workflowTypes.scheduledBillingRun,
      workflowId: scheduleIds.billing,
      taskQueue: taskQueues.billing,
      args: [input],
    },
    policies: { overlap: 'BUFFER_ALL', catchupWindow: '1 day', pauseOnFailure: false },
  } satisfies ScheduleOptions;
}

export function auditChainSchedule() {
  const input: AuditChainVerificationInput = {};
  return {
    scheduleId: scheduleIds.auditChains,
    spec: { calendars: [{ hour: 3, minute: 30, comment: 'daily, every org audit chain' }] },
    action: {
      type: 'startWorkflow',
      workflowType: workflowTypes.auditChainVerification,
      workflowId: scheduleIds.auditChains,
      taskQueue: taskQueues.billing,
      args: [input],
    },
    policies: { overlap: 'SKIP', catchupWindow: '1 day', pauseOnFailure: false },
  } satisfies ScheduleOptions;
}

/** Creates a Schedule, or updates it to the given settings; says which. */
async function ensureSchedule(
  client: Client,
  { scheduleId, spec, action, policies }: ScheduleOptions,
): Promise<'created' | 'updated'> {
  try {
    await client.schedule.create({ scheduleId, spec, action, policies });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await client.schedule.getHandle(scheduleId).update((current) => ({ ...current, spec, action, policies }));
  return 'updated';
}

/** Creates the billing Schedule, or updates it to the current settings; says which. */
export function ensureBillingSchedule(
  client: Client,
  config: BillingSettings,
): Promise<'created' | 'updated'> {
  return ensureSchedule(client, billingSchedule(config));
}

/** Creates the audit-chain Schedule, or updates it to the current settings; says which. */
export function ensureAuditChainSchedule(client: Client): Promise<'created' | 'updated'> {
  return ensureSchedule(client, auditChainSchedule());
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { loadConfigOrExit } = await import('../runtime/config.js');
  const { createDb, createPool } = await import('../db/client.js');
  const { createTemporalClient } = await import('../runtime/temporal-client.js');
  const config = loadConfigOrExit();
  // The client's data converter encrypts the schedule's input with the platform key (from the database).
  const pool = createPool({
    url: config.DATABASE_URL,
    size: 1,
    appRole: config.DATABASE_APP_ROLE,
    applicationName: 'vlinders-schedules',
  });
  const client = await createTemporalClient(config, createDb(pool));
  try {
    const billing = await ensureBillingSchedule(client, config);
    process.stdout.write(`schedule ${scheduleIds.billing} ${billing}\n`);
    const auditChains = await ensureAuditChainSchedule(client);
    process.stdout.write(`schedule ${scheduleIds.auditChains} ${auditChains}\n`);
  } finally {
    await Promise.allSettled([client.connection.close(), pool.end()]);
  }
}
