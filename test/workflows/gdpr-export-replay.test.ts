// Replays the recorded GDPR export histories (test/fixtures/histories/gdpr-export.json, re-recorded
// with RECORD_HISTORIES=1 npx vitest run test/workflows/gdpr-export.test.ts, and one recorded
// before a patch) against today's workflow code: a change that would make a running export
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

describe('gdpr-export replay', () => {
  const replay = (name: string) =>
    Worker.runReplayHistory({ workflowBundle: bundle, ...temporalWorkerTracing() }, loadHistory(name), name);
  const activitiesOf = (name: string) =>
    loadHistory(name)
      .events.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
      .filter(Boolean);

  it('replays a recorded organization export (every store, manifest, ready mail, expiry) deterministically', async () => {
    expect(activitiesOf('gdpr-export')).toEqual([
      'startExport',
      ...Array(7).fill('exportStore'),
      'writeExportManifest',
      'finishExport',
      'enqueueExportReadyMail',
      'expireExport',
    ]);
    await expect(replay('gdpr-export')).resolves.toBeUndefined();
  });

  // Recorded before the vectors part and the ready mail (the `gdpr-export-vectors-and-mail` patch):
  // an export begun then still replays without them.
  it('replays an export recorded before the vectors part and the ready mail', async () => {
    expect(activitiesOf('gdpr-export-before-vectors')).toEqual([
      'startExport',
      ...Array(6).fill('exportStore'),
      'writeExportManifest',
      'finishExport',
      'expireExport',
    ]);
    await expect(replay('gdpr-export-before-vectors')).resolves.toBeUndefined();
  });
});
