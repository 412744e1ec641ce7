// The Ray cluster that the suite's global setup started (test/support/ray-serve.ts), for the tests
// that go through real Ray Serve and vLLM.
import { inject } from 'vitest';
import { takeLock, untilRunning } from '../support/ray-serve.js';

/** The run's Ray cluster, once the named applications are RUNNING (loading models takes minutes on CPU). */
export async function rayWith(...applications: string[]) {
  const ray = inject('ray');
  if (!ray) {
    throw new Error(
      'no Ray cluster in this run: install it (scripts/serving/install.sh) and run the serving tests ' +
        'with the suite, or name test/serving in the filter, or set VLINDERS_RAY=1',
    );
  }
  await untilRunning(ray.dashboardUrl, applications);
  return ray;
}

/**
 * Exclusive use of the run's Ray cluster, for the test files that change it (a writer of their own
 * on it, replicas up and down, versions in and out) or that need it steady while they measure: they
 * take turns, so no file's change breaks another's traffic. Answers the release. A file's
 * beforeAll may wait here for the others (20 minutes and more): their hook timeouts allow 40.
 */
export function takeSuiteCluster(ray: { dashboardUrl: string }): Promise<() => void> {
  const port = new URL(ray.dashboardUrl).port;
  return takeLock(`/tmp/vlinders-suite-cluster-${port}.lock`, "a test changing the suite's Ray cluster");
}
