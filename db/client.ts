import { DrizzleQueryError } from 'drizzle-orm';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import * as schema from './schema/index.js';

/** Drizzle over the pool; `$client` is the pool itself, for the few writers that need the pg client. */
export type Db = NodePgDatabase<typeof schema> & { $client: pg.Pool };
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** Deadlines for callers that pass none (scripts, tests): generous, but a hung server still ends. */
export const defaultQueryTimeoutMs = 60_000;
export const defaultConnectTimeoutMs = 10_000;
/** The client waits this much longer than statement_timeout, so a merely slow query gets the server's clean cancel. */
const clientDeadlineMarginMs = 250;
const readTimeoutMessage = 'Query read timeout';

export interface PoolOptions {
  url: string;
  size: number;
  /** Role to assume on every connection, for servers where the login role is a superuser (PGlite). */
  appRole?: string | undefined;
  applicationName: string;
  /** Deadline of one query: the server cancels it (statement_timeout), the client gives up on a server that does not answer at all. */
  queryTimeoutMs?: number | undefined;
  /** How long getting a connection may take: opening one, or waiting for a free one. */
  connectTimeoutMs?: number | undefined;
  /** An idle connection failed (the server went away); the pool has already dropped it. */
  onError?: ((err: Error) => void) | undefined;
}

/** pg-pool awaits this hook before handing a new connection out (not yet in @types/pg). */
type PoolConfigWithHook = pg.PoolConfig & { onConnect?: (client: pg.PoolClient) => Promise<void> };

export function createPool(options: PoolOptions): pg.Pool {
  const role = options.appRole;
  const queryTimeoutMs = options.queryTimeoutMs ?? defaultQueryTimeoutMs;
  const config: PoolConfigWithHook = {
    connectionString: options.url,
    max: options.size,
    application_name: options.applicationName,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: options.connectTimeoutMs ?? defaultConnectTimeoutMs,
    statement_timeout: queryTimeoutMs,
    // A hung server (stopped, or a network that drops packets) never answers: only a client-side
    // deadline ends the wait.
    query_timeout: queryTimeoutMs + clientDeadlineMarginMs,
    // Runs before any query on the connection, so nothing runs as the (superuser) login role.
    onConnect: role
      ? async (client) => {
          await client.query("SELECT set_config('role', $1, false)", [role]);
        }
      : undefined,
  };
  const pool = new pg.Pool(config);
  // Without a listener, an idle connection whose server goes away would crash the process.
  pool.on('error', (err) => options.onError?.(err));
  pool.on('connect', (client) => {
    // The same for a connection in use: its pending queries are rejected, which is what callers see.
    client.on('error', () => undefined);
    dropOnReadTimeout(client);
  });
  return pool;
}

/**
 * A query past its client-side deadline leaves the connection busy with it, possibly inside a
 * transaction the server will finish later. Such a connection is never handed out again: it goes
 * back to the pool as failed (closed, its place freed) at once. Drizzle's transaction does not
 * release its connection when BEGIN itself fails, so waiting for the caller's release would leak
 * the connection; the caller's later release becomes a no-op.
 */
function dropOnReadTimeout(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  const wrapped = (...args: unknown[]): unknown => {
    const result = query(...args);
    // Callback-style queries come from pool.query, which releases a failed connection itself.
    if (result instanceof Promise)
      result.catch((err: unknown) => {
        if (!(err instanceof Error) || err.message !== readTimeoutMessage) return;
        const release = client.release.bind(client);
        client.release = () => undefined;
        try {
          release(err);
        } catch {
          // Already back in the pool: the next query on it waits behind the stuck one, times out, drops it.
        }
      });
    return result;
  };
  Object.assign(client, { query: wrapped });
}

/** SQLSTATE classes and codes that mean the server is unreachable or not serving, not that the query is wrong. */
const unavailableStates = new Set(['57014', '57P01', '57P02', '57P03', '53300']);
const unavailableSystemCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const unavailableMessages = [
  readTimeoutMessage,
  'timeout exceeded when trying to connect',
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
];

/**
 * Whether an error means the database did not answer: refused or lost connections, a deadline
 * passed, a server shutting down or starting up. Drizzle wraps the driver's error; only that
 * wrapper is looked through, so another client's network error (a fetch's cause) does not count.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const err = error instanceof DrizzleQueryError ? error.cause : error;
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (unavailableSystemCodes.has(code) || unavailableStates.has(code) || code.startsWith('08')) return true;
  }
  return unavailableMessages.some((m) => err.message.startsWith(m));
}

export function createDb(pool: pg.Pool): Db {
  return drizzle(pool, { schema });
}
