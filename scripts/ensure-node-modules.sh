#!/usr/bin/env bash
# Runs `npm ci` only when node_modules is missing, or package-lock.json or the Node.js on PATH
# (scripts/use-node.sh puts the pinned one first) changed since the last run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
stamp="$root/node_modules/.vlinders-lock-hash"
hash="$(sha256sum "$root/package-lock.json" | cut -d' ' -f1) $(node --version)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then exit 0; fi
echo "installing node modules (npm ci)" >&2
(cd "$root" && npm ci --no-audit --no-fund --loglevel=error)
echo "$hash" >"$stamp"
