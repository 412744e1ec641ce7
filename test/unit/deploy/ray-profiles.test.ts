// The Ray Serve profiles in deploy/ray/ (the GPU profile production runs, the CPU profile the tests
// and `up` run) are valid for Ray itself: loaded by scripts/serving/validate_profiles.py into Ray's
// own models (ServeDeploySchema, LLMServingArgs/LLMConfig, vLLM's engine arguments) in the serving
// virtualenv, without a cluster or a GPU. A planted mistake in any layer fails.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../support/services.js';
import { servingInstalled, servingVenv } from '../../support/ray-serve.js';

const profiles = ['deploy/ray/cpu.yaml', 'deploy/ray/gpu.yaml'].map((f) => join(repoRoot, f));
const gpu = readFileSync(profiles[1]!, 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'vlinders-profiles-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The GPU profile with one mistake each (named for the layer that must catch it): [from, to, what the refusal names]. */
const planted = {
  'serve-schema': ['proxy_location: EveryNode', 'proxy_location: Everywhere', 'Everywhere'],
  'llm-config': ['accelerator_type: H100', 'accelerator_type: H1000', 'H1000'],
  'deployment-config': ['max_ongoing_requests: 128', 'max_ongoing_requests: lots', 'lots'],
  'engine-argument': ['enable_prefix_caching: true', 'enable_prefix_cashing: true', 'enable_prefix_cashing'],
  // Ray itself ignores an unknown autoscaling key; the script refuses it.
  'autoscaling-field': [
    'target_ongoing_requests: 64',
    'target_ongoing_requestz: 64',
    'target_ongoing_requestz',
  ],
} as const;

/** Each file's verdict: 'ok <file>: apps' or 'invalid <file>: why'. */
async function validate(files: string[]): Promise<Map<string, string>> {
  if (!servingInstalled()) throw new Error(`${servingVenv} missing: run scripts/serving/install.sh`);
  const run = promisify(execFile)(
    join(servingVenv, 'bin/python'),
    [join(repoRoot, 'scripts/serving/validate_profiles.py'), '/models', ...files],
    { env: { ...process.env, PYTHONWARNINGS: 'ignore' } },
  );
  // Exits 1 when a file is invalid; the verdicts are on stdout either way.
  const { stdout } = await run.catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
  const verdicts = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const match = /^(ok|invalid) (\S+): (.*)$/.exec(line);
    if (match) verdicts.set(match[2]!, `${match[1]} ${match[3]}`);
  }
  return verdicts;
}

describe('deploy/ray profiles', () => {
  it(
    "are valid for Ray's own schema, and each planted mistake is refused",
    { timeout: 300_000 },
    async () => {
      const broken = Object.entries(planted).map(([name, [from, to, named]]) => {
        expect(gpu).toContain(from);
        const file = join(dir, `${name}.yaml`);
        writeFileSync(file, gpu.replace(from, to));
        return { file, named };
      });
      // One Python process for all of them: importing Ray and vLLM takes most of a minute on a busy machine.
      const verdicts = await validate([...profiles, ...broken.map((b) => b.file)]);

      expect(verdicts.get(profiles[0]!)).toBe('ok tiny-chat-v1, minilm');
      expect(verdicts.get(profiles[1]!)).toBe('ok llama-3-1-8b-v1, llama-3-1-70b-v1, bge-base-v1');
      for (const { file, named } of broken) {
        const verdict = verdicts.get(file) ?? 'no verdict';
        expect(verdict, file).toMatch(/^invalid .*/);
        expect(verdict, file).toContain(named);
      }
    },
  );
});
