// Replays the recorded GDPR erasure history (test/fixtures/histories/gdpr-erasure.json, re-recorded
// with RECORD_HISTORIES=1 npx vitest run test/workflows/gdpr-erasure.test.ts) against today's
// workflow code: a change that would make a running erasure non-deterministic fails here.
import { DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { erasureStores } from '../../core/data-requests.js';
import { temporalWorkerTracing } from '../../runtime/temporal-tracing.js';
import { bundleWorkflows } from '../../workers/bootstrap.js';
import { loadHistory } from './histories.js';

let bundle: WorkflowBundle;

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  bundle = await bundleWorkflows();
});

describe('gdpr-erasure replay', () => {
  it('replays a recorded organization erasure (grace period, freeze, every store, tombstone) deterministically', async () => {
    const history = loadHistory('gdpr-erasure');
    expect(history.events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name).toBe(
      'gdprErasure',
    );
    const activities = history.events
      .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
      .filter(Boolean);
    expect(activities).toEqual([
      'startErasure',
      'freezeSubject',
      ...erasureStores.organization.map(() => 'eraseStore'),
      'finishErasure',
    ]);
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: bundle, ...temporalWorkerTracing() },
        history,
        'gdpr-erasure',
      ),
    ).resolves.toBeUndefined();
  });
});
