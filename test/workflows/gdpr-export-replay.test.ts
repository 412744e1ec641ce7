// Replays the recorded GDPR export history (test/fixtures/histories/gdpr-export.json, re-recorded
// with RECORD_HISTORIES=1 npx vitest run test/workflows/gdpr-export.test.ts) against today's
// workflow code: a change that would make a running export non-deterministic fails here.
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

describe('gdpr-export replay', () => {
  it('replays a recorded organization export (every store, manifest, expiry) deterministically', async () => {
    const history = loadHistory('gdpr-export');
    expect(history.events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name).toBe('gdprExport');
    const activities = history.events
      .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
      .filter(Boolean);
    expect(activities).toEqual([
      'startExport',
      ...Array(6).fill('exportStore'),
      'writeExportManifest',
      'finishExport',
      'expireExport',
    ]);
    await expect(
      Worker.runReplayHistory({ workflowBundle: bundle, ...temporalWorkerTracing() }, history, 'gdpr-export'),
    ).resolves.toBeUndefined();
  });
});
