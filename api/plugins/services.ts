// The process's shared clients, built by the entry point (or a test) and handed to the app.
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Db } from '../../db/client.js';
import { setAuditSink } from '../../runtime/audit-log.js';
import type { Config } from '../../runtime/config.js';
import { EgressGuard, egressSettingsFromConfig } from '../../runtime/egress.js';

export interface AppServices {
  config: Config;
  pool: pg.Pool;
  db: Db;
  temporal: Client;
  /** Absent when no REDIS_URL is configured: limits and caches are then in-process. */
  redis?: Redis | undefined;
  /** The way out for URLs a tenant sets; built from the config when absent (tests pass their own resolver). */
  egress?: EgressGuard | undefined;
}

declare module 'fastify' {
  interface FastifyInstance extends AppServices {
    egress: EgressGuard;
  }
}

export default fp(
  async function services(app: FastifyInstance, services: AppServices) {
    app.decorate('config', services.config);
    app.decorate('pool', services.pool);
    app.decorate('db', services.db);
    app.decorate('temporal', services.temporal);
    app.decorate('redis', services.redis);
    app.decorate(
      'egress',
      services.egress ??
        new EgressGuard({
          ...egressSettingsFromConfig(services.config),
          onRefused: (event) => app.log.warn({ egress: event }, 'outbound request refused'),
        }),
    );
    // Audit entries written by this app are also logged, one line each, with `audit: true`.
    setAuditSink(app.log);
  },
  { name: 'services' },
);
