// The Ray cluster that the suite's global setup started (test/support/ray-serve.ts), for the tests
// that go through real Ray Serve and vLLM.
import { inject } from 'vitest';
import { untilRunning } from '../support/ray-serve.js';

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
