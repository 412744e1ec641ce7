// Replays recorded onboarding histories (test/fixtures/histories, re-recorded with
// RECORD_HISTORIES=1 npx vitest run test/workflows/onboarding.test.ts) against today's workflow
// code: a change that would make a running onboarding non-deterministic fails here.
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

describe('onboarding replay', () => {
  // The *-before-billing histories were recorded before onboarding opened the Stripe customer and
  // started the subscription: onboardings running then must still replay (patched 'onboarding-billing').
  it.each([
    'onboarding-active',
    'onboarding-failed',
    'onboarding-active-before-billing',
    'onboarding-failed-before-billing',
  ])('replays the recorded %s history deterministically', async (name) => {
    const history = loadHistory(name);
    expect(history.events.length).toBeGreaterThan(10);
    await expect(
      Worker.runReplayHistory({ workflowBundle: bundle, ...temporalWorkerTracing() }, history, name),
    ).resolves.toBeUndefined();
  });
});
