// Dependency and supply-chain checks, run by scripts/test.sh before `npm ci` (so no unreviewed
// install script runs), with Node's own type stripping: it imports nothing but Node's built-ins.
// By hand: `bash scripts/with-node.sh node scripts/supply-chain/check.ts [--require-audit]`.
//   - the lockfile: every package from the npm registry with a sha512 integrity, nothing from git,
//     http(s) tarballs, local folders or links, and the root entry equal to package.json's pins;
//   - install scripts: every package whose lockfile entry has one is in scripts/supply-chain/install-scripts.json
//     at that version, with what the script does and whether the platform needs it;
//   - `npm audit`: no high or critical advisory outside scripts/supply-chain/audit-allowlist.json, whose entries
//     each carry a reason and an expiry date (an expired entry fails the run, audit or not).
// When the advisory endpoint cannot be reached the audit is reported as skipped, not passed, and
// fails the run only with --require-audit (docs/security.md#supply-chain says why).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const repoRoot = join(dirname(new URL(import.meta.url).pathname), '../..');

export const registry = 'https://registry.npmjs.org/';
const auditTimeoutMs = 120_000;
/** An allow-list entry may be renewed for at most this long: each advisory is looked at again. */
const maxAllowDays = 366;

// ---------------------------------------------------------------- the files' shapes

type DepMap = Record<string, string>;
const depFields = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'] as const;

export interface PackageJson {
  name?: string;
  version?: string;
  dependencies?: DepMap;
  devDependencies?: DepMap;
  optionalDependencies?: DepMap;
  peerDependencies?: DepMap;
}

export interface LockEntry extends PackageJson {
  resolved?: string;
  integrity?: string;
  link?: boolean;
  inBundle?: boolean;
  dev?: boolean;
  optional?: boolean;
  hasInstallScript?: boolean;
}

export interface Lockfile {
  name?: string;
  version?: string;
  lockfileVersion?: number;
  packages?: Record<string, LockEntry>;
}

export interface AuditAllowEntry {
  /** The GitHub advisory id (GHSA-xxxx-xxxx-xxxx) npm audit reports in the advisory's url. */
  id: string;
  /** The vulnerable package the advisory is about. */
  package: string;
  /** Why it does not reach us (or why it cannot be fixed yet), and what would end the entry. */
  reason: string;
  /** YYYY-MM-DD: the last day the entry holds. */
  expires: string;
}
export interface AuditAllowlist {
  advisories: AuditAllowEntry[];
}

export interface InstallScriptEntry {
  name: string;
  /** The reviewed versions: a new version is a new script to read. */
  versions: string[];
  /** The install-time scripts as the package declares them (preinstall, install, postinstall). */
  scripts: Record<string, string>;
  /** Whether the platform needs the script to run (a native build, a binary download). */
  needed: boolean;
  reason: string;
}
export interface InstallScriptList {
  packages: InstallScriptEntry[];
}

/** One high or critical advisory from `npm audit --json` (report version 2). */
export interface AuditFinding {
  id: string;
  package: string;
  severity: string;
  title: string;
  url: string;
  range: string;
}

export interface CheckResult {
  name: string;
  /** 'skipped': could not be run (the audit endpoint unreachable); never counted as a pass. */
  status: 'ok' | 'failed' | 'skipped';
  problems: string[];
  /** What was checked, for the log and the closing line. */
  summary: string;
  notes: string[];
}

// ---------------------------------------------------------------- the lockfile

const exactVersion = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
/** Specs that do not come from the registry: git, hosted-git shorthands, URLs, local paths, links. */
const nonRegistrySpec =
  /^(?:git(?:\+[a-z]+)?:|github:|gitlab:|bitbucket:|gist:|https?:|file:|link:|\.{0,2}\/|~\/)/;
const hostedShorthand = /^[\w.-]+\/[\w.-]+(?:#.*)?$/;

function isNonRegistrySpec(spec: string): boolean {
  return nonRegistrySpec.test(spec) || hostedShorthand.test(spec);
}

/** The package name a lockfile path installs (`node_modules/a/node_modules/@s/b` → `@s/b`). */
export function packageNameOf(path: string, entry: LockEntry): string {
  return entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

export function lockfileProblems(pkg: PackageJson, lock: Lockfile): string[] {
  const problems: string[] = [];
  if (lock.lockfileVersion !== 3) problems.push(`lockfileVersion ${lock.lockfileVersion} (expected 3)`);
  const packages = lock.packages ?? {};
  const root = packages[''];
  if (!root) return [...problems, 'the lockfile has no root entry ("packages"."")'];
  if (lock.name !== pkg.name || root.name !== pkg.name) problems.push('the lockfile names another package');

  // The root entry records package.json's declarations; npm ci refuses to install when they differ.
  for (const field of depFields) {
    const declared = pkg[field] ?? {};
    const locked = root[field] ?? {};
    for (const [name, spec] of Object.entries(declared)) {
      if (isNonRegistrySpec(spec))
        problems.push(`package.json ${field}: ${name} is "${spec}", not from the registry`);
      else if (!exactVersion.test(spec))
        problems.push(`package.json ${field}: ${name} is "${spec}", not an exact version`);
      if (locked[name] !== spec)
        problems.push(
          `package.json ${field}: ${name} "${spec}" but the lockfile has ${locked[name] === undefined ? 'none' : `"${locked[name]}"`} (run npm install)`,
        );
      const installed = packages[`node_modules/${name}`];
      if (field !== 'peerDependencies' && exactVersion.test(spec) && installed?.version !== spec)
        problems.push(
          `${name}: package.json pins ${spec} but the lockfile installs ${installed?.version ?? 'nothing'} (run npm install)`,
        );
    }
    for (const name of Object.keys(locked))
      if (!(name in declared))
        problems.push(`the lockfile's root ${field} has ${name}, package.json does not`);
  }

  for (const [path, entry] of Object.entries(packages)) {
    if (path === '') continue;
    const where = `${path}${entry.version ? `@${entry.version}` : ''}`;
    if (!path.startsWith('node_modules/')) {
      problems.push(`${where}: a local folder, not a package from the registry`);
      continue;
    }
    if (entry.link) {
      problems.push(
        `${where}: a link to ${entry.resolved ?? 'a local folder'}, not a package from the registry`,
      );
      continue;
    }
    for (const field of depFields)
      for (const [name, spec] of Object.entries(entry[field] ?? {}))
        if (isNonRegistrySpec(spec))
          problems.push(`${where}: depends on ${name} "${spec}", not from the registry`);
    // A bundled dependency ships inside its parent's tarball, which the parent's integrity covers.
    if (entry.inBundle) continue;
    if (!entry.version || !exactVersion.test(entry.version)) problems.push(`${where}: no registry version`);
    // No `resolved` means "the configured registry" (npm's omit-lockfile-registry-resolved).
    if (
      entry.resolved !== undefined &&
      !(entry.resolved.startsWith(registry) && entry.resolved.endsWith('.tgz'))
    )
      problems.push(`${where}: resolved from ${entry.resolved}, not from ${registry}`);
    if (!entry.integrity) problems.push(`${where}: no integrity hash`);
    else if (!entry.integrity.split(/\s+/).some((h) => h.startsWith('sha512-')))
      problems.push(`${where}: integrity ${entry.integrity.split('-')[0]} is not sha512`);
  }
  return problems;
}

// ---------------------------------------------------------------- install scripts

const installScriptNames = ['preinstall', 'install', 'postinstall'] as const;

export interface InstallScriptPackage {
  path: string;
  name: string;
  version: string;
  /** The install-time scripts of the installed copy; undefined when node_modules does not have it. */
  scripts?: Record<string, string>;
}

/** Install-time scripts of a package.json (npm runs `node-gyp rebuild` for a binding.gyp too). */
function installScriptsOf(pkgJson: { scripts?: Record<string, string> }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of installScriptNames) if (pkgJson.scripts?.[s]) out[s] = pkgJson.scripts[s];
  return out;
}

/**
 * Packages with install scripts: those the lockfile marks, plus any installed copy under root that
 * declares one the lockfile does not mark (a lockfile edited by hand). Reads node_modules only when
 * it exists.
 */
export function installScriptPackages(lock: Lockfile, root?: string): InstallScriptPackage[] {
  const found: InstallScriptPackage[] = [];
  for (const [path, entry] of Object.entries(lock.packages ?? {})) {
    if (path === '' || entry.link) continue;
    let scripts: Record<string, string> | undefined;
    const manifest = root === undefined ? undefined : join(root, path, 'package.json');
    if (manifest && existsSync(manifest))
      scripts = installScriptsOf(
        JSON.parse(readFileSync(manifest, 'utf8')) as { scripts?: Record<string, string> },
      );
    if (entry.hasInstallScript || (scripts && Object.keys(scripts).length > 0))
      found.push({ path, name: packageNameOf(path, entry), version: entry.version ?? '?', scripts });
  }
  return found;
}

export function installScriptProblems(
  lock: Lockfile,
  list: InstallScriptList,
  found: InstallScriptPackage[],
): string[] {
  const problems: string[] = [];
  const listFile = 'scripts/supply-chain/install-scripts.json';
  for (const e of list.packages)
    if (
      !e.name ||
      !e.reason?.trim() ||
      !Array.isArray(e.versions) ||
      typeof e.needed !== 'boolean' ||
      !e.scripts
    )
      problems.push(
        `${listFile}: the entry for ${e.name || '?'} needs name, versions, scripts, needed and a reason`,
      );
  for (const p of found) {
    const entry = list.packages.find((e) => e.name === p.name);
    const where = `${p.name}@${p.version} (${p.path})`;
    if (!lock.packages?.[p.path]?.hasInstallScript)
      problems.push(`${where}: the installed copy has install scripts the lockfile does not record`);
    if (!entry) {
      problems.push(
        `${where} has an install script and is not in ${listFile}: read what it runs, then list it`,
      );
      continue;
    }
    if (!entry.versions.includes(p.version))
      problems.push(`${where}: version not reviewed (${listFile} has ${entry.versions.join(', ')})`);
    if (p.scripts && JSON.stringify(p.scripts) !== JSON.stringify(entry.scripts))
      problems.push(
        `${where}: runs ${JSON.stringify(p.scripts)} at install, ${listFile} reviewed ${JSON.stringify(entry.scripts)}`,
      );
  }
  // A stale entry would let the next package of that name in unread.
  for (const e of list.packages) {
    const versions = new Set(found.filter((p) => p.name === e.name).map((p) => p.version));
    if (versions.size === 0)
      problems.push(`${listFile}: ${e.name} no longer has an install script here; remove it`);
    else
      for (const v of e.versions ?? [])
        if (!versions.has(v))
          problems.push(`${listFile}: ${e.name}@${v} is no longer installed; remove the version`);
  }
  return problems;
}

// ---------------------------------------------------------------- npm audit

const blocking = new Set(['high', 'critical']);

interface AuditVia {
  source?: number;
  name?: string;
  title?: string;
  url?: string;
  severity?: string;
  range?: string;
}
interface AuditReport {
  auditReportVersion?: number;
  vulnerabilities?: Record<string, { via?: (string | AuditVia)[] }>;
  metadata?: { vulnerabilities?: Record<string, number> };
}

/** The high and critical advisories of an `npm audit --json` report, one per advisory and package. */
export function auditFindings(report: AuditReport): AuditFinding[] {
  const found = new Map<string, AuditFinding>();
  for (const vuln of Object.values(report.vulnerabilities ?? {}))
    for (const via of vuln.via ?? []) {
      if (typeof via === 'string' || !via.severity || !blocking.has(via.severity)) continue;
      const id = /GHSA-[\w]{4}-[\w]{4}-[\w]{4}/.exec(via.url ?? '')?.[0] ?? `npm-${via.source}`;
      const pkg = via.name ?? '?';
      found.set(`${id} ${pkg}`, {
        id,
        package: pkg,
        severity: via.severity,
        title: via.title ?? '',
        url: via.url ?? '',
        range: via.range ?? '',
      });
    }
  return [...found.values()].sort((a, b) => a.id.localeCompare(b.id));
}

const isoDate = /^\d{4}-\d{2}-\d{2}$/;

/** The allow-list's own problems: missing fields, bad or expired dates. Checked even when no audit ran. */
export function allowlistProblems(list: AuditAllowlist, today: Date): string[] {
  const problems: string[] = [];
  const day = today.toISOString().slice(0, 10);
  const latest = new Date(today.getTime() + maxAllowDays * 86_400_000).toISOString().slice(0, 10);
  if (!Array.isArray(list.advisories))
    return ['scripts/supply-chain/audit-allowlist.json: no "advisories" list'];
  for (const e of list.advisories) {
    const where = `scripts/supply-chain/audit-allowlist.json: ${e.id || '?'} (${e.package || '?'})`;
    if (!/^GHSA-[\w]{4}-[\w]{4}-[\w]{4}$/.test(e.id ?? '') && !/^npm-\d+$/.test(e.id ?? ''))
      problems.push(`${where}: id is not a GHSA id`);
    if (!e.package) problems.push(`${where}: no package`);
    if (!e.reason?.trim()) problems.push(`${where}: no reason`);
    if (!isoDate.test(e.expires ?? '') || Number.isNaN(Date.parse(e.expires)))
      problems.push(`${where}: expires "${e.expires}" is not a YYYY-MM-DD date`);
    else if (e.expires < day)
      problems.push(`${where}: expired on ${e.expires}; review it (fix, or renew with a reason)`);
    else if (e.expires > latest)
      problems.push(`${where}: expires ${e.expires}, more than ${maxAllowDays} days ahead`);
  }
  return problems;
}

export type AuditOutcome = { kind: 'report'; report: AuditReport } | { kind: 'unreachable'; why: string };

/**
 * Classifies what `npm audit --json` printed: a report, an advisory endpoint that could not be
 * reached (an HTTP error or a network failure: the audit did not happen), or anything else, which
 * throws (a broken lockfile must fail the run, not skip it).
 */
export function classifyAuditOutput(stdout: string, timedOut = false): AuditOutcome {
  if (timedOut) return { kind: 'unreachable', why: `no answer within ${auditTimeoutMs / 1000} s` };
  let json: AuditReport & {
    message?: string;
    statusCode?: number;
    error?: { code?: string; summary?: string };
  };
  try {
    json = JSON.parse(stdout) as typeof json;
  } catch {
    throw new Error(`npm audit printed no JSON: ${stdout.slice(0, 500)}`);
  }
  if (json.auditReportVersion === 2 && json.vulnerabilities) return { kind: 'report', report: json };
  // E4xx/E5xx: npm's code for an HTTP error; the rest: no connection, or none that answered.
  const networkCode =
    /^(?:E\d{3}|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|ENETUNREACH|EHOSTUNREACH|ERR_SOCKET_TIMEOUT|FETCH_ERROR)$/;
  if (typeof json.statusCode === 'number' || networkCode.test(json.error?.code ?? ''))
    return {
      kind: 'unreachable',
      why: json.message ?? json.error?.summary ?? json.error?.code ?? 'no answer',
    };
  throw new Error(`npm audit failed: ${json.message ?? json.error?.summary ?? stdout.slice(0, 500)}`);
}

export function runNpmAudit(root: string): Promise<AuditOutcome> {
  return new Promise((resolve, reject) => {
    execFile(
      'npm',
      ['audit', '--audit-level=high', '--json'],
      { cwd: root, timeout: auditTimeoutMs, maxBuffer: 64 * 1024 * 1024 },
      // npm exits 1 both for findings and for errors: the JSON tells them apart.
      (error, stdout) => {
        try {
          resolve(classifyAuditOutput(stdout, error?.killed === true));
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      },
    );
  });
}

export function auditCheck(
  outcome: AuditOutcome,
  allowlist: AuditAllowlist,
  today: Date,
  requireAudit: boolean,
): CheckResult {
  const problems = allowlistProblems(allowlist, today);
  const notes: string[] = [];
  if (outcome.kind === 'unreachable') {
    const summary = `npm audit: skipped, the advisory endpoint could not be reached (${outcome.why})`;
    if (requireAudit) problems.push('--require-audit: an audit that did not run fails the run');
    return { name: 'npm audit', status: problems.length ? 'failed' : 'skipped', problems, summary, notes };
  }
  const findings = auditFindings(outcome.report);
  const allowed = (f: AuditFinding) =>
    allowlist.advisories.find(
      (e) => e.id === f.id && e.package === f.package && e.expires >= today.toISOString().slice(0, 10),
    );
  for (const f of findings) {
    const entry = allowed(f);
    if (entry)
      notes.push(`allowed until ${entry.expires}: ${f.severity} ${f.id} in ${f.package} (${f.title})`);
    else problems.push(`${f.severity} ${f.id} in ${f.package} ${f.range}: ${f.title} ${f.url}`);
  }
  for (const e of allowlist.advisories)
    if (!findings.some((f) => f.id === e.id && f.package === e.package))
      notes.push(`allow-list entry ${e.id} (${e.package}) matches no advisory now: remove it`);
  const counts = outcome.report.metadata?.vulnerabilities ?? {};
  const summary = `npm audit: ${['critical', 'high', 'moderate', 'low'].map((s) => `${counts[s] ?? 0} ${s}`).join(', ')} (${notes.filter((n) => n.startsWith('allowed')).length} high/critical allowed)`;
  return { name: 'npm audit', status: problems.length ? 'failed' : 'ok', problems, summary, notes };
}

// ---------------------------------------------------------------- the whole check

export interface SupplyChainOptions {
  root?: string;
  /** Where the reviewed lists live (default <root>/scripts/supply-chain). */
  listsDir?: string;
  today?: Date;
  requireAudit?: boolean;
  /** The audit's outcome; default: run `npm audit` in root. */
  audit?: AuditOutcome | (() => Promise<AuditOutcome>);
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export async function checkSupplyChain(options: SupplyChainOptions = {}): Promise<CheckResult[]> {
  const root = options.root ?? repoRoot;
  const listsDir = options.listsDir ?? join(root, 'scripts/supply-chain');
  const today = options.today ?? new Date();
  const pkg = readJson<PackageJson>(join(root, 'package.json'));
  const lock = readJson<Lockfile>(join(root, 'package-lock.json'));
  const entries = Object.keys(lock.packages ?? {}).length - 1;

  const lockProblems = lockfileProblems(pkg, lock);
  const found = installScriptPackages(lock, root);
  const list = readJson<InstallScriptList>(join(listsDir, 'install-scripts.json'));
  const scriptProblems = installScriptProblems(lock, list, found);
  const reviewed = found.map((p) => {
    const needed = list.packages.find((e) => e.name === p.name)?.needed;
    return `${p.name}@${p.version}${needed === undefined ? '' : needed ? ' (needed)' : ' (not needed)'}`;
  });

  const audit = options.audit ?? (() => runNpmAudit(root));
  const outcome = typeof audit === 'function' ? await audit() : audit;
  const allowlist = readJson<AuditAllowlist>(join(listsDir, 'audit-allowlist.json'));

  return [
    {
      name: 'lockfile',
      status: lockProblems.length ? 'failed' : 'ok',
      problems: lockProblems,
      summary: `lockfile: ${entries} packages, each from ${registry} with a sha512 integrity, equal to package.json's pins`,
      notes: [],
    },
    {
      name: 'install scripts',
      status: scriptProblems.length ? 'failed' : 'ok',
      problems: scriptProblems,
      summary: `install scripts: ${found.length} packages, each reviewed in scripts/supply-chain/install-scripts.json`,
      notes: reviewed,
    },
    auditCheck(outcome, allowlist, today, options.requireAudit ?? false),
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const requireAudit = args.includes('--require-audit') || process.env.VLINDERS_REQUIRE_AUDIT === '1';
  const summaryAt = args.indexOf('--summary-file');
  const results = await checkSupplyChain({ requireAudit });
  for (const r of results) {
    console.log(`${{ ok: 'ok  ', failed: 'FAIL', skipped: 'SKIP' }[r.status]} ${r.summary}`);
    for (const p of r.problems) console.log(`       ${p}`);
    for (const n of r.notes) console.log(`       · ${n}`);
  }
  const line = `supply chain: ${results.map((r) => `${r.name} ${r.status}`).join(', ')}`;
  const summaryFile = summaryAt >= 0 ? args[summaryAt + 1] : undefined;
  if (summaryFile) {
    const audit = results.find((r) => r.name === 'npm audit');
    mkdirSync(dirname(summaryFile), { recursive: true });
    const why = audit && audit.status !== 'ok' ? ` (${audit.summary.replace(/^npm audit: /, '')})` : '';
    writeFileSync(summaryFile, `${line}${why}\n`);
  }
  process.exitCode = results.some((r) => r.status === 'failed') ? 1 : 0;
}
