// A Postgres wire-protocol front for PGlite that many client connections can share safely.
//
// PGlite is one PostgreSQL backend, so connections take turns on it. The unit of a turn must be a
// whole message group, not a single message: an extended-protocol query is Parse, Bind, Describe,
// Execute, Sync, and the unnamed statement and portal it creates are backend state. If another
// connection's Parse lands between them, the query fails ("unnamed prepared statement does not
// exist"). @electric-sql/pglite-socket 0.2.17 interleaves single messages outside explicit
// transactions, which breaks every concurrent parameterised query outside a transaction; this
// server queues each group up to its Sync (or simple Query, Flush, CopyDone…) as one unit and
// keeps the backend with one connection for as long as the backend is not idle (inside a
// transaction, or mid-group), so transactions are serialised and each keeps its own settings.
import { createServer, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';

const sslRequestCode = 80877103;
const gssEncRequestCode = 80877104;
const cancelRequestCode = 80877102;

/** Client message types after which the client waits for an answer: a group ends there. */
const groupEnd = new Set(['S', 'Q', 'H', 'c', 'f', 'F', 'p'].map((c) => c.charCodeAt(0)));
const terminate = 'X'.charCodeAt(0);
const readyForQuery = 'Z'.charCodeAt(0);
const idle = 'I'.charCodeAt(0);

/** A complete query message, for the server's own clean-up statements. */
function queryMessage(text: string): Uint8Array {
  const body = Buffer.from(`${text}\0`, 'utf8');
  const message = Buffer.alloc(5 + body.length);
  message.write('Q', 0, 'latin1');
  message.writeInt32BE(4 + body.length, 1);
  body.copy(message, 5);
  return message;
}
const syncMessage = Uint8Array.from([0x53, 0, 0, 0, 4]);

/** A FATAL ErrorResponse, which clients report as the reason their connection failed. */
function fatal(code: string, text: string): Buffer {
  const fields = Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${text}\0\0`, 'utf8');
  const message = Buffer.alloc(5 + fields.length);
  message.write('E', 0, 'latin1');
  message.writeInt32BE(4 + fields.length, 1);
  fields.copy(message, 5);
  return message;
}

class ClientConnection {
  buffer: Buffer = Buffer.alloc(0);
  started = false;
  closed = false;
  pending: Buffer[] = [];
  constructor(readonly socket: Socket) {}
}

interface Unit {
  connection: ClientConnection;
  /** Messages to run, or 'reset' to end whatever a closed connection left open. */
  bytes: Uint8Array | 'reset';
}

export interface WireServerOptions {
  host: string;
  port: number;
  maxConnections: number;
}

export class PgliteWireServer {
  private readonly queue: Unit[] = [];
  private readonly connections = new Set<ClientConnection>();
  /** Every open socket, refused ones included, so close() does not wait on a client. */
  private readonly sockets = new Set<Socket>();
  /** The connection the backend is reserved for until it is idle again. */
  private owner: ClientConnection | undefined;
  private draining = false;
  private server: Server | undefined;

  constructor(
    private readonly db: PGlite,
    private readonly options: WireServerOptions,
  ) {}

  /** Listens; resolves with the bound port. Rejects with the listen error (EADDRINUSE…). */
  listen(): Promise<number> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : this.options.port);
      });
    });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    // Let a turn in progress finish before the caller closes the database.
    while (this.draining) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    if (this.connections.size >= this.options.maxConnections) {
      socket.end(fatal('53300', 'sorry, too many clients already'));
      return;
    }
    const connection = new ClientConnection(socket);
    this.connections.add(connection);
    socket.on('data', (data) => this.receive(connection, data));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.release(connection));
  }

  private receive(connection: ClientConnection, data: Buffer): void {
    connection.buffer = connection.buffer.length === 0 ? data : Buffer.concat([connection.buffer, data]);
    for (;;) {
      const buffer = connection.buffer;
      if (!connection.started) {
        // Start-up phase: untyped messages (length, code).
        if (buffer.length < 8) return;
        const length = buffer.readInt32BE(0);
        if (buffer.length < length) return;
        const code = buffer.readInt32BE(4);
        const message = buffer.subarray(0, length);
        connection.buffer = buffer.subarray(length);
        if (code === sslRequestCode || code === gssEncRequestCode) {
          connection.socket.write('N');
          continue;
        }
        if (code === cancelRequestCode) {
          // There is no second backend to signal: cancellation is not supported.
          connection.socket.end();
          return;
        }
        connection.started = true;
        this.enqueue({ connection, bytes: message });
        continue;
      }
      if (buffer.length < 5) return;
      const length = 1 + buffer.readInt32BE(1);
      if (buffer.length < length) return;
      const type = buffer[0]!;
      const message = buffer.subarray(0, length);
      connection.buffer = buffer.subarray(length);
      if (type === terminate) {
        connection.socket.end();
        return;
      }
      connection.pending.push(message);
      if (groupEnd.has(type)) {
        const group = connection.pending.length === 1 ? message : Buffer.concat(connection.pending);
        connection.pending = [];
        this.enqueue({ connection, bytes: group });
      }
    }
  }

  private release(connection: ClientConnection): void {
    if (connection.closed) return;
    connection.closed = true;
    this.connections.delete(connection);
    for (let i = this.queue.length - 1; i >= 0; i--)
      if (this.queue[i]!.connection === connection) this.queue.splice(i, 1);
    // A connection that dies holding the backend must not leave its transaction open for the next.
    if (this.owner === connection) this.enqueue({ connection, bytes: 'reset' });
  }

  private enqueue(unit: Unit): void {
    this.queue.push(unit);
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      for (;;) {
        const owner = this.owner;
        const index = owner ? this.queue.findIndex((u) => u.connection === owner) : 0;
        if (index < 0 || this.queue.length === 0) return;
        const unit = this.queue.splice(index, 1)[0]!;
        this.owner = (await this.run(unit)) ? undefined : unit.connection;
      }
    } finally {
      this.draining = false;
    }
  }

  /** Runs one unit; true when the backend is idle afterwards (released for anyone). */
  private async run(unit: Unit): Promise<boolean> {
    const { connection } = unit;
    try {
      if (unit.bytes === 'reset') {
        let status = await this.execute(syncMessage);
        if (status !== idle) status = await this.execute(queryMessage('ROLLBACK'));
        return status === idle;
      }
      return (await this.execute(unit.bytes, connection)) === idle;
    } catch (err) {
      // The backend failed (not a SQL error, which is an answer): drop this client, clean up.
      connection.socket.end(
        fatal('XX000', `embedded database failure: ${err instanceof Error ? err.message : String(err)}`),
      );
      const status = await this.execute(syncMessage).catch(() => undefined);
      return status === idle;
    }
  }

  /** Runs messages on the backend; returns the transaction status of a final ReadyForQuery. */
  private async execute(bytes: Uint8Array, to?: ClientConnection): Promise<number | undefined> {
    let tail = Buffer.alloc(0);
    await this.db.runExclusive(() =>
      this.db.execProtocolRawStream(bytes, {
        onRawData: (data) => {
          if (to && !to.closed && to.socket.writable) to.socket.write(Buffer.from(data));
          tail = Buffer.concat([tail, Buffer.from(data.subarray(Math.max(0, data.length - 6)))]).subarray(-6);
        },
      }),
    );
    if (tail.length === 6 && tail[0] === readyForQuery && tail.readInt32BE(1) === 5) return tail[5];
    return undefined;
  }
}
