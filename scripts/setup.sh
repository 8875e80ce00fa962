#!/usr/bin/env bash
# Idempotent workspace set-up; sourced by scripts/run.sh, or run on its own: `bash scripts/setup.sh`.
#  1. Node: Hardhat 3 needs Node >= 22.13 and the machine may have an older one, so the project installs
#     the npm package `node@24` (a real node binary) into .tools/ and puts it first on PATH.
#  2. Dependencies: installed with that node (`npm install`: npm 11 refuses `npm ci` on a lock whose
#     optional per-platform packages it did not record) (otherwise npm skips Hardhat's native EVM package), again
#     only when package-lock.json or the node version changed since the last install.
# Progress goes to stderr so commands that print JSON keep a clean stdout.
set -euo pipefail
ICON_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ICON_NODE_MAJOR=24
icon_tools="$ICON_ROOT/.tools"
icon_node="$icon_tools/node_modules/.bin/node"

if ! "$icon_node" --version 2>/dev/null | grep -q "^v${ICON_NODE_MAJOR}\."; then
  echo "[setup] installing Node ${ICON_NODE_MAJOR} from the npm registry into .tools/ (one time) ..." >&2
  mkdir -p "$icon_tools"
  [ -f "$icon_tools/package.json" ] || echo '{"private":true}' >"$icon_tools/package.json"
  (cd "$icon_tools" && npm install --no-audit --no-fund --loglevel=error "node@${ICON_NODE_MAJOR}" >&2)
  "$icon_node" --version >/dev/null || { echo "[setup] error: Node ${ICON_NODE_MAJOR} did not install; check access to the npm registry" >&2; exit 1; }
fi
export PATH="$icon_tools/node_modules/.bin:$ICON_ROOT/node_modules/.bin:$PATH"

icon_stamp="$ICON_ROOT/node_modules/.icon-setup-stamp"
icon_want() { echo "$(node --version) $(sha256sum "$ICON_ROOT/package.json" "$ICON_ROOT/package-lock.json" | cut -c1-64 | tr '\n' ' ')"; }
if [ ! -f "$icon_stamp" ] || [ "$(cat "$icon_stamp")" != "$(icon_want)" ]; then
  echo "[setup] installing dependencies with Node $(node --version) (npm install, from package-lock.json) ..." >&2
  (cd "$ICON_ROOT" && npm install --no-audit --no-fund --loglevel=error >&2)
  # Stamp what is there after the install (npm may have rewritten the lock file).
  icon_want >"$icon_stamp"
fi

# 3. System packages the tests use (dnsmasq, dig): installed with apt only when missing.
bash "$ICON_ROOT/scripts/setup-system.sh"
# 4. The project's own Docker engine (docker.io, started unless it answers) and its local images (built unless current);
#    child processes find the engine through ICON_DOCKER_SOCKET.
export ICON_DOCKER_SOCKET="${ICON_DOCKER_SOCKET:-/run/icon-docker/docker.sock}"
bash "$ICON_ROOT/scripts/docker.sh" start
bash "$ICON_ROOT/scripts/images.sh"
# 5. The plain-JavaScript copy of the runtime code that scripts/icon runs (.build/, incremental; on failure it runs the .ts).
node "$ICON_ROOT/scripts/build-js.ts" --quiet || echo "[setup] warning: the JavaScript build failed: \`icon\` runs the TypeScript sources" >&2
