#!/usr/bin/env bash
# Idempotent workspace set-up, in steps; sourced by scripts/run.sh (all steps) and scripts/icon (the light ones),
# or run on its own: `bash scripts/setup.sh [all|light|yard]` (default all).
#   node     Hardhat 3 needs Node >= 22.13 and the machine may have an older one, so the project installs the npm
#            package `node@24` (a real node binary) into .tools/ and puts it first on PATH.
#   deps     `npm install` with that node (npm 11 refuses `npm ci` on a lock whose optional per-platform packages it
#            did not record, and would skip Hardhat's native EVM package), only when package.json, package-lock.json
#            or the node version changed since the last install.
#   system   Debian packages the yard and the tests use (dnsmasq, dig, dockerd, busybox, gcc, nft, ping, traceroute;
#            scripts/setup-system.sh), installed with apt only when missing.
#   docker   the project's own Docker engine (scripts/docker.sh start: started unless it answers); child processes
#            find it through ICON_DOCKER_SOCKET.
#   images   its local images (scripts/images.sh: built unless current).
#   netbed   the packet-level WAN testbed's delay element (scripts/netbed/delay.c, gcc) in .icon/netbed/, built unless
#            one from the same source is there (scripts/netbed/build.ts).
#   build    the plain-JavaScript copy of the runtime code that scripts/icon runs (.build/, scripts/build-js.ts), only
#            when a source is newer than the last complete build; if it fails `icon` runs the .ts sources.
# Modes: all = every step (npm test, npm run demo, benches); light = node, deps, build (every `icon` call: a command
# that needs more asks for it, e.g. `icon yard start` runs the yard mode); yard = system, docker, images.
# Each step's output goes to .icon/setup/<step>.log (the project's data directory, gitignored); the terminal gets one
# line per step, "setup: <step> … ok (1.2 s)" (in light mode only for a step that had work to do), and for a step
# that fails its name, its log's path and the log's last lines. All of it on stderr: commands that print JSON keep a
# clean stdout.
set -euo pipefail
ICON_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ICON_NODE_MAJOR=24
icon_tools="$ICON_ROOT/.tools"
icon_node="$icon_tools/node_modules/.bin/node"
icon_setup_logs="$ICON_ROOT/.icon/setup"
icon_setup_mode="${1:-all}"

# icon_step [--warn] <name> <what> <command…>: runs the command with its output in <name>.log and says how it went
# in one line; on failure it exits (the caller too, when sourced), or with --warn says so and goes on. The command
# runs in a subshell with errexit, so a shell function's failing command fails the step as in a script (errexit is
# ignored in a function called as a condition, so icon_step must never be called as one: no `icon_step … || …`).
icon_step() {
  local warn=""
  if [ "$1" = --warn ]; then
    warn=1
    shift
  fi
  local name="$1" what="$2" t0="$EPOCHREALTIME" rc=0 log="$icon_setup_logs/$1.log"
  shift 2
  mkdir -p "$icon_setup_logs"
  (
    set -e
    "$@"
  ) </dev/null >"$log" 2>&1 &
  wait $! || rc=$?
  local secs
  secs="$(icon_seconds_since "$t0")"
  if [ "$rc" -eq 0 ]; then
    echo "setup: $what … ok ($secs s)" >&2
  elif [ -n "$warn" ]; then
    echo "setup: $what … FAILED after $secs s (exit $rc; log $log): going on without it" >&2
  else
    echo "setup: $what … FAILED after $secs s (exit $rc); the end of its log $log:" >&2
    tail -n 15 "$log" | sed 's/^/  | /' >&2
    exit "$rc"
  fi
}
# Seconds since an $EPOCHREALTIME, one decimal (no fork: bash arithmetic on microseconds).
icon_seconds_since() {
  local now="${EPOCHREALTIME/[.,]/}" then="${1/[.,]/}"
  local d=$(((now - then) / 100000))
  echo "$((d / 10)).$((d % 10))"
}

# ---- node --------------------------------------------------------------------------------------------------------
# Current when the binary is there and its package says the major wanted (read without starting node).
icon_node_current() {
  local pkg="$icon_tools/node_modules/node/package.json"
  [ -x "$icon_node" ] && [ -f "$pkg" ] && [[ "$(<"$pkg")" == *"\"version\": \"${ICON_NODE_MAJOR}."* ]]
}
icon_install_node() {
  mkdir -p "$icon_tools"
  [ -f "$icon_tools/package.json" ] || echo '{"private":true}' >"$icon_tools/package.json"
  (cd "$icon_tools" && npm install --no-audit --no-fund --loglevel=error "node@${ICON_NODE_MAJOR}")
  "$icon_node" --version | grep -q "^v${ICON_NODE_MAJOR}\." || {
    echo "error: Node ${ICON_NODE_MAJOR} did not install into $icon_tools; check access to the npm registry"
    exit 1
  }
}

# ---- deps --------------------------------------------------------------------------------------------------------
icon_stamp="$ICON_ROOT/node_modules/.icon-setup-stamp"
icon_want() { echo "$(node --version) $(sha256sum "$ICON_ROOT/package.json" "$ICON_ROOT/package-lock.json" | cut -c1-64 | tr '\n' ' ')"; }
# Current when the stamp is newer than what it stamps (no fork); otherwise when its content still matches (then
# touched, so that the next check is the quick one again).
icon_deps_current() {
  [ -f "$icon_stamp" ] || return 1
  if [ "$icon_stamp" -nt "$ICON_ROOT/package.json" ] && [ "$icon_stamp" -nt "$ICON_ROOT/package-lock.json" ] &&
    [ "$icon_stamp" -nt "$(readlink -f "$icon_node")" ]; then
    return 0
  fi
  [ "$(cat "$icon_stamp")" = "$(icon_want)" ] && touch "$icon_stamp"
}
icon_install_deps() {
  cd "$ICON_ROOT"
  npm install --no-audit --no-fund --loglevel=error
  # Stamp what is there after the install (npm may have rewritten the lock file).
  icon_want >"$icon_stamp"
}

# ---- build -------------------------------------------------------------------------------------------------------
# Current when .build/.complete exists and nothing under the trees it lists (one a line: scripts/build-js.ts writes
# them, with the stamp's time set to the build's start) nor the build's own files is newer: an edited, added,
# removed or renamed file (its directory changes too) makes it stale, and a stale .build never runs.
icon_build_current() {
  local stamp="$ICON_ROOT/.build/.complete" trees=() t
  [ -f "$stamp" ] || return 1
  while IFS= read -r t; do [ -n "$t" ] && trees+=("$ICON_ROOT/$t"); done <"$stamp"
  [ "${#trees[@]}" -gt 0 ] || return 1
  [ -z "$(find "${trees[@]}" "$ICON_ROOT/scripts/build-js.ts" -newer "$stamp" -print -quit 2>/dev/null)" ]
}
icon_build() { node "$ICON_ROOT/scripts/build-js.ts"; }

# ---- the steps of a mode ------------------------------------------------------------------------------------------
export ICON_DOCKER_SOCKET="${ICON_DOCKER_SOCKET:-/run/icon-docker/docker.sock}"
case "$icon_setup_mode" in
  all | light)
    if ! icon_node_current; then
      icon_step node "Node ${ICON_NODE_MAJOR} into .tools/ (npm registry, one time)" icon_install_node
    elif [ "$icon_setup_mode" = all ]; then
      echo "setup: Node ${ICON_NODE_MAJOR} … ok (installed)" >&2
    fi
    export PATH="$icon_tools/node_modules/.bin:$ICON_ROOT/node_modules/.bin:$PATH"
    if ! icon_deps_current; then
      icon_step deps "dependencies (npm install with Node $(node --version))" icon_install_deps
    elif [ "$icon_setup_mode" = all ]; then
      echo "setup: dependencies … ok (current)" >&2
    fi
    if [ "$icon_setup_mode" = all ]; then
      icon_step system "system packages (apt, when missing)" bash "$ICON_ROOT/scripts/setup-system.sh"
      icon_step docker "docker engine ($ICON_DOCKER_SOCKET)" bash "$ICON_ROOT/scripts/docker.sh" start
      icon_step images "local images" bash "$ICON_ROOT/scripts/images.sh"
      icon_step netbed "testbed delay element (gcc)" node "$ICON_ROOT/scripts/netbed/build.ts"
    fi
    if ! icon_build_current; then
      # On failure .build/.complete is absent and `icon` runs the TypeScript sources.
      icon_step --warn build "JavaScript build (.build/)" icon_build
    elif [ "$icon_setup_mode" = all ]; then
      echo "setup: JavaScript build … ok (current)" >&2
    fi
    ;;
  yard)
    icon_step system "system packages (apt, when missing)" bash "$ICON_ROOT/scripts/setup-system.sh"
    icon_step docker "docker engine ($ICON_DOCKER_SOCKET)" bash "$ICON_ROOT/scripts/docker.sh" start
    icon_step images "local images" bash "$ICON_ROOT/scripts/images.sh"
    ;;
  *)
    echo "usage: bash scripts/setup.sh [all|light|yard]" >&2
    exit 2
    ;;
esac
