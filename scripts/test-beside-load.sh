#!/usr/bin/env bash
# The whole test command, run several times in a row while another CPU-heavy process keeps one core
# busy: the check that no test depends on having the machine to itself. Stops at the first failure.
# Usage: bash scripts/test-beside-load.sh [runs, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
# The load: a busy loop, at the same priority as the tests.
sh -c 'while :; do :; done' &
load=$!
trap 'kill "$load" 2>/dev/null || true' EXIT
for run in $(seq 1 "$runs"); do
  started=$(date +%s)
  echo "== run $run of $runs, beside a busy loop (pid $load)" >&2
  bash scripts/test.sh
  echo "== run $run passed in $(($(date +%s) - started)) s" >&2
done
