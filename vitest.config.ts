import { appendFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // An unhandled error fails the run (vitest's default, kept); it is also written down so that
    // scripts/test.sh can repeat it at the very end, where a CI log's tail shows it.
    onUnhandledError(error) {
      const where = error.stack ?? error.message;
      appendFileSync('.data/unhandled-errors.log', `${error.type}: ${where}\n\n`);
    },
  },
});
