import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { parseConfig, type Config } from '../../runtime/config.js';
import { stripeTestKey } from './services.js';

/** The webhook signing secret test apps are configured with (tests sign events with it). */
export const stripeWebhookSecret = 'whsec_vlindersTestSecret';

/** A full config pointing at the suite's real services. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return parseConfig({
    DATABASE_URL: inject('databaseUrl'),
    DATABASE_MIGRATION_URL: inject('adminDatabaseUrl'),
    REDIS_URL: inject('redisUrl'),
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    // One master key per run (derived from the run's database), so every test file's app can
    // open the signing and data keys another file's app wrapped in the shared database.
    MASTER_KEY: createHash('sha256').update(inject('databaseUrl')).digest('base64'),
    LOG_LEVEL: 'silent',
    PORT: '0',
    // Every test request comes from 127.0.0.1: the per-address budget would throttle the suite
    // itself. test/integration/api/auth-throttle.test.ts checks the budget with low limits.
    AUTH_ATTEMPTS_PER_MINUTE: '1000000',
    // Likewise the failed-key budget (test/attack/auth-consumption.test.ts checks it).
    API_KEY_FAILURES_PER_MINUTE: '1000000',
    // The suite's machines are shared and stall processes for seconds at a time: the API's 1 s
    // database deadlines would fail healthy tests. test/integration/gateway/database-outage.test.ts
    // runs with the production defaults.
    DATABASE_QUERY_TIMEOUT_MS: '15000',
    DATABASE_CONNECT_TIMEOUT_MS: '15000',
    STRIPE_SECRET_KEY: stripeTestKey,
    STRIPE_API_URL: inject('stripeUrl'),
    STRIPE_WEBHOOK_SECRET: stripeWebhookSecret,
    // The embedded vector store is a folder one process holds: one per test process (and the
    // workers it starts), never the checkout's .data/vectors.
    VECTOR_DATA_DIR: join(tmpdir(), `vlinders-test-vectors-${process.pid}`),
    // Sign-up mails a verification link: into a folder of the test process, not the checkout's .data/mail.
    MAIL_DIR: join(tmpdir(), `vlinders-test-mail-${process.pid}`),
    ...overrides,
  });
}
