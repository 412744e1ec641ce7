// Embedded PostgreSQL for `up`: PGlite (PostgreSQL compiled to WASM) with its data on disk, served
// over the Postgres wire protocol so that the API, the workers and the migrator connect with the
// ordinary `pg` driver.
//
// PGlite is one PostgreSQL backend. The wire server (embedded/pglite-wire-server.ts, which says
// why it replaces @electric-sql/pglite-socket's) gives it to one connection's message group at a
// time and to one transaction until it ends, so transactions are serialised and each keeps its
// own set_config(…, true). Session settings are shared by every connection: all app connections
// SET the same role, and nothing else may change session state.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PgliteWireServer } from './embedded/pglite-wire-server.js';

export interface PgliteServerOptions {
  /** Data directory; created and initialised on first start. 'memory://' keeps it in memory. */
  dataDir: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Concurrent client connections; every pool in every process counts against it. */
  maxConnections: number;
  /** Load pgvector (the vector store's own database under `up`). */
  pgvector?: boolean;
}

export interface PgliteServer {
  /** Superuser URL (PGlite's only login). */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export class PortInUseError extends Error {
  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    super(`port ${port} on ${host} is already in use`);
  }
}

export async function startPgliteServer(options: PgliteServerOptions): Promise<PgliteServer> {
  const db = await PGlite.create({
    dataDir: options.dataDir,
    ...(options.pgvector && { extensions: { vector } }),
  });
  const server = new PgliteWireServer(db, options);
  let port: number;
  try {
    port = await server.listen();
  } catch (err) {
    await db.close();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw new PortInUseError(options.host, options.port);
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    url: `postgres://postgres@${options.host}:${port}/postgres`,
    port,
    stop() {
      // Closing the database checkpoints it, so the next start finds a clean data directory.
      stopping ??= server.close().then(() => db.close());
      return stopping;
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: '.data/pglite' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '5432' },
      'max-connections': { type: 'string', default: '32' },
      pgvector: { type: 'boolean', default: false },
    },
  });
  let server: PgliteServer;
  try {
    server = await startPgliteServer({
      dataDir: values.data,
      host: values.host,
      port: Number(values.port),
      maxConnections: Number(values['max-connections']),
      pgvector: values.pgvector,
    });
  } catch (err) {
    process.stderr.write(`pglite-server: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  process.stdout.write(`pglite-server: ready at ${server.url} (data ${values.data})\n`);
  const stop = (signal: string) => {
    process.stdout.write(`pglite-server: ${signal}, stopping\n`);
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`pglite-server: stop failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}
