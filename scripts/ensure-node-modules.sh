#!/usr/bin/env bash
# Runs `npm ci` only when node_modules is missing, or package-lock.json or the Node.js on PATH
# (scripts/use-node.sh puts the pinned one first) changed since the last run. No dependency's install
# script runs (--ignore-scripts): each is reviewed in scripts/supply-chain/install-scripts.json, and
# only those marked needed there (today none) are run, by name, with `npm rebuild`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
stamp="$root/node_modules/.vlinders-lock-hash"
hash="$(sha256sum "$root/package-lock.json" | cut -d' ' -f1) $(node --version)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then exit 0; fi
echo "installing node modules (npm ci)" >&2
(cd "$root" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
needed="$(cd "$root" && node -e 'for (const p of require("./scripts/supply-chain/install-scripts.json").packages) if (p.needed) console.log(p.name)')"
if [ -n "$needed" ]; then
  # shellcheck disable=SC2086 # one package name per word
  (cd "$root" && npm rebuild --loglevel=error $needed)
fi
echo "$hash" >"$stamp"
