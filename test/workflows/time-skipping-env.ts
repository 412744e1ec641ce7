// The time-skipping test server, with the namespace's custom search attributes registered as the
// dev server and production have them (it silently never starts a workflow that sets an unknown one).
import { join } from 'node:path';
import type { ConnectionPlugin, WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
// CommonJS package: Node's ESM loader sees only its default export.
import proto from '@temporalio/proto';
import { optionalTsToMs } from '@temporalio/common/lib/time.js';
import { searchAttributes } from '../../temporal.config.js';
import { repoRoot } from '../support/services.js';

const { PendingActivityState } = proto.temporal.api.enums.v1;

/**
 * The test server (gRPC Java) allows a keepalive ping at most every 5 minutes, and none between
 * calls; the client's default pings every 30 s, calls or not. A file that keeps its environment for
 * more than a minute and a half (any, on a busy machine) had its connection closed for "excess pings"
 * mid-test, and the test hung. The client pings within the server's terms instead.
 */
const pingsTheServerAllows: ConnectionPlugin = {
  name: 'vlinders-test-server-keepalive',
  configureConnection: (options) => ({
    ...options,
    channelArgs: {
      ...options.channelArgs,
      'grpc.keepalive_time_ms': 300_000,
      'grpc.keepalive_permit_without_calls': 0,
    },
  }),
};

export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: {
      executable: { type: 'existing-path', path: join(repoRoot, '.tools/bin/temporal-test-server') },
    },
    plugins: [pingsTheServerAllows],
  });
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: {
      [searchAttributes.orgId]: proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    },
  });
  return env;
}

/** How far off an activity's next retry must be for a terminate to land safely before it. */
const retryMarginMs = 3_000;

/**
 * Terminates a workflow once no workflow task or activity of it is out. The test server holds its
 * clock while a workflow task is scheduled or an activity runs, and a terminate in that moment never
 * gives the hold back: time stops skipping on that server for every later test, which then waits out
 * its timers and retries in real time (its "31 days" sleep never returns).
 *
 * An activity scheduled for its first attempt counts as out: a worker starts it a moment later (a
 * terminate that landed then, as a lifecycle's last mail went out, was a later test's hang). So does
 * one waiting to retry within the next few seconds: outside `result()` and `sleep()` the test
 * environment locks time skipping, so a retry's backoff passes in real time and its attempt starts on
 * its own (a terminate that met the retry of a step that had failed once under load was another
 * hang). A retry further off is safe to terminate before. Waits at most 30 s, for a task no worker
 * will take.
 */
export async function terminateWhenIdle(env: TestWorkflowEnvironment, handle: WorkflowHandle): Promise<void> {
  const { PENDING_ACTIVITY_STATE_SCHEDULED: scheduled } = PendingActivityState;
  const busy = async () => {
    const [{ raw }, now] = await Promise.all([handle.describe(), env.currentTimeMs()]);
    if (raw.pendingWorkflowTask != null) return true;
    return (raw.pendingActivities ?? []).some((a) => {
      if (a.state !== scheduled) return true;
      const nextAttempt = optionalTsToMs(a.nextAttemptScheduleTime);
      if (!a.lastFailure || nextAttempt === undefined) return true;
      return nextAttempt - now < retryMarginMs;
    });
  };
  for (let i = 0; i < 300 && (await busy()); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  await handle.terminate('test finished');
}
