#!/usr/bin/env bash
# Sourced by the project's scripts (test, up, with-node): installs the pinned Node.js into
# .tools/node when missing and puts it first on PATH, so node, npm, npx and every tool that
# npm starts (tsx, vitest, eslint, tsc) run on it rather than on the machine's Node.
vlinders_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$vlinders_root/scripts/install-tools.sh" node
export PATH="$vlinders_root/.tools/node/bin:$PATH"
unset vlinders_root
