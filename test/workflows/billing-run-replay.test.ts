// Replays the recorded billing run histories (test/fixtures/histories, re-recorded with
// RECORD_HISTORIES=1 npx vitest run test/workflows/billing-run.test.ts, and one recorded before a
// patch) against today's workflow code: a change that would make a running billing run
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

const activitiesOf = (name: string) =>
  loadHistory(name)
    .events.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
    .filter(Boolean);

describe('billing run replay', () => {
  it('the recorded run ends with the reconciliation; the one recorded before it does not', () => {
    expect(activitiesOf('billing-run').slice(-2)).toEqual(['finishBillingRun', 'reconcileBilling']);
    expect(activitiesOf('billing-run-before-reconciliation').at(-1)).toBe('finishBillingRun');
  });

  it.each([
    ['billing-run', 'billingRun'],
    // Recorded before the reconciliation gauges (the `billing-run-reconciliation-metrics` patch).
    ['billing-run-before-reconciliation', 'billingRun'],
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
