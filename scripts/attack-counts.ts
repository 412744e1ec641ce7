// npm run attack:counts [-- results.json]
// The attacker-suite counts for the closing note, from the vitest JSON report that scripts/test.sh
// writes (.data/test-results.json): tests passed/failed per attacker test file and, for the tests
// generated from the route table, how many routes they cover.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface Assertion {
  ancestorTitles: string[];
  title: string;
  status: 'passed' | 'failed' | 'skipped' | 'pending' | 'todo';
}
interface Report {
  testResults: { name: string; assertionResults: Assertion[] }[];
}

const attackerFiles = [
  /^test\/attack\//,
  /^test\/integration\/api\/security\.test\.ts$/,
  /^test\/integration\/api\/validation\.test\.ts$/,
  /^test\/integration\/db\/tenant-isolation\.test\.ts$/,
  /^test\/integration\/api\/auth\.test\.ts$/,
  /^test\/integration\/api\/auth-throttle\.test\.ts$/,
  /^test\/integration\/api\/policy\.test\.ts$/,
  /^test\/integration\/oidc\/token-verification\.test\.ts$/,
  /^test\/integration\/sso\/sso-tokens\.test\.ts$/,
  /^test\/integration\/sso\/sso-rls\.test\.ts$/,
  /^test\/fuzz\//,
];

/** The route a generated test names: its describe block (security) or its title's prefix (validation). */
const routePattern = /^((?:GET|POST|PATCH|PUT|DELETE) \/\S+?)(?::\s|$)/;
function routeOf(a: Assertion): string | undefined {
  return [...a.ancestorTitles, a.title].map((s) => routePattern.exec(s)?.[1]).find(Boolean);
}

function attackCounts(report: Report, root: string): string[] {
  const lines = ['file | passed | failed | skipped | route-table generated'];
  const total = { passed: 0, failed: 0, skipped: 0 };
  const files = report.testResults
    .map((r) => ({ ...r, file: relative(root, r.name) }))
    .filter((r) => attackerFiles.some((p) => p.test(r.file)))
    .sort((a, b) => a.file.localeCompare(b.file));
  for (const { file, assertionResults } of files) {
    const count = (s: Assertion['status'][]) => assertionResults.filter((a) => s.includes(a.status)).length;
    const row = {
      passed: count(['passed']),
      failed: count(['failed']),
      skipped: count(['skipped', 'pending', 'todo']),
    };
    const generated = assertionResults.filter((a) => routeOf(a) !== undefined);
    const routes = new Set(generated.map(routeOf)).size;
    const perRoute = routes
      ? `${routes} routes × ${(generated.length / routes).toFixed(1)} cases = ${generated.length}`
      : '';
    lines.push(`${file} | ${row.passed} | ${row.failed} | ${row.skipped} | ${perRoute}`);
    total.passed += row.passed;
    total.failed += row.failed;
    total.skipped += row.skipped;
  }
  lines.push(`total | ${total.passed} | ${total.failed} | ${total.skipped} |`);
  return lines;
}

const path = process.argv[2] ?? '.data/test-results.json';
const report = JSON.parse(readFileSync(path, 'utf8')) as Report;
for (const line of attackCounts(report, process.cwd())) console.log(line);
