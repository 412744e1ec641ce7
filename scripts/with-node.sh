#!/usr/bin/env bash
# Runs a command on the pinned Node.js (installed into .tools/node when missing), e.g.
#   bash scripts/with-node.sh npx tsx bench/api.ts
set -euo pipefail
# shellcheck source=use-node.sh
source "$(dirname "$0")/use-node.sh"
exec "$@"
