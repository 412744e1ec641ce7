import { appendFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Guards against a hang, not timings: generous, so a machine busy with other work (another
    // checkout's run, Ray loading models) slows tests down without failing them.
    testTimeout: 90_000,
    hookTimeout: 240_000,
    pool: 'forks',
    // Three files at a time on two cores: many files mostly wait (for a killed worker's restart, a
    // workflow's timer, a service's answer), and one file per core would leave the cores idle. The
    // serving tests run after the rest, one file at a time (scripts/test.sh).
    maxWorkers: 3,
    // An unhandled error fails the run (vitest's default, kept); it is also written down so that
    // scripts/test.sh can repeat it at the very end, where a CI log's tail shows it.
    onUnhandledError(error) {
      const where = error.stack ?? error.message;
      appendFileSync('.data/unhandled-errors.log', `${error.type}: ${where}\n\n`);
    },
  },
});
