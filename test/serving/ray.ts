// The Ray cluster that the suite's global setup started (test/support/ray-serve.ts), for the tests
// that go through real Ray Serve and vLLM.
import { inject, type ProvidedContext } from 'vitest';
import { takeLock, untilRunning } from '../support/ray-serve.js';

/** The suite's cluster: its dashboard, its Serve proxy, its metrics and the test models' folder. */
export type SuiteCluster = NonNullable<ProvidedContext['ray']>;

/**
 * Exclusive use of the run's Ray cluster, once the named applications are RUNNING (loading models
 * takes minutes on CPU). The test files that change it (a writer of their own on it, replicas up and
 * down, versions in and out) or that need it steady while they measure take turns, so no file's
 * change breaks another's traffic; the applications are checked after the turn comes, since the
 * previous holder may have left them redeploying. A file's beforeAll may wait here for the others
 * (20 minutes and more): their hook timeouts allow 40.
 */
export async function takeSuiteCluster(
  ...applications: string[]
): Promise<{ ray: SuiteCluster; release: () => void }> {
  const ray = inject('ray');
  if (!ray) {
    throw new Error(
      'no Ray cluster in this run: install it (scripts/serving/install.sh) and run the serving tests ' +
        'with the suite, or name test/serving in the filter, or set VLINDERS_RAY=1',
    );
  }
  const port = new URL(ray.dashboardUrl).port;
  const release = await takeLock(
    `/tmp/vlinders-suite-cluster-${port}.lock`,
    "a test changing the suite's Ray cluster",
  );
  try {
    // The previous holder's last change may rebuild an application (many minutes on a busy machine).
    await untilRunning(ray.dashboardUrl, applications, 1_200_000);
  } catch (err) {
    release();
    throw err;
  }
  return { ray, release };
}
