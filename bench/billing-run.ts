// Wall time of an hourly billing run over many tenants (target: 1,000 tenants with a day of usage).
// Starts its own PostgreSQL, Temporal dev server and stripe-mock (as the test setup does), seeds
// the tenants and 24 hourly rollups per tenant and model, then times, with the billing worker in
// this process:
//   1. the run of the day's last hour: it sweeps the whole day (23 hours of it flagged late), one
//      report and two meter events per tenant;
//   2. the same window again: nothing new (every tenant's reports are found and returned);
//   3. the next window: nothing to report (every tenant's cursor is checked, no meter event).
//   npm run bench:billing -- [--tenants 1000] [--hours 24] [--models 2] [--concurrency 8]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import pg from 'pg';
import { FileMailer } from '../activities/mail/mailer.js';
import { createDb, createPool } from '../db/client.js';
import { migrateDatabase } from '../db/migrate.js';
import { parseConfig } from '../runtime/config.js';
import { createLogger } from '../runtime/logger.js';
import { createStripe } from '../runtime/stripe.js';
import { createTemporalClient } from '../runtime/temporal-client.js';
import { taskQueues, workflowIds } from '../temporal.config.js';
import { createBillingWorker } from '../workers/bootstrap.js';
import { workflowTypes, type BillingRunInput, type BillingRunResult } from '../workflows/definitions.js';
import { seedBillingTenants } from '../test/support/billing-fixture.js';
import { startPostgres, startStripeMock, startTemporal, stripeTestKey } from '../test/support/services.js';

const { values } = parseArgs({
  options: {
    tenants: { type: 'string', default: '1000' },
    hours: { type: 'string', default: '24' },
    models: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '8' },
  },
});
const tenants = Number(values.tenants);
const hours = Number(values.hours);
const models = Number(values.models);
const concurrency = Number(values.concurrency);

Runtime.install({ logger: new DefaultLogger('WARN') });
const log = (line: string) => process.stdout.write(`${line}\n`);
const [postgres, temporal, stripeMock] = await Promise.all([
  startPostgres(),
  startTemporal(),
  startStripeMock(),
]);
const mailDir = mkdtempSync(join(tmpdir(), 'vlinders-bench-billing-'));
try {
  await migrateDatabase(postgres.adminUrl);
  const admin = new pg.Pool({ connectionString: postgres.adminUrl, max: 2 });
  await admin.query(`CREATE ROLE vlinders_bench LOGIN PASSWORD 'bench' IN ROLE vlinders_app`);
  const appUrl = postgres.adminUrl.replace('postgres@', 'vlinders_bench:bench@');
  const config = parseConfig({
    DATABASE_URL: appUrl,
    TEMPORAL_ADDRESS: temporal.address,
    MASTER_KEY: randomBytes(32).toString('base64'),
    STRIPE_SECRET_KEY: stripeTestKey,
    STRIPE_API_URL: stripeMock.url,
    BILLING_RUN_CONCURRENCY: String(concurrency),
    MAIL_DIR: mailDir,
    LOG_LEVEL: 'warn',
  });

  // A day of usage that ended at the last full hour: the run of its last hour sweeps all of it.
  const hourMs = 3_600_000;
  const dayEnd = Math.floor(Date.now() / hourMs) * hourMs;
  const lastHour = new Date(dayEnd - hourMs);
  const seeded = performance.now();
  await seedBillingTenants(admin, tenants, { plan: 'enterprise' });
  const { rowCount } = await admin.query(
    `INSERT INTO usage_hourly (org_id, hour, team_id, key_id, model, requests, errors, cancelled,
       prompt_tokens, completion_tokens, cached_tokens, estimated)
     SELECT b.org_id, $1::timestamptz + h * interval '1 hour', NULL, gen_random_uuid(), 'model-' || m, 10, 0, 0,
       1000 + (random() * 1000)::int, 200 + (random() * 500)::int, 0, 0
     FROM billing_accounts b, generate_series(0, $2::int - 1) h, generate_series(1, $3::int) m`,
    [new Date(dayEnd - hours * hourMs).toISOString(), hours, models],
  );
  await admin.query('ANALYZE usage_hourly');
  log(
    `seeded ${tenants} tenants, ${rowCount} hourly rollups in ${((performance.now() - seeded) / 1000).toFixed(1)} s`,
  );

  const pool = createPool({
    url: config.DATABASE_URL,
    size: config.DATABASE_POOL_SIZE,
    applicationName: 'bench',
  });
  const db = createDb(pool);
  const client = await createTemporalClient(config, db);
  const connection = await NativeConnection.connect({ address: temporal.address });
  const worker = await createBillingWorker({
    config,
    connection,
    db,
    mailer: new FileMailer(mailDir),
    stripe: createStripe(config),
    log: createLogger('warn', 'bench-billing-worker'),
  });
  const running = worker.run();

  type Run = (input: BillingRunInput) => Promise<BillingRunResult>;
  const timeRun = async (label: string, windowStart: Date) => {
    const started = performance.now();
    const result = await client.workflow.execute<Run>(workflowTypes.billingRun, {
      workflowId: workflowIds.billingRun(windowStart),
      taskQueue: taskQueues.billing,
      args: [{ windowStart: windowStart.toISOString(), concurrency }],
    });
    const seconds = (performance.now() - started) / 1000;
    log(
      `${label}: ${seconds.toFixed(2)} s — ${result.tenants} tenants, ${result.meterEvents} meter events, ` +
        `${result.lateTokens} late tokens (${(result.tenants / seconds).toFixed(0)} tenants/s)`,
    );
    return result;
  };

  // The first run also pays for the workflow bundle's first load in the worker; warm it up on an
  // empty window far back so the timings are of the billing alone.
  await timeRun('warm-up (a window with no tenants’ usage left)', new Date(dayEnd - 30 * 24 * hourMs));
  const first = await timeRun('run 1 (a day of usage)', lastHour);
  await timeRun('run 2 (same window again)', lastHour);
  await timeRun('run 3 (next window, nothing new)', new Date(dayEnd));

  const check = await admin.query<{ metered: string; reported: string }>(
    `SELECT (SELECT sum(prompt_tokens + completion_tokens) FROM usage_hourly)::text AS metered,
       (SELECT sum(quantity) FROM billing_reports WHERE reported_at IS NOT NULL)::text AS reported`,
  );
  log(
    `metered ${check.rows[0]?.metered} tokens, reported ${check.rows[0]?.reported}; meter events ${first.meterEvents}`,
  );

  worker.shutdown();
  await running;
  await Promise.allSettled([client.connection.close(), connection.close(), pool.end(), admin.end()]);
} finally {
  await Promise.allSettled([postgres.stop(), temporal.stop(), stripeMock.stop()]);
  rmSync(mailDir, { recursive: true, force: true });
}
