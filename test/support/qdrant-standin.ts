// Starts the Qdrant stand-in (simulator/qdrant-standin/server.py: the real engine behind a REST
// layer that checks every request and answer against Qdrant's OpenAPI document) for one test file.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, type Service } from './services.js';

export const standinPython = join(repoRoot, '.tools/qdrant-standin/bin/python');
export const standinDir = join(repoRoot, 'simulator/qdrant-standin');

export interface QdrantStandin extends Service {
  /** Every OpenAPI violation the stand-in reported (it also answered each with a 500). */
  violations(): string[];
}

export async function startQdrantStandin(): Promise<QdrantStandin> {
  if (!existsSync(standinPython))
    throw new Error(`${standinPython} missing: run scripts/install-tools.sh qdrant-standin`);
  const dataDir = mkdtempSync(join(tmpdir(), 'vlinders-qdrant-standin-'));
  // Standard input stays open while this process lives: the stand-in exits when it closes, so it
  // dies with the test run even when the run is killed.
  const child = spawn(standinPython, [join(standinDir, 'server.py'), '--data-dir', dataDir], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the Qdrant stand-in exited (${code}):\n${stderr}`)));
  });
  return {
    url,
    violations: () =>
      stderr.split('\n').filter((line) => line.includes("violates Qdrant's OpenAPI document")),
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.stdin.end();
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
