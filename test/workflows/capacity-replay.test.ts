// Replays a recorded capacity loop (test/fixtures/histories/capacity-loop.json, re-recorded with
// RECORD_HISTORIES=1 npx vitest run test/workflows/capacity.test.ts) against today's workflow code:
// a change that would make a running loop non-deterministic fails here.
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

describe('capacity loop replay', () => {
  it('replays samples, a dry-run, a settings update, pause and resume, and an applied change', async () => {
    const history = loadHistory('capacity-loop');
    expect(history.events.filter((e) => e.workflowExecutionSignaledEventAttributes)).toHaveLength(2);
    expect(history.events.some((e) => e.workflowExecutionUpdateCompletedEventAttributes)).toBe(true);
    const activities = history.events.flatMap((e) => {
      const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
      return name ? [name] : [];
    });
    expect(activities).toContain('observePool');
    expect(activities).toContain('setPoolReplicas');
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: bundle, ...temporalWorkerTracing() },
        history,
        'capacity-loop',
      ),
    ).resolves.toBeUndefined();
  });
});
