// Replays the recorded rollout history (test/fixtures/histories/rollout.json, re-recorded with
// RECORD_HISTORIES=1 npx vitest run test/workflows/rollout.test.ts) against today's workflow code: a
// change that would make a running rollout non-deterministic fails here.
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

describe('rollout replay', () => {
  it('replays a recorded rollout (four steps, drain, unload) deterministically', async () => {
    const history = loadHistory('rollout');
    expect(history.events.length).toBeGreaterThan(50);
    expect(history.events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name).toBe('rollout');
    await expect(
      Worker.runReplayHistory({ workflowBundle: bundle, ...temporalWorkerTracing() }, history, 'rollout'),
    ).resolves.toBeUndefined();
  });
});
