// Replays a recorded history of a cluster's writer (re-recorded with RECORD_HISTORIES=1 npx vitest
// run test/serving/serve-cluster.test.ts) against today's workflow code: a change that would make a
// running writer non-deterministic fails here.
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

describe('serve-cluster replay', () => {
  it('replays the recorded writer history (adopt, put, refuse, replicas, drift, remove) deterministically', async () => {
    const history = loadHistory('serve-cluster');
    expect(history.events.length).toBeGreaterThan(20);
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: bundle, ...temporalWorkerTracing() },
        history,
        'serve-cluster',
      ),
    ).resolves.toBeUndefined();
  });
});
