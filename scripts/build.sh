#!/usr/bin/env bash
# Compiles what production runs into dist/ (tsconfig.build.json), then copies beside the emitted
# JavaScript the files that code reads by paths relative to its own module: Lua scripts, CommonJS
# modules, and the SQL migrations with their journal. Then builds the admin console (Vite) into
# console/dist/, which the API serves under /console. Each part skips the work when nothing it is
# built from changed since its last build (directories count too, so a deleted or moved file
# triggers a rebuild).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
sources=(api workflows activities workers db core runtime simulator scripts temporal.config.ts
  tsconfig.json tsconfig.build.json package-lock.json)
unchanged_since() { # stamp sources...
  local stamp="$1"
  shift
  [ -f "$stamp" ] && [ -z "$(find "$@" -newer "$stamp" -print -quit)" ]
}

if ! unchanged_since dist/.built "${sources[@]}"; then
  echo "building dist/ (tsc -p tsconfig.build.json)" >&2
  rm -rf dist
  npx tsc -p tsconfig.build.json
  find api workflows activities workers db core runtime simulator scripts -type f \
    \( -name '*.lua' -o -name '*.cjs' -o -path 'db/migrations/*' \) -print0 |
    xargs -0 cp --parents -t dist
  touch dist/.built
fi

console_sources=(console/src console/index.html console/vite.config.ts console/tsconfig.json package-lock.json)
if ! unchanged_since console/dist/.built "${console_sources[@]}"; then
  echo "building console/dist/ (vite build)" >&2
  npx vite build --config console/vite.config.ts --logLevel warn
  touch console/dist/.built
fi
