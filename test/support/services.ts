// Starts the real services the suite needs — PostgreSQL 15, Redis 7, the Temporal dev server,
// stripe-mock, an S3 server (rclone serve s3) — on free loopback ports with data under .data/test, so no server the machine runs is touched.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';

export const repoRoot = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
export const toolsBin = join(repoRoot, '.tools/bin');
const pgBin = '/usr/lib/postgresql/15/bin';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function waitFor(
  what: string,
  probe: () => Promise<boolean> | boolean,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (
      await Promise.resolve()
        .then(probe)
        .catch(() => false)
    )
      return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms`);
}

function asPostgresUser(): string[] {
  // Debian's PostgreSQL refuses to run as root.
  return process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
}

export interface Service {
  url: string;
  stop(): Promise<void>;
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  });
}

export interface PostgresServer extends Service {
  adminUrl: string;
  /**
   * For fault tests: SIGSTOP hangs the server (connections stay up, nothing answers), SIGCONT
   * resumes it, SIGKILL kills every process of it at once (a crash; `restart` brings it back).
   */
  signal(name: 'SIGSTOP' | 'SIGCONT' | 'SIGKILL'): void;
  /** Starts the server again on the same data and port, after its processes were killed. */
  restart(): Promise<void>;
}

function sendSignal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

function childrenOf(parent: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        // The parent pid is the second field after the command name in parentheses.
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent;
      } catch {
        return false;
      }
    })
    .map(Number);
}

export async function startPostgres(): Promise<PostgresServer> {
  // Under the system temp folder: the postgres user must reach it, whatever the checkout's parents allow.
  const dir = mkdtempSync(join(tmpdir(), 'vlinders-pg-'));
  const sudo = asPostgresUser();
  if (sudo.length > 0) {
    chownSync(
      dir,
      Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
      Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
    );
  }
  const run = (cmd: string, args: string[]) =>
    execFileSync(sudo[0] ?? cmd, sudo.length > 0 ? [...sudo.slice(1), cmd, ...args] : args, {
      stdio: 'pipe',
    });
  run(join(pgBin, 'initdb'), [
    '-D',
    join(dir, 'data'),
    '-U',
    'postgres',
    '--auth=trust',
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  const port = await freePort();
  const args = [
    '-D',
    join(dir, 'data'),
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
    '-c',
    'max_connections=200',
  ];
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let child: ChildProcess;
  const logPath = join(dir, 'postgres.log');
  const launch = async () => {
    // The server's log, to say why it did not start (a restart after a crash, say).
    const log = openSync(logPath, 'a');
    const stdio: ['ignore', number, number] = ['ignore', log, log];
    child =
      sudo.length > 0
        ? spawn(sudo[0]!, [...sudo.slice(1), join(pgBin, 'postgres'), ...args], { stdio })
        : spawn(join(pgBin, 'postgres'), args, { stdio });
    closeSync(log);
    try {
      await waitFor('postgres', async () => {
        const c = new pg.Client(adminUrl);
        await c.connect();
        await c.end();
        return true;
      });
    } catch (err) {
      throw new Error(
        `${(err as Error).message}; its log ends:\n${readFileSync(logPath, 'utf8').slice(-2000)}`,
      );
    }
  };
  await launch();
  return {
    url: adminUrl,
    adminUrl,
    signal: (name) => {
      const postmaster = Number(readFileSync(join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
      // Stopped first, the postmaster forks nothing while its children are listed and signalled.
      if (name !== 'SIGCONT') sendSignal(postmaster, 'SIGSTOP');
      for (const pid of childrenOf(postmaster)) sendSignal(pid, name);
      sendSignal(postmaster, name);
      // runuser stops itself when its child stops, and must run again to reap a killed one.
      if (name !== 'SIGSTOP' && child.pid !== undefined && child.pid !== postmaster)
        sendSignal(child.pid, 'SIGCONT');
    },
    restart: launch,
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A Redis server; `port` restarts one where a stopped one was (the limits outage test). */
export async function startRedis(
  dataRoot: string,
  port?: number,
): Promise<Service & { port: number; child: ChildProcess }> {
  const dir = join(dataRoot, 'redis');
  mkdirSync(dir, { recursive: true });
  port ??= await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  );
  await waitFor('redis', () => {
    execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: 'pipe' });
    return true;
  });
  return { url: `redis://127.0.0.1:${port}`, port, child, stop: () => stopChild(child) };
}

/** Stripe's own stripe-mock (the Stripe stand-in): stateless, it validates requests and answers fixtures. */
export async function startStripeMock(): Promise<Service> {
  const binary = join(toolsBin, 'stripe-mock');
  if (!existsSync(binary)) throw new Error(`${binary} missing: run scripts/install-tools.sh stripe-mock`);
  const port = await freePort();
  const child = spawn(binary, ['-http-port', String(port), '-https-port', String(await freePort())], {
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('stripe-mock', async () => {
    const res = await fetch(`${url}/v1/customers`, { headers: { authorization: `Bearer ${stripeTestKey}` } });
    return res.ok;
  });
  return { url, stop: () => stopChild(child) };
}

export interface S3Server extends Service {
  accessKeyId: string;
  secretAccessKey: string;
}

/** rclone's S3 server over a folder of the run, with credentials of its own (SigV4 checked). */
export async function startS3Server(dataRoot: string): Promise<S3Server> {
  const binary = join(toolsBin, 'rclone');
  if (!existsSync(binary)) throw new Error(`${binary} missing: run scripts/install-tools.sh s3`);
  const folder = join(dataRoot, 's3');
  mkdirSync(folder, { recursive: true });
  const port = await freePort();
  const accessKeyId = `vlinders-${randomBytes(6).toString('hex')}`;
  const secretAccessKey = randomBytes(24).toString('hex');
  const child = spawn(
    binary,
    ['serve', 's3', '--addr', `127.0.0.1:${port}`, '--auth-key', `${accessKeyId},${secretAccessKey}`, folder],
    { stdio: 'ignore', env: { ...process.env, RCLONE_CONFIG: '/dev/null' } },
  );
  const url = `http://127.0.0.1:${port}`;
  // An unsigned request is refused: any answer says it is listening.
  await waitFor('rclone serve s3', async () => (await fetch(url)).status >= 400);
  return { url, accessKeyId, secretAccessKey, stop: () => stopChild(child) };
}

/** The Stripe key tests and `up` use against stripe-mock (it accepts any well-formed test key). */
export const stripeTestKey = 'sk_test_vlinders';

export const searchAttributeFlags = ['VlindersOrgId=Keyword'];

export async function startTemporal(): Promise<Service & { address: string }> {
  const binary = join(toolsBin, 'temporal');
  if (!existsSync(binary)) throw new Error(`${binary} missing: run scripts/install-tools.sh`);
  const port = await freePort();
  const uiPort = await freePort();
  const child = spawn(
    binary,
    [
      'server',
      'start-dev',
      '--headless',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--ui-port',
      String(uiPort),
      '--log-level',
      'error',
      ...searchAttributeFlags.flatMap((a) => ['--search-attribute', a]),
    ],
    { stdio: 'ignore' },
  );
  const address = `127.0.0.1:${port}`;
  await waitFor('temporal', () => {
    execFileSync(binary, ['operator', 'namespace', 'describe', '--address', address, '-n', 'default'], {
      stdio: 'pipe',
    });
    return true;
  });
  return { url: address, address, stop: () => stopChild(child) };
}

/** Creates a namespace on the dev server with the platform's search attributes registered. */
export async function createNamespace(address: string, namespace: string): Promise<void> {
  const binary = join(toolsBin, 'temporal');
  execFileSync(binary, ['operator', 'namespace', 'create', '--address', address, '-n', namespace], {
    stdio: 'pipe',
  });
  for (const flag of searchAttributeFlags) {
    const [name, type] = flag.split('=') as [string, string];
    execFileSync(
      binary,
      [
        'operator',
        'search-attribute',
        'create',
        '--address',
        address,
        '-n',
        namespace,
        '--name',
        name,
        '--type',
        type,
      ],
      { stdio: 'pipe' },
    );
  }
  await waitFor(`namespace ${namespace}`, () => {
    execFileSync(binary, ['operator', 'namespace', 'describe', '--address', address, '-n', namespace], {
      stdio: 'pipe',
    });
    return true;
  });
}
