// A freshly migrated database of its own, on the suite's server, for tests that change what is
// global to a database (the master key every secret is wrapped by, the signing keys): doing that in
// the shared database would pull the ground from under the other test files.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { migrateDatabase } from '../../db/migrate.js';

export interface IsolatedDatabase {
  /** The app login (a member of vlinders_app) on the new database. */
  appUrl: string;
  /** The superuser on the new database. */
  adminUrl: string;
  drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

export async function createIsolatedDatabase(label: string): Promise<IsolatedDatabase> {
  const name = `${label}_${randomBytes(4).toString('hex')}`;
  const server = new pg.Client(inject('adminDatabaseUrl'));
  await server.connect();
  try {
    await server.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await server.end();
  }
  const adminUrl = withDatabase(inject('adminDatabaseUrl'), name);
  await migrateDatabase(adminUrl);
  return {
    adminUrl,
    appUrl: withDatabase(inject('databaseUrl'), name),
    drop: async () => {
      const client = new pg.Client(inject('adminDatabaseUrl'));
      await client.connect();
      try {
        await client.query(`DROP DATABASE ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * A superuser pool on an isolated database. The drop's FORCE ends whatever connection is still
 * open there; without a listener, an idle one ending would crash the test process.
 */
export function adminPool(adminUrl: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: adminUrl, max: 2 });
  pool.on('error', () => undefined);
  return pool;
}
