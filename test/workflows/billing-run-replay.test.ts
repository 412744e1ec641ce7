// Replays the recorded billing run histories (test/fixtures/histories, re-recorded with
// RECORD_HISTORIES=1 npx vitest run test/workflows/billing-run.test.ts) against today's workflow
// code: a change that would make a running billing run non-deterministic fails here.
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

describe('billing run replay', () => {
  it.each([
    ['billing-run', 'billingRun'],
    ['billing-scheduled', 'scheduledBillingRun'],
  ])('replays the recorded %s history deterministically', async (name, workflowType) => {
    const history = loadHistory(name);
    expect(history.events.length).toBeGreaterThan(10);
    expect(history.events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name).toBe(workflowType);
    await expect(
      Worker.runReplayHistory({ workflowBundle: bundle, ...temporalWorkerTracing() }, history, name),
    ).resolves.toBeUndefined();
  });
});
