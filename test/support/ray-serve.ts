// Starts a real Ray cluster (one head node on loopback, on free ports) for the serving tests, and
// deploys the CPU profile (deploy/ray/cpu.yaml: Ray Serve LLM over vLLM on CPU, with the tiny test
// models). The stack itself is installed by scripts/serving/install.sh into .tools/serving.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { loadServeConfig, type ServeConfig } from '../../activities/ray/serve-config.js';
import { ServeApi } from '../../activities/ray/serve-api.js';
import { freePort, repoRoot } from './services.js';

export const servingVenv = join(repoRoot, '.tools/serving');
export const servingModels = join(repoRoot, '.tools/serving-models');
export const cpuProfile = join(repoRoot, 'deploy/ray/cpu.yaml');

export interface RayCluster {
  /** The dashboard, where the Serve REST API answers. */
  dashboardUrl: string;
  /** Serve's HTTP proxy: each application under its route prefix. */
  serveUrl: string;
  /** Prometheus metrics of the node (ray_serve_*, ray_vllm_*). */
  metricsUrl: string;
  /** The folder of the test models, as the cluster's nodes see it. */
  modelsDir: string;
  /** The CPU profile with this cluster's proxy port and models folder. */
  config: ServeConfig;
  stop(): Promise<void>;
}

/** Whether scripts/serving/install.sh has run in this checkout. */
export const servingInstalled = () => existsSync(join(servingVenv, '.done'));

export interface RayClusterOptions {
  /** Where Ray's console output goes. */
  logFile: string;
  /**
   * Holds the machine's serving lock while the cluster runs: a cluster loading vLLM models takes
   * several GB, so a second run on the same machine (another checkout) waits for the first.
   */
  exclusive?: boolean;
}

export async function startRayCluster(options: RayClusterOptions): Promise<RayCluster> {
  if (!servingInstalled()) throw new Error(`${servingVenv} missing: run scripts/serving/install.sh`);
  const releaseLock = options.exclusive
    ? await takeLock(servingLock, 'a Ray cluster loading models')
    : () => {};
  // Ray's own startup waits are fixed at 30 s (the raylet registering with the GCS): on a machine
  // busy with the rest of the suite they can run out. A second or third start usually makes it.
  for (let attempt = 1; ; attempt++) {
    try {
      const cluster = await startHead(options.logFile);
      return { ...cluster, stop: () => cluster.stop().finally(releaseLock) };
    } catch (err) {
      if (attempt === 3) {
        releaseLock();
        throw err;
      }
      appendFileSync(options.logFile, `\n--- start ${attempt} failed (${String(err)}); starting again\n`);
    }
  }
}

async function startHead(logFile: string): Promise<RayCluster> {
  const [gcs, client, agent, dashboard, metrics, serve] = await Promise.all(
    Array.from({ length: 6 }, () => freePort()),
  );
  // Short: Ray puts unix sockets under it, and their paths may not exceed 107 bytes.
  const tempDir = `/tmp/vl-ray-${process.pid}-${gcs}`;
  const log = openSync(logFile, 'a');
  // ray-head.sh takes the whole cluster down when this process ends, even without a clean stop.
  const head: ChildProcess = spawn(
    join(repoRoot, 'test/support/ray-head.sh'),
    [
      String(process.pid),
      tempDir,
      join(servingVenv, 'bin/ray'),
      'start',
      '--head',
      '--block',
      '--node-ip-address=127.0.0.1',
      // Bookkeeping Ray Serve LLM needs (a replica and its engine each ask for a CPU), even on 2 cores.
      '--num-cpus=16',
      '--num-gpus=0',
      `--port=${gcs}`,
      `--ray-client-server-port=${client}`,
      `--dashboard-agent-listen-port=${agent}`,
      // Workers on ports the OS picks: two clusters on one machine never collide.
      '--min-worker-port=0',
      '--max-worker-port=0',
      '--dashboard-host=127.0.0.1',
      `--dashboard-port=${dashboard}`,
      `--metrics-export-port=${metrics}`,
      `--temp-dir=${tempDir}`,
      '--disable-usage-stats',
    ],
    {
      stdio: ['ignore', log, log],
      // Ray 2.60 turns token auth on for the dashboard's REST API by default; loopback only here.
      env: { ...process.env, RAY_AUTH_MODE: 'disabled', RAY_USAGE_STATS_ENABLED: '0' },
    },
  );
  const exited = new Promise<void>((resolve) => head.once('exit', () => resolve()));
  const stop = async () => {
    head.kill('SIGTERM');
    await exited;
  };
  const dashboardUrl = `http://127.0.0.1:${dashboard}`;
  try {
    await until('the Ray head node', 180_000, async () => {
      if (head.exitCode !== null) throw new Error(`ray start exited with ${head.exitCode}; see ${logFile}`);
      return (await fetch(`${dashboardUrl}/api/serve/applications/`)).ok;
    });
  } catch (err) {
    await stop();
    throw err;
  }
  const modelsDir = realpathSync(servingModels);
  return {
    dashboardUrl,
    modelsDir,
    serveUrl: `http://127.0.0.1:${serve}`,
    metricsUrl: `http://127.0.0.1:${metrics}/metrics`,
    config: loadServeConfig(cpuProfile, { modelsDir, port: serve }),
    stop,
  };
}

const servingLock = '/tmp/vlinders-serving.lock';

/**
 * A lock between processes of this machine: a folder naming its owner's pid, taken over when that
 * process is gone. Answers the release.
 */
export async function takeLock(path: string, what: string, timeoutMs = 40 * 60_000): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  for (let warned = false; ;) {
    try {
      mkdirSync(path);
      writeFileSync(join(path, 'pid'), String(process.pid));
      return () => rmSync(path, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number(readFileSync(join(path, 'pid'), { encoding: 'utf8', flag: 'a+' }) || 0);
    if (owner > 0 && !isAlive(owner)) {
      rmSync(path, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`${path} (${what}) held by pid ${owner} for ${timeoutMs} ms`);
    if (!warned) process.stderr.write(`waiting for ${what} of pid ${owner} to finish (${path})\n`);
    warned = true;
    await new Promise((r) => setTimeout(r, 2000));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until every application of `names` is RUNNING; a DEPLOY_FAILED one fails at once, with Ray's traceback. */
export async function untilRunning(
  dashboardUrl: string,
  names: string[],
  timeoutMs = 400_000,
): Promise<void> {
  const serve = new ServeApi(dashboardUrl);
  await until(`Serve applications ${names.join(', ')}`, timeoutMs, async () => {
    const apps = await serve.applications();
    for (const name of names) {
      const app = apps.get(name);
      if (app?.status === 'DEPLOY_FAILED') throw new Error(`${name} failed to deploy: ${app.message}`);
    }
    return names.every((name) => apps.get(name)?.status === 'RUNNING');
  });
}

async function until(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await probe()) return;
    } catch (err) {
      if (!(err instanceof TypeError)) throw err; // fetch's connection errors: not up yet
    }
    if (Date.now() > deadline) throw new Error(`${what} not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
