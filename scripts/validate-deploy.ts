// The Helm chart's offline validation (part of the test command: test/unit/deploy/helm-chart.test.ts;
// by hand: npm run validate:deploy). For the default values and values-production.yaml:
//   - `helm lint --strict` (values.schema.json refuses a wrong value here, as at `helm install`);
//   - `helm template`, piped through `kubeconform -strict` against deploy/schemas/ (the Kubernetes
//     and CRD schemas kept in the repository: no network);
//   - every entry point (api/server.ts and each workers/ file that loads the config) listed in the
//     chart's processes.yaml, rendered as a Deployment, and started by scripts/up.sh.
// helm and kubeconform are the pinned ones in .tools/bin (scripts/install-tools.sh helm kubeconform).
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseAllDocuments, parse } from 'yaml';

export const repoRoot = join(dirname(new URL(import.meta.url).pathname), '..');

export interface ValueSet {
  name: string;
  /** Values files, in order (none: the chart's defaults). */
  files: string[];
}

export interface Check {
  name: string;
  ok: boolean;
  /** The tool's output, or the problems found. */
  output: string;
}

export interface ValidateOptions {
  /** The chart (default deploy/helm/vlinders). */
  chartDir?: string;
  /** Value sets (default: the chart's defaults and its values-production.yaml). */
  valueSets?: ValueSet[];
}

interface Process {
  name: string;
  entryPoint: string;
  kind: string;
}

export interface Manifest {
  kind?: string;
  metadata?: { name?: string; labels?: Record<string, string> };
  spec?: { template?: { spec?: { containers?: { args?: string[] }[] } } };
}

export const chartDefault = join(repoRoot, 'deploy/helm/vlinders');
const tools = join(repoRoot, '.tools/bin');
/** The Kubernetes version the chart is checked for (deploy/schemas/ holds its schemas). */
export const kubernetesVersion = '1.33.13';
const schemaLocation = join(
  repoRoot,
  'deploy/schemas/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json',
);

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  input?: string,
): Promise<{ code: number; output: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      if (err && typeof err.code !== 'number') return reject(new Error(`${command}: ${err.message}`));
      resolve({ code, stdout, output: `${stdout}${stderr}`.trim() });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Entry points of long-running processes: api/server.ts and every workers/ file that loads the config. */
export function entryPoints(root = repoRoot): string[] {
  const found = ['api/server.ts'];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts') && /\bloadConfigOrExit\(\)/.test(readFileSync(path, 'utf8')))
        found.push(relative(root, path));
    }
  };
  walk(join(root, 'workers'));
  return found;
}

export function readProcesses(chartDir: string): Process[] {
  const doc = parse(readFileSync(join(chartDir, 'processes.yaml'), 'utf8')) as { processes?: Process[] };
  return doc.processes ?? [];
}

const dist = (entryPoint: string) => `dist/${entryPoint.replace(/\.ts$/, '.js')}`;

/** Problems between the entry points, the process list, the rendered Deployments and up.sh. */
export function processProblems(chartDir: string, manifests: Manifest[], upScript: string): string[] {
  const problems: string[] = [];
  const processes = readProcesses(chartDir);
  const listed = new Set(processes.map((p) => p.entryPoint));
  const deployed = new Map<string, string>();
  for (const m of manifests) {
    if (m.kind !== 'Deployment') continue;
    for (const c of m.spec?.template?.spec?.containers ?? []) {
      if (c.args?.[0]) deployed.set(c.args[0], m.metadata?.name ?? '?');
    }
  }
  for (const entry of entryPoints()) {
    if (!listed.has(entry)) problems.push(`${entry} is not in processes.yaml`);
    if (!deployed.has(dist(entry))) problems.push(`${entry} has no Deployment (none runs ${dist(entry)})`);
    if (!upScript.includes(`node ${dist(entry)}`)) problems.push(`${entry} is not started by scripts/up.sh`);
  }
  for (const p of processes) {
    if (!entryPoints().includes(p.entryPoint))
      problems.push(`processes.yaml: ${p.name}: ${p.entryPoint} is not an entry point`);
  }
  return problems;
}

export interface Validation {
  ok: boolean;
  checks: Check[];
  /** The rendered manifests of each value set that rendered. */
  rendered: Map<string, Manifest[]>;
}

export async function validateDeploy(options: ValidateOptions = {}): Promise<Validation> {
  const chartDir = options.chartDir ?? chartDefault;
  const valueSets = options.valueSets ?? [
    { name: 'default values', files: [] },
    { name: 'values-production.yaml', files: [join(chartDir, 'values-production.yaml')] },
  ];
  const helm = join(tools, 'helm');
  const kubeconform = join(tools, 'kubeconform');
  // Helm's own folders in a scratch directory: nothing read from or written to the user's.
  const home = mkdtempSync(join(tmpdir(), 'vlinders-helm-'));
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
  };
  const upScript = readFileSync(join(repoRoot, 'scripts/up.sh'), 'utf8');
  const checks: Check[] = [];
  const rendered = new Map<string, Manifest[]>();
  try {
    for (const set of valueSets) {
      const valueArgs = set.files.flatMap((f) => ['--values', f]);
      const lint = await run(
        helm,
        ['lint', '--strict', '--kube-version', kubernetesVersion, chartDir, ...valueArgs],
        env,
      );
      checks.push({ name: `helm lint (${set.name})`, ok: lint.code === 0, output: lint.output });
      const template = await run(
        helm,
        [
          'template',
          'vlinders',
          chartDir,
          '--namespace',
          'vlinders',
          '--kube-version',
          kubernetesVersion,
          ...valueArgs,
        ],
        env,
      );
      checks.push({
        name: `helm template (${set.name})`,
        ok: template.code === 0,
        output: template.code === 0 ? '' : template.output,
      });
      if (template.code !== 0) continue;
      const kc = await run(
        kubeconform,
        ['-strict', '-summary', '-output', 'text', '-schema-location', schemaLocation, '-'],
        env,
        template.stdout,
      );
      checks.push({ name: `kubeconform -strict (${set.name})`, ok: kc.code === 0, output: kc.output });
      const manifests = parseAllDocuments(template.stdout)
        .map((d) => d.toJS() as Manifest | null)
        .filter((m): m is Manifest => m !== null);
      rendered.set(set.name, manifests);
      const problems = processProblems(chartDir, manifests, upScript);
      checks.push({
        name: `processes (${set.name})`,
        ok: problems.length === 0,
        output: problems.join('\n'),
      });
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  return { ok: checks.every((c) => c.ok), checks, rendered };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { ok, checks } = await validateDeploy();
  for (const c of checks) {
    console.log(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}`);
    if (c.output && (!c.ok || c.name.startsWith('kubeconform')))
      console.log(c.output.replace(/^/gm, '     '));
  }
  process.exitCode = ok ? 0 : 1;
}
