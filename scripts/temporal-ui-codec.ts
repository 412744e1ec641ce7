// The local Temporal UI's codec endpoint under `up` — development only. The dev server's UI has no
// sign-in, so it cannot send an operator's token to the API's /codec, which answers operators only.
// This proxy listens on loopback, signs in as the local operator account that `up` creates (its
// password in .data/up.env), and forwards the UI's /encode and /decode to the API with that
// account's token. It answers the UI's origin alone (CORS; a request from any other page is
// refused) and loopback Host names alone (a page that rebinds its DNS name to 127.0.0.1 gets
// nothing). Production runs no proxy: the UI signs its users in with OIDC and passes their token
// (docs/operations.md, "Temporal UI").
//   node dist/scripts/temporal-ui-codec.js --api http://127.0.0.1:3000 --ui-origin http://localhost:8233 \
//     --email operator@vlinders.localhost [--port 8234]   (password in UP_OPERATOR_PASSWORD; the
//     account is made an operator through DATABASE_MIGRATION_URL or DATABASE_URL)
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { postJson } from './verified-sign-up.js';

export interface OperatorAccount {
  /** The API's base URL, as this process reaches it. */
  apiUrl: string;
  email: string;
  password: string;
}

class ApiRefused extends Error {}

/** The account's access token; undefined when the password is wrong or the address unverified. */
async function logIn(account: OperatorAccount): Promise<string | undefined> {
  const { apiUrl, email, password } = account;
  const res = await postJson(`${apiUrl}/api/auth/login`, { email, password });
  if (res.status === 401 || res.status === 403) return undefined;
  if (!res.ok) throw new ApiRefused(`login as ${email}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

/**
 * Creates the account when it does not exist yet and makes it a platform operator with a verified
 * address (SQL, as docs/workflows.md describes the operator grant, through a connection that may
 * change users: the local operator's address is no mailbox, `up` vouches for it). Idempotent.
 */
export async function ensureOperatorAccount(
  account: OperatorAccount,
  adminDatabaseUrl: string,
): Promise<void> {
  if ((await logIn(account)) === undefined) {
    // Answered 202 whether or not the address has an account (sign-up does not tell).
    const res = await postJson(`${account.apiUrl}/api/auth/signup`, {
      email: account.email,
      password: account.password,
    });
    if (res.status !== 202)
      throw new ApiRefused(`sign-up of ${account.email}: ${res.status} ${await res.text()}`);
  }
  const client = new pg.Client({
    connectionString: adminDatabaseUrl,
    application_name: 'vlinders-up-operator',
  });
  await client.connect();
  try {
    await client.query(
      `UPDATE users SET platform_role = 'operator', email_verified_at = coalesce(email_verified_at, now())
        WHERE lower(email) = lower($1)`,
      [account.email],
    );
  } finally {
    await client.end();
  }
  if ((await logIn(account)) === undefined)
    throw new ApiRefused(
      `${account.email} exists with another password: set UP_OPERATOR_PASSWORD in .data/up.env to its password`,
    );
}

/** The operator's access token, signed in again when the API no longer takes it. */
class OperatorSession {
  private token: Promise<string> | undefined;

  constructor(private readonly account: OperatorAccount) {}

  current(): Promise<string> {
    if (this.token === undefined) {
      const token = logIn(this.account).then((accessToken) => {
        if (accessToken === undefined)
          throw new ApiRefused(`the API refused the password of ${this.account.email}`);
        return accessToken;
      });
      // A failed sign-in is tried afresh by the next request.
      token.catch(() => this.expired(token));
      this.token = token;
    }
    return this.token;
  }

  expired(token: Promise<string>): void {
    if (this.token === token) this.token = undefined;
  }
}

const maxBodyBytes = 4 * 1024 * 1024;
const loopbackHost = /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/;

async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBodyBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function answer(response: ServerResponse, status: number, body?: string): void {
  response.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
  response.end(body);
}

const errorBody = (message: string) => JSON.stringify({ error: { message } });

export interface CodecProxyOptions extends OperatorAccount {
  /** The Temporal UI's origin: the only page allowed to call the proxy. */
  uiOrigin: string;
}

/** The proxy's request handler: CORS for the UI, /encode and /decode forwarded with the operator's token. */
function codecProxyHandler(options: CodecProxyOptions) {
  const session = new OperatorSession(options);

  const forward = async (operation: string, body: Buffer, namespace: string | undefined) => {
    const send = async (token: string) =>
      fetch(`${options.apiUrl}/codec/${operation}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          ...(namespace ? { 'x-namespace': namespace } : {}),
        },
        body,
      });
    const token = session.current();
    const res = await send(await token);
    if (res.status !== 401) return res;
    session.expired(token);
    return send(await session.current());
  };

  return async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (!loopbackHost.test(request.headers.host ?? ''))
      return answer(response, 421, errorBody('not a loopback host'));
    const origin = request.headers.origin;
    // Requests without an Origin come from a local program, not a web page.
    if (origin !== undefined && origin !== options.uiOrigin)
      return answer(response, 403, errorBody('only the Temporal UI may call this proxy'));
    if (origin !== undefined) {
      response.setHeader('access-control-allow-origin', origin);
      response.setHeader('access-control-allow-credentials', 'true');
      response.setHeader('vary', 'Origin');
    }
    if (request.method === 'OPTIONS') {
      response.setHeader('access-control-allow-methods', 'POST');
      response.setHeader('access-control-allow-headers', 'content-type, x-namespace, authorization');
      response.setHeader('access-control-max-age', '600');
      return answer(response, 204);
    }
    // Only the last path segment names the operation (the codec server protocol).
    const operation = new URL(request.url ?? '/', 'http://proxy').pathname.split('/').pop();
    if (operation !== 'encode' && operation !== 'decode')
      return answer(response, 404, errorBody('not found'));
    if (request.method !== 'POST') return answer(response, 405, errorBody('POST only'));
    const body = await readBody(request);
    if (body === undefined) return answer(response, 413, errorBody(`the body exceeds ${maxBodyBytes} bytes`));
    const namespace = request.headers['x-namespace'];
    try {
      const res = await forward(operation, body, typeof namespace === 'string' ? namespace : undefined);
      answer(response, res.status, await res.text());
    } catch (err) {
      answer(response, 502, errorBody(`the API could not be reached: ${(err as Error).message}`));
    }
  };
}

/** Starts the proxy on host:port (0: any free port); resolves once it listens. */
export async function startCodecProxy(
  options: CodecProxyOptions,
  port: number,
  host = '127.0.0.1',
): Promise<{ server: Server; url: string }> {
  const handle = codecProxyHandler(options);
  const server = createServer((request, response) => void handle(request, response));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address() as AddressInfo;
  return { server, url: `http://${host}:${address.port}` };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const usage =
    'usage: temporal-ui-codec.js --api <API URL> --ui-origin <Temporal UI origin> --email <operator email> [--port 8234]';
  const fail = (message: string): never => {
    process.stderr.write(`temporal-ui-codec: ${message}\n${usage}\n`);
    process.exit(2);
  };
  let values: { api?: string; 'ui-origin'?: string; email?: string; port: string };
  try {
    ({ values } = parseArgs({
      options: {
        api: { type: 'string' },
        'ui-origin': { type: 'string' },
        email: { type: 'string' },
        port: { type: 'string', default: '8234' },
      },
    }));
  } catch (err) {
    values = fail((err as Error).message);
  }
  const port = Number(values.port);
  const password = process.env.UP_OPERATOR_PASSWORD;
  const adminDatabaseUrl = process.env.DATABASE_MIGRATION_URL || process.env.DATABASE_URL;
  if (!values.api || !values['ui-origin'] || !values.email)
    fail('--api, --ui-origin and --email are required');
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail('--port must be a port number');
  if (!password) fail('UP_OPERATOR_PASSWORD is not set');
  if (!adminDatabaseUrl) fail('DATABASE_MIGRATION_URL (or DATABASE_URL) is not set');
  const account = { apiUrl: values.api!, email: values.email!, password: password! };
  await ensureOperatorAccount(account, adminDatabaseUrl!);
  const { server, url } = await startCodecProxy({ ...account, uiOrigin: values['ui-origin']! }, port);
  process.stdout.write(`codec proxy for the Temporal UI on ${url}, as operator ${account.email}\n`);
  const stop = () => server.close(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
