#!/usr/bin/env bash
# The whole test command: the pinned Node.js, dependencies, tools, lint, typecheck, the build, then
# every test against real PostgreSQL, Redis and Temporal (started by the suite itself on free
# ports). Idempotent.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# shellcheck source=use-node.sh
source scripts/use-node.sh
bash scripts/ensure-node-modules.sh
bash scripts/install-tools.sh
mkdir -p .data
# Plain text output: CI logs are read by people and by tools that do not strip colour codes.
export NO_COLOR=1

echo "== lint and format" >&2
npx eslint . --max-warnings 0
npx prettier --check . --log-level warn
echo "== typecheck" >&2
npx tsc --noEmit -p tsconfig.json
# What production runs (dist/, tsconfig.build.json) must compile too; skipped when unchanged.
echo "== build" >&2
bash scripts/build.sh
echo "== tests" >&2
status=0
rm -f .data/unhandled-errors.log
npx vitest run --reporter=default --reporter=json --outputFile.json=.data/test-results.json "$@" || status=$?
# One plain closing line, for readers that do not parse vitest's summary.
node -e '
  const r = JSON.parse(require("fs").readFileSync(".data/test-results.json", "utf8"));
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' || true
if [ -s .data/unhandled-errors.log ]; then
  echo "unhandled errors (they fail the run):"
  head -c 4000 .data/unhandled-errors.log
fi
exit "$status"
