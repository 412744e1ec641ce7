// The time-skipping test server, with the namespace's custom search attributes registered as the
// dev server and production have them (it silently never starts a workflow that sets an unknown one).
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
// CommonJS package: Node's ESM loader sees only its default export.
import proto from '@temporalio/proto';
import { searchAttributes } from '../../temporal.config.js';
import { repoRoot } from '../support/services.js';

export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: {
      executable: { type: 'existing-path', path: join(repoRoot, '.tools/bin/temporal-test-server') },
    },
  });
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: {
      [searchAttributes.orgId]: proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    },
  });
  return env;
}
