#!/usr/bin/env bash
# The whole test command: the pinned Node.js, dependencies, tools, lint, typecheck, the build, then
# every test against real PostgreSQL, Redis and Temporal (started by the suite itself on free
# ports). Idempotent.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# shellcheck source=use-node.sh
source scripts/use-node.sh
mkdir -p .data
# Before npm ci, so that no install script nobody reviewed runs: the lockfile (registry only, sha512),
# install scripts, npm audit at high severity (docs/security.md#supply-chain). Plain node: it needs
# nothing from node_modules. VLINDERS_REQUIRE_AUDIT=1 fails the run when the audit cannot reach
# the advisory endpoint (otherwise reported as skipped, here and on the closing line).
echo "== supply chain" >&2
node scripts/supply-chain/check.ts --summary-file .data/supply-chain.txt
bash scripts/ensure-node-modules.sh
bash scripts/install-tools.sh
# Plain text output: CI logs are read by people and by tools that do not strip colour codes.
export NO_COLOR=1

echo "== lint and format" >&2
npx eslint . --max-warnings 0
npx prettier --check . --log-level warn
echo "== typecheck" >&2
npx tsc --noEmit -p tsconfig.json
npx tsc --noEmit -p console/tsconfig.json
# What production runs (dist/, tsconfig.build.json) must compile too; skipped when unchanged.
echo "== build" >&2
bash scripts/build.sh
echo "== tests" >&2
status=0
rm -f .data/unhandled-errors.log .data/test-results*.json
# vitest with both reporters; the JSON report goes to .data/<report>.json.
run_vitest() {
  local report="$1"
  shift
  npx vitest run --reporter=default --reporter=json --outputFile.json=".data/$report.json" "$@" || status=$?
}
if [ "$#" -gt 0 ]; then
  run_vitest test-results "$@"
else
  # Two phases. vLLM on CPU takes both cores while it loads and answers, and beside it the
  # time-skipping and crash tests crawl; so everything else runs first with no Ray cluster, then the
  # serving tests run one file at a time with the machine to themselves (they take turns on the
  # cluster anyway).
  VLINDERS_RAY=0 run_vitest test-results --exclude='test/serving/**'
  echo "== serving tests (Ray Serve + vLLM on CPU)" >&2
  run_vitest test-results-serving --maxWorkers=1 test/serving/
fi
# One plain closing line over both phases, for readers that do not parse vitest's summary.
node -e '
  const fs = require("fs");
  const reports = fs.readdirSync(".data").filter((f) => /^test-results.*\.json$/.test(f));
  const sum = (key) => reports.reduce((n, f) => n + JSON.parse(fs.readFileSync(`.data/${f}`, "utf8"))[key], 0);
  const skipped = sum("numPendingTests");
  console.log(`tests: ${sum("numPassedTests")} passed, ${sum("numFailedTests")} failed` + (skipped ? `, ${skipped} skipped` : ""));
' || true
cat .data/supply-chain.txt
if [ -s .data/unhandled-errors.log ]; then
  echo "unhandled errors (they fail the run):"
  head -c 4000 .data/unhandled-errors.log
fi
exit "$status"
