#!/usr/bin/env bash
# Compiles what production runs into dist/ (tsconfig.build.json), then copies beside the emitted
# JavaScript the files that code reads by paths relative to its own module: Lua scripts, CommonJS
# modules, and the SQL migrations with their journal. Skips the work when nothing changed since
# the last build (directories count too, so a deleted or moved file triggers a rebuild).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
sources=(api workflows activities workers db core runtime simulator scripts temporal.config.ts
  tsconfig.json tsconfig.build.json package-lock.json)
stamp=dist/.built
if [ -f "$stamp" ] && [ -z "$(find "${sources[@]}" -newer "$stamp" -print -quit)" ]; then
  exit 0
fi
echo "building dist/ (tsc -p tsconfig.build.json)" >&2
rm -rf dist
npx tsc -p tsconfig.build.json
find api workflows activities workers db core runtime simulator scripts -type f \
  \( -name '*.lua' -o -name '*.cjs' -o -path 'db/migrations/*' \) -print0 |
  xargs -0 cp --parents -t dist
touch "$stamp"
