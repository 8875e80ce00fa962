#!/usr/bin/env bash
# Runs a command with the project's own Node (>= 22.13) after making sure the workspace is set up.
# Usage: bash scripts/run.sh <command> [args...]
# Every user-facing npm script goes through here, so `npm test` and `npm run demo` work on a fresh clone
# of a machine that only has Node 20: set-up installs Node from the npm registry and the dependencies with it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/setup.sh
source "$root/scripts/setup.sh" all
exec "$@"
