// Child processes of the benchmark, pinned to a core with taskset, and what /proc says about
// them: CPU time (utime + stime, all threads) and resident memory.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Where the gateway under test runs; everything else (load, simulator, databases) runs on the other. */
export const gatewayCore = 0;
export const loadCore = 1;

/** Pins this process (the load generator) and so every child it starts afterwards to `core`. */
export function pinSelf(core: number): void {
  execFileSync('taskset', ['-a', '-cp', String(core), String(process.pid)], { stdio: 'ignore' });
}

/** A clean environment for children: the benchmark does not pass on whatever the shell had. */
export function childEnv(vars: Record<string, string>): Record<string, string> {
  return { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, NODE_ENV: 'production', ...vars };
}

export interface Child {
  name: string;
  pid: number;
  stop(): Promise<void>;
}

/** A compiled entry point under dist/, what production runs (`npm run bench:gateway` builds it first). */
export function compiledEntry(path: string): string {
  const entry = join('dist', path);
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  return entry;
}

/** Starts `node args…` on one core; its output goes to logDir/<name>.log. */
export function startNode(
  name: string,
  core: number,
  args: string[],
  env: Record<string, string>,
  logDir: string,
): Child {
  const log = createWriteStream(join(logDir, `${name}.log`));
  // taskset execs node, so the pid is node's own (what /proc is read for).
  const child = spawn('taskset', ['-c', String(core), process.execPath, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  if (child.pid === undefined) throw new Error(`${name} did not start`);
  return { name, pid: child.pid, stop: () => stopChild(child) };
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    // Time to drain and, under --cpu-prof, to write the profile.
    setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
  });
}

/** Polls `url` until it answers `ok`, or fails naming the log to read. */
export async function waitForHttp(
  name: string,
  url: string,
  ok: (status: number) => boolean = (s) => s < 500,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (ok(res.status)) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} did not answer ${url} within ${timeoutMs} ms (see its log under .data/bench)`);
}

const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

/** CPU time the process has used so far (user + system, every thread), in µs. */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at ")"; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks / ticksPerSecond) * 1e6;
}

/** Resident memory of the process, in MB. */
export function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : 0;
}

/** Samples RSS every `everyMs` until stopped; answers every sample. */
export function sampleRss(pid: number, everyMs: number): { stop(): number[] } {
  const samples = [rssMb(pid)];
  const timer = setInterval(() => samples.push(rssMb(pid)), everyMs);
  return {
    stop() {
      clearInterval(timer);
      samples.push(rssMb(pid));
      return samples;
    },
  };
}
