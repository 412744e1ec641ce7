// Replays the recorded subscription lifecycles (test/fixtures/histories/subscription-lifecycle.json,
// recorded before operators' suspensions existed, and subscription-operator-suspension.json;
// re-recorded with RECORD_HISTORIES=1 npx vitest run test/workflows/subscription.test.ts) against
// today's workflow code: a change that would make a running subscription non-deterministic fails here.
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

describe('subscription replay', () => {
  it('replays a recorded whole life (trial to canceled) deterministically', async () => {
    const history = loadHistory('subscription-lifecycle');
    // Timers, signals, an update and activities all appear in it.
    expect(history.events.some((e) => e.timerFiredEventAttributes)).toBe(true);
    expect(history.events.some((e) => e.workflowExecutionSignaledEventAttributes)).toBe(true);
    expect(history.events.some((e) => e.workflowExecutionUpdateCompletedEventAttributes)).toBe(true);
    expect(history.events.length).toBeGreaterThan(50);
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: bundle, ...temporalWorkerTracing() },
        history,
        'subscription-lifecycle',
      ),
    ).resolves.toBeUndefined();
  });

  it("replays a recorded operator's suspension and resumption deterministically", async () => {
    const history = loadHistory('subscription-operator-suspension');
    expect(
      history.events.filter((e) => e.workflowExecutionUpdateCompletedEventAttributes).length,
    ).toBeGreaterThanOrEqual(2);
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: bundle, ...temporalWorkerTracing() },
        history,
        'subscription-operator-suspension',
      ),
    ).resolves.toBeUndefined();
  });
});
