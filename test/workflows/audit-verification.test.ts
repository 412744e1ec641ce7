// The daily audit-chain verification in the time-skipping environment with the real activities
// (own database): every org's chain is verified, page after page, and the gauges say so; a break
// planted in one org's chain (an entry's details rewritten by a superuser with the append-only
// guard off) fails the run naming that org and entry, sets the broken-chains gauge the alert reads,
// and writes one `security: audit-chain-broken` log line.
// Set RECORD_HISTORIES=1 to re-record the replay fixture (test/fixtures/histories/audit-verification.json).
import { randomUUID } from 'node:crypto';
import { noopMetricMeter, type MetricMeter } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditActivities } from '../../activities/audit/index.js';
import { createDb, createPool, type Db } from '../../db/client.js';
import { temporalWorkerTracing } from '../../runtime/temporal-tracing.js';
import { taskQueues } from '../../temporal.config.js';
import { bundleWorkflows } from '../../workers/bootstrap.js';
import { auditChainVerification } from '../../workflows/audit-verification.js';
import { tamper } from '../integration/db/audit-chain-support.js';
import { adminPool, createIsolatedDatabase, type IsolatedDatabase } from '../support/isolated-database.js';
import { saveHistory } from './histories.js';
import { createTimeSkippingEnv } from './time-skipping-env.js';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundle;
let database: IsolatedDatabase;
let pool: pg.Pool;
let admin: pg.Pool;
let db: Db;

/** The gauges' last values, and the security log lines, as the worker's metrics and logs get them. */
const gauges = new Map<string, number>();
const logged: Record<string, unknown>[] = [];
const recordingMeter: MetricMeter = {
  createCounter: (...args) => noopMetricMeter.createCounter(...args),
  createHistogram: (...args) => noopMetricMeter.createHistogram(...args),
  createGauge: (name, ...rest) => ({
    ...noopMetricMeter.createGauge(name, ...rest),
    set: (value: number) => void gauges.set(name, value),
  }),
  withTags: () => recordingMeter,
};

const orgs = [randomUUID(), randomUUID(), randomUUID()].sort();

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  database = await createIsolatedDatabase('audit_workflow');
  pool = createPool({ url: database.appUrl, size: 4, applicationName: 'test-audit-workflow' });
  db = createDb(pool);
  admin = adminPool(database.adminUrl);
  // Two entries per org, written as the app writes them (the trigger links each chain), and a
  // platform entry, which has no org's chain.
  for (const orgId of orgs)
    for (const action of ['org.create', 'member.add'])
      await admin.query(
        `INSERT INTO audit_log (org_id, action, target_type, details) VALUES ($1, $2, 'org', '{"role":"member"}')`,
        [orgId, action],
      );
  await admin.query(
    `INSERT INTO audit_log (org_id, action, target_type) VALUES (NULL, 'user.signup', 'user')`,
  );
  [env, bundle] = await Promise.all([createTimeSkippingEnv(), bundleWorkflows()]);
}, 120_000);

afterAll(async () => {
  await env?.teardown();
  await pool?.end();
  await admin?.end();
  await database?.drop();
});

async function verifyAll(recordAs?: string) {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: taskQueues.billing,
    workflowBundle: bundle,
    activities: createAuditActivities({
      db,
      metrics: recordingMeter,
      log: { warn: (fields) => void logged.push(fields) },
    }),
    ...temporalWorkerTracing(),
  });
  return worker.runUntil(async () => {
    // Two orgs a page: the run continues as new once, and the result covers both pages.
    const handle = await env.client.workflow.start(auditChainVerification, {
      taskQueue: taskQueues.billing,
      workflowId: `audit-chains-test-${randomUUID()}`,
      args: [{ pageSize: 2 }],
    });
    try {
      return await handle.result();
    } finally {
      if (recordAs && process.env.RECORD_HISTORIES === '1')
        saveHistory(recordAs, await handle.fetchHistory());
    }
  });
}

describe('audit-chain verification', () => {
  it("verifies every org's chain and records it on the gauges", { timeout: 120_000 }, async () => {
    const before = Math.floor(Date.now() / 1000);
    await expect(verifyAll('audit-verification')).resolves.toEqual({ orgs: 3, entries: 6, broken: [] });
    expect(gauges.get('vlinders_audit_chain_broken_orgs')).toBe(0);
    expect(gauges.get('vlinders_audit_chain_verified_orgs')).toBe(3);
    expect(gauges.get('vlinders_audit_chain_verified_timestamp_seconds')).toBeGreaterThanOrEqual(before);
    expect(logged).toEqual([]);
  });

  it(
    'reports a planted break: the run fails naming the org and entry, the gauge and the log say so',
    { timeout: 120_000 },
    async () => {
      const victim = orgs[1]!;
      const { rows } = await admin.query<{ id: string }>(
        `SELECT id FROM audit_log WHERE org_id = $1 ORDER BY id DESC LIMIT 1`,
        [victim],
      );
      const entry = Number(rows[0]!.id);
      // Someone with the owner's rights promotes a member after the fact.
      await tamper(admin, [[`UPDATE audit_log SET details = '{"role":"owner"}' WHERE id = $1`, [entry]]]);

      const failure = await verifyAll().then(
        () => null,
        (err: unknown) => err,
      );
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      const cause = (failure as WorkflowFailedError).cause;
      expect(cause).toMatchObject({ type: 'AUDIT_CHAIN_BROKEN', nonRetryable: true });
      expect(cause?.message).toBe(`the audit chain of 1 of 3 orgs is broken: ${victim} at entry ${entry}`);

      expect(gauges.get('vlinders_audit_chain_broken_orgs')).toBe(1);
      expect(gauges.get('vlinders_audit_chain_verified_orgs')).toBe(3);
      expect(logged).toEqual([
        expect.objectContaining({ security: 'audit-chain-broken', orgId: victim, firstBrokenId: entry }),
      ]);
      expect(logged[0]?.reason).toMatch(/hash/);
    },
  );
});
