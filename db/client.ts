import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import * as schema from './schema/index.js';

export type Db = NodePgDatabase<typeof schema>;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export interface PoolOptions {
  url: string;
  size: number;
  /** Role to assume on every connection, for servers where the login role is a superuser (PGlite). */
  appRole?: string | undefined;
  applicationName: string;
}

export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.size,
    application_name: options.applicationName,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
  });
  if (options.appRole) {
    const role = options.appRole;
    // Queued ahead of any query on this connection, so nothing runs as the login role.
    pool.on('connect', (client) => {
      client.query("SELECT set_config('role', $1, false)", [role]).catch((err: unknown) => {
        client.release(err instanceof Error ? err : new Error(String(err)));
      });
    });
  }
  return pool;
}

export function createDb(pool: pg.Pool): Db {
  return drizzle(pool, { schema });
}
