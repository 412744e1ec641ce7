// The platform's own processes (API, workers, usage ingester) started by tests as real child
// processes, with the same configuration as the test's app, so they can be SIGKILLed mid-work.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll } from 'vitest';
import type { Config } from '../../runtime/config.js';
import { repoRoot } from './services.js';

export interface RunningProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** A process environment carrying `config` (every variable as a string) plus the overrides. */
export function envFromConfig(config: Config, overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  // Lists are comma-separated in the environment, maps (GPU_COST_PER_HOUR) JSON.
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined) continue;
    env[key] = typeof value === 'object' && !Array.isArray(value) ? JSON.stringify(value) : String(value);
  }
  return { ...env, ...overrides };
}

const started: ChildProcess[] = [];
// Registered when a test file imports this module: whatever a file started dies with it.
afterAll(() => {
  for (const child of started)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** Runs a TypeScript entry point of the repo (e.g. 'workers/main.ts'); killed after the test file. */
export function startProcess(entry: string, env: NodeJS.ProcessEnv): RunningProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Polls `probe` until it holds; fails early with the process's output if the process died. */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  watched?: RunningProcess,
): Promise<void> {
  for (;;) {
    if (await probe()) return;
    if (watched && watched.child.exitCode !== null)
      throw new Error(`process exited while waiting for ${what}:\n${watched.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
