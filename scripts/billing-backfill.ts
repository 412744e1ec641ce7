// npm run billing:backfill -- --window 2026-11-26T13:00Z [--to 2026-11-26T18:00Z]
// Runs past billing windows, oldest first, under their own ids (`billing/<window>`): a window that
// was reported already reports nothing new, one that is running is waited for, and a window the
// schedule missed reports what is still unreported up to its end. Prints one JSON line per window.
// Exit 0: every window ran; 1: a run failed; 2: bad usage.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import {
  billingWindow,
  hourMs,
  isWindowClosed,
  parseWindowStart,
  windowsBetween,
} from '../core/billing-window.js';
import type { Config } from '../runtime/config.js';
import { taskQueues, workflowIds } from '../temporal.config.js';
import { workflowTypes, type BillingRunInput, type BillingRunResult } from '../workflows/definitions.js';

/** Stripe accepts meter events up to 35 days old; a backfill stays within 31 days. */
const maxWindows = 31 * 24;

export const usage = 'usage: npm run billing:backfill -- --window 2026-11-26T13:00Z [--to 2026-11-26T18:00Z]';

export interface BackfillRequest {
  from: Date;
  to: Date;
}

/** The windows asked for, or the reason the arguments are refused. */
export function parseBackfillArgs(
  args: string[],
  now: Date,
  watermarkMinutes: number,
): BackfillRequest | { error: string } {
  let values: { window?: string | undefined; to?: string | undefined };
  try {
    ({ values } = parseArgs({ args, options: { window: { type: 'string' }, to: { type: 'string' } } }));
  } catch {
    return { error: usage };
  }
  const { window, to: last = window } = values;
  if (window === undefined || last === undefined) return { error: usage };
  try {
    const from = parseWindowStart(window);
    const to = parseWindowStart(last);
    if (to < from) return { error: `--to ${last} is before --window ${window}` };
    if ((to.getTime() - from.getTime()) / hourMs + 1 > maxWindows)
      return { error: `at most ${maxWindows} windows (31 days) at once` };
    if (!isWindowClosed(billingWindow(to), now, watermarkMinutes))
      return { error: `window ${last} has not closed yet (its hour + ${watermarkMinutes} min)` };
    return { from, to };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

type BillingRunWorkflow = (input: BillingRunInput) => Promise<BillingRunResult>;

/** Runs the windows one after the other; yields each window's result as it finishes. */
export async function* backfillBilling(
  client: Client,
  config: Pick<Config, 'BILLING_RUN_CONCURRENCY'>,
  { from, to }: BackfillRequest,
): AsyncGenerator<BillingRunResult> {
  for (const window of windowsBetween(from, to)) {
    const handle = await client.workflow.start<BillingRunWorkflow>(workflowTypes.billingRun, {
      workflowId: workflowIds.billingRun(window.start),
      taskQueue: taskQueues.billing,
      args: [{ windowStart: window.start.toISOString(), concurrency: config.BILLING_RUN_CONCURRENCY }],
      // The schedule's run of this window may be under way: wait for it rather than race it.
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    yield await handle.result();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { loadConfigOrExit } = await import('../runtime/config.js');
  const { createDb, createPool } = await import('../db/client.js');
  const { createTemporalClient } = await import('../runtime/temporal-client.js');
  const config = loadConfigOrExit();
  const request = parseBackfillArgs(process.argv.slice(2), new Date(), config.BILLING_WATERMARK_MINUTES);
  if ('error' in request) {
    process.stderr.write(`${request.error}\n`);
    process.exit(2);
  }
  const pool = createPool({
    url: config.DATABASE_URL,
    size: 1,
    appRole: config.DATABASE_APP_ROLE,
    applicationName: 'vlinders-billing-backfill',
  });
  const client = await createTemporalClient(config, createDb(pool));
  try {
    for await (const result of backfillBilling(client, config, request))
      process.stdout.write(`${JSON.stringify(result)}\n`);
  } catch (err) {
    process.stderr.write(`backfill stopped: ${(err as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    await Promise.allSettled([client.connection.close(), pool.end()]);
  }
}
