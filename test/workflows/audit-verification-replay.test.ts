// Replays the recorded audit-chain verification (test/fixtures/histories/audit-verification.json,
// re-recorded with RECORD_HISTORIES=1 npx vitest run test/workflows/audit-verification.test.ts)
// against today's workflow code: a change that would make a running verification
// non-deterministic fails here.
import { DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { temporalWorkerTracing } from '../../runtime/temporal-tracing.js';
import { bundleWorkflows } from '../../workers/bootstrap.js';
import { loadHistory } from './histories.js';

let bundle: WorkflowBundle;

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  bundle = await bundleWorkflows();
});

describe('audit-chain verification replay', () => {
  it('replays the recorded history deterministically', async () => {
    const history = loadHistory('audit-verification');
    const activities = history.events
      .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
      .filter(Boolean);
    expect(activities).toEqual(['listAuditChains', 'verifyAuditChain', 'recordAuditVerification']);
    expect(history.events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name).toBe(
      'auditChainVerification',
    );
    await expect(
      Worker.runReplayHistory({ workflowBundle: bundle, ...temporalWorkerTracing() }, history, 'audit'),
    ).resolves.toBeUndefined();
  });
});
