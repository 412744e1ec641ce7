import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import * as schema from './schema/index.js';

/** Drizzle over the pool; `$client` is the pool itself, for the few writers that need the pg client. */
export type Db = NodePgDatabase<typeof schema> & { $client: pg.Pool };
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export interface PoolOptions {
  url: string;
  size: number;
  /** Role to assume on every connection, for servers where the login role is a superuser (PGlite). */
  appRole?: string | undefined;
  applicationName: string;
}

/** pg-pool awaits this hook before handing a new connection out (not yet in @types/pg). */
type PoolConfigWithHook = pg.PoolConfig & { onConnect?: (client: pg.PoolClient) => Promise<void> };

export function createPool(options: PoolOptions): pg.Pool {
  const role = options.appRole;
  const config: PoolConfigWithHook = {
    connectionString: options.url,
    max: options.size,
    application_name: options.applicationName,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
    // Runs before any query on the connection, so nothing runs as the (superuser) login role.
    onConnect: role
      ? async (client) => {
          await client.query("SELECT set_config('role', $1, false)", [role]);
        }
      : undefined,
  };
  return new pg.Pool(config);
}

export function createDb(pool: pg.Pool): Db {
  return drizzle(pool, { schema });
}
