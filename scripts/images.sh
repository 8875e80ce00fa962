#!/usr/bin/env bash
# Builds the project's local images into its own engine (scripts/docker.sh), offline (no registry is needed):
#   icon/busybox:1  Debian's static busybox (/bin/busybox) and a symlink per applet, /etc/passwd and /etc/group
#                   (root; nobody 65534), PATH=/bin, CMD ["/bin/sh"]; a single layer made with `docker import`
#   icon/web:1      icon/busybox:1 plus /www/index.html, serving it with busybox httpd on port 8080; runs as
#                   65534:65534 on a read-only rootfs (httpd writes nothing)
#   icon/echo:1     icon/busybox:1 plus /bin/echo-server (scripts/images/echo.c, built static with gcc): a UDP and
#                   TCP echo server on port 5353, one thread for every connection (busybox has no UDP server, and its
#                   TCP servers fork per connection); 65534:65534
#   icon/http-return:1  the host's HAProxy (Debian's /usr/sbin/haproxy and the shared libraries `ldd` lists, nothing
#                   else) with a config that answers every HTTP request on port 8080 itself (`http-request return`:
#                   200, a fixed 24-byte body, keep-alive; `nbthread 1`): the upstream of `npm run bench:proxy`;
#                   65534:65534; built only when haproxy is installed (the bench installs it)
#   icon/agent:1    the ICON agent: the project's Node (the npm package node@24's binary from .tools/, its symbols
#                   stripped when binutils' strip is there: 103 against 121 MiB) with exactly the shared libraries
#                   `ldd` lists, and the agent's entry (scripts/cli/agent-main.ts, from the .build/ copy
#                   scripts/build-js.ts makes) bundled by esbuild with its runtime dependencies into one file,
#                   /app/icon-agent.js (2.4 MiB where the same packages unbundled are ≈ 55 MiB; no Hardhat, no dev
#                   dependency, no test code); ENTRYPOINT node with the V8 flags scripts/icon gives a yard, CMD
#                   `agent run --state /run/icon` (the container is given a tmpfs there: the ICON's key and state);
#                   65534:65534, nothing written outside /run/icon (a read-only rootfs is fine)
# Idempotent: each image carries the label icon.content, a hash of everything it is made of (busybox binary,
# files, settings); an image whose label matches is left alone, otherwise it is rebuilt under the same tag.
# Usage: bash scripts/images.sh [--force]; the engine's socket is ICON_DOCKER_SOCKET (default
# /run/icon-docker/docker.sock). Progress goes to stderr.
set -euo pipefail
socket="${ICON_DOCKER_SOCKET:-/run/icon-docker/docker.sock}"
# Debian's CLI (20.10, the daemon's API version); a newer `docker` earlier on PATH may refuse to talk to it.
docker=(/usr/bin/docker -H "unix://$socket")
busybox=/bin/busybox
force="${1:-}"

log() { echo "[images] $*" >&2; }

if ! "${docker[@]}" version --format '{{.Server.Version}}' >/dev/null 2>&1; then
  log "error: no Docker engine answers on $socket; run 'bash scripts/docker.sh start' first"
  exit 1
fi
if [ ! -x "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
  log "error: $busybox is missing or not static; run 'bash scripts/setup-system.sh' (installs busybox-static)"
  exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/icon-images.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# The label icon.content of an image, or "" when the image is absent.
content_of() { "${docker[@]}" image inspect --format '{{index .Config.Labels "icon.content"}}' "$1" 2>/dev/null || true; }

# up_to_date <ref> <hash>: 0 when the image exists with that content hash (and --force was not given).
up_to_date() {
  [ "$force" != "--force" ] && [ "$(content_of "$1")" = "$2" ]
}

# The sha256 of stdin: an image's icon.content.
content_hash() { sha256sum | cut -c1-64; }

# shared_libs <binary>: what the dynamic loader needs for it ("name => /path (addr)" lines and the loader's own line).
shared_libs() { ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'; }

# copy_into <root> <file…>: each file under <root> at its own path; for a symlink (e.g. /lib64/ld-linux-x86-64.so.2)
# the file it points to, under the link's name.
copy_into() {
  local root="$1" f
  shift
  for f in "$@"; do
    mkdir -p "$root$(dirname "$f")"
    cp -L "$f" "$root$f"
  done
}

# import_image <ref> <hash> <change…>: `docker import` of the root file system tar on stdin as <ref>, with the
# changes and the label icon.content=<hash>.
import_image() {
  local ref="$1" hash="$2" c changes=()
  shift 2
  for c in "$@" "LABEL icon.content=$hash"; do changes+=(--change "$c"); done
  "${docker[@]}" import "${changes[@]}" - "$ref" >/dev/null
}

# ---- icon/busybox:1 ----------------------------------------------------------------------------------------------
base_ref=icon/busybox:1
passwd='root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false'
group='root:x:0:
nobody:x:65534:'
base_changes=('CMD ["/bin/sh"]' 'ENV PATH=/bin')
base_hash="$(
  {
    echo "busybox-image v1"
    sha256sum <"$busybox"
    echo "$passwd"
    echo "$group"
    printf '%s\n' "${base_changes[@]}"
  } | content_hash
)"

if up_to_date "$base_ref" "$base_hash"; then
  log "$base_ref: up to date"
else
  t0=$(date +%s%N)
  root="$work/busybox"
  mkdir -p "$root/bin" "$root/etc" "$root/root" "$root/tmp" "$root/usr"
  chmod 0700 "$root/root"
  chmod 1777 "$root/tmp"
  cp "$busybox" "$root/bin/busybox"
  for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
  done
  # Programs that look for /usr/bin/env or /sbin/… find the same applets.
  ln -s bin "$root/sbin"
  ln -s ../bin "$root/usr/bin"
  ln -s ../bin "$root/usr/sbin"
  echo "$passwd" >"$root/etc/passwd"
  echo "$group" >"$root/etc/group"
  tar --numeric-owner --owner=0 --group=0 -C "$root" -c . | import_image "$base_ref" "$base_hash" "${base_changes[@]}"
  log "$base_ref: built ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
fi

# ---- icon/web:1 --------------------------------------------------------------------------------------------------
web_ref=icon/web:1
index_html='<!doctype html>
<html><head><title>icon web</title></head><body><p>icon-web-ok</p></body></html>'
dockerfile='FROM icon/busybox:1
COPY --chown=0:0 index.html /www/index.html
EXPOSE 8080
USER 65534:65534
CMD ["httpd", "-f", "-v", "-p", "8080", "-h", "/www"]'
# The base's content hash is part of the web image's: a rebuilt base rebuilds the web image.
web_hash="$(printf '%s\n' "web-image v1" "$base_hash" "$index_html" "$dockerfile" | content_hash)"

if up_to_date "$web_ref" "$web_hash"; then
  log "$web_ref: up to date"
else
  t0=$(date +%s%N)
  ctx="$work/web"
  mkdir -p "$ctx"
  echo "$index_html" >"$ctx/index.html"
  chmod 0644 "$ctx/index.html"
  printf '%s\nLABEL icon.content=%s\n' "$dockerfile" "$web_hash" >"$ctx/Dockerfile"
  # The classic builder (no BuildKit): FROM a local image and COPY need no registry.
  DOCKER_BUILDKIT=0 "${docker[@]}" build -q -t "$web_ref" "$ctx" >/dev/null
  log "$web_ref: built ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
fi

# ---- icon/echo:1 -------------------------------------------------------------------------------------------------
echo_ref=icon/echo:1
echo_src="$(dirname "${BASH_SOURCE[0]}")/images/echo.c"
echo_dockerfile='FROM icon/busybox:1
COPY --chown=0:0 echo-server /bin/echo-server
EXPOSE 5353/udp 5353/tcp
USER 65534:65534
CMD ["/bin/echo-server", "5353"]'
echo_hash="$(printf '%s\n' "echo v1" "$base_hash" "$(sha256sum "$echo_src")" "$echo_dockerfile" | content_hash)"
if up_to_date "$echo_ref" "$echo_hash"; then
  log "$echo_ref: up to date"
elif ! command -v gcc >/dev/null 2>&1; then
  log "warning: gcc is missing, $echo_ref not built (UDP and load tests need it; apt-get install gcc libc6-dev)"
else
  t0=$(date +%s%N)
  ctx="$work/echo"
  mkdir -p "$ctx"
  gcc -O2 -static -o "$ctx/echo-server" "$echo_src"
  printf '%s\nLABEL icon.content=%s\n' "$echo_dockerfile" "$echo_hash" >"$ctx/Dockerfile"
  DOCKER_BUILDKIT=0 "${docker[@]}" build -q -t "$echo_ref" "$ctx" >/dev/null
  log "$echo_ref: built ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
fi
# ---- icon/http-return:1 ------------------------------------------------------------------------------------------
http_ref=icon/http-return:1
haproxy_bin=/usr/sbin/haproxy
http_cfg='global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend upstream
  bind :8080
  http-request return status 200 content-type text/plain string "hello from the upstream\n"'
http_changes=('CMD ["/usr/sbin/haproxy", "-db", "-f", "/etc/haproxy/haproxy.cfg"]' 'EXPOSE 8080' 'USER 65534:65534')
if [ ! -x "$haproxy_bin" ]; then
  log "note: $haproxy_bin is not installed, $http_ref not built (npm run bench:proxy installs haproxy and builds it)"
else
  mapfile -t http_libs < <(shared_libs "$haproxy_bin")
  http_hash="$(
    {
      echo "http-return v1"
      for f in "$haproxy_bin" "${http_libs[@]}"; do echo "$f $(sha256sum <"$f")"; done
      echo "$http_cfg"
      printf '%s\n' "${http_changes[@]}"
    } | content_hash
  )"
  if up_to_date "$http_ref" "$http_hash"; then
    log "$http_ref: up to date"
  else
    t0=$(date +%s%N)
    root="$work/http-return"
    mkdir -p "$root/etc/haproxy" "$root/tmp"
    chmod 1777 "$root/tmp"
    copy_into "$root" "$haproxy_bin" "${http_libs[@]}"
    echo "$http_cfg" >"$root/etc/haproxy/haproxy.cfg"
    chmod 0644 "$root/etc/haproxy/haproxy.cfg"
    tar --numeric-owner --owner=0 --group=0 -C "$root" -c . | import_image "$http_ref" "$http_hash" "${http_changes[@]}"
    log "$http_ref: built ($(( ($(date +%s%N) - t0) / 1000000 )) ms, ${#http_libs[@]} shared libraries)"
  fi
fi

# ---- icon/agent:1 ------------------------------------------------------------------------------------------------
agent_ref=icon/agent:1
project="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
agent_node="$(readlink -f "$project/.tools/node_modules/.bin/node" 2>/dev/null || true)"
esbuild="$project/node_modules/.bin/esbuild"
# Beyond scripts/icon's V8 flags, fewer threads for an agent that waits most of the time (bench:lease, idle RSS):
# one V8 worker (--v8-pool-size=1), two libuv workers (files, getaddrinfo) and two malloc arenas, each thread's arena
# otherwise holding pages of its own: ≈ 5 MiB less.
agent_changes=(
  'ENTRYPOINT ["/usr/local/bin/node", "--max-semi-space-size=1", "--heap-growing-percent=100", "--v8-pool-size=1", "/app/icon-agent.js"]'
  'CMD ["agent", "run", "--state", "/run/icon", "--state-from-stdin"]'
  'ENV UV_THREADPOOL_SIZE=2 MALLOC_ARENA_MAX=2'
  'USER 65534:65534'
  'WORKDIR /run/icon'
)
# The bundle is kept in .icon/images/agent/ (the project's data directory) with its time set to when its build began:
# current while no source it is made of (the trees .build/ holds, the lock file, build-js.ts, this script) is newer.
agent_cache="$project/.icon/images/agent"
agent_sources=("$project/protocol" "$project/icon-agent" "$project/scripts/cli" "$project/scripts/lib"
  "$project/package-lock.json" "$project/scripts/build-js.ts" "${BASH_SOURCE[0]}")
agent_bundle_current() {
  [ -f "$agent_cache/app/icon-agent.js" ] && [ -f "$agent_cache/app/package.json" ] &&
    [ -z "$(find "${agent_sources[@]}" -newer "$agent_cache/app/icon-agent.js" -print -quit 2>/dev/null)" ]
}
# build_agent_bundle: .build/ brought up to date (incremental), then its agent entry and every module it imports in
# one ESM file. The banner gives the CommonJS packages inside (ws, dns-packet, …) the require they call. Whitespace
# and syntax minified (2.4 against 4.0 MiB: V8 keeps the whole source in the heap, ≈ 5 MiB less RSS), names kept
# (stack traces still name the functions).
build_agent_bundle() {
  local began
  began="$(date +%s.%N)"
  rm -rf "$agent_cache/app.new" && mkdir -p "$agent_cache/app.new"
  "$agent_node" "$project/scripts/build-js.ts" --quiet
  # From the project's directory: esbuild names each module in the bundle by its path from the working directory, and
  # the same sources must make the same bundle (and icon.content) in every checkout.
  (cd "$project" && "$esbuild" .build/scripts/cli/agent-main.js --bundle --platform=node --format=esm --target=node24 \
    --minify-whitespace --minify-syntax --log-level=warning --outfile="$agent_cache/app.new/icon-agent.js" \
    --banner:js='import { createRequire as iconCreateRequire } from "node:module"; const require = iconCreateRequire(import.meta.url);')
  # The version agent-main.ts prints (--version), and "type": "module" for the bundle.
  "$agent_node" -e 'const p = require(process.argv[1]); process.stdout.write(JSON.stringify({ name: "icon-agent", version: p.version, private: true, type: "module" }) + "\n")' \
    "$project/package.json" >"$agent_cache/app.new/package.json"
  touch -d "@$began" "$agent_cache/app.new/icon-agent.js"
  rm -rf "$agent_cache/app" && mv "$agent_cache/app.new" "$agent_cache/app"
}
# The Node binary's sha256, kept beside the bundle while the binary is not newer (hashing 120 MiB takes ≈ 0.4 s).
agent_node_sha() {
  local f="$agent_cache/node.sha256"
  if [ ! -f "$f" ] || [ "$agent_node" -nt "$f" ] || [ "$(cut -d' ' -f2- <"$f")" != "$agent_node" ]; then
    mkdir -p "$agent_cache" && echo "$(sha256sum <"$agent_node" | cut -c1-64) $agent_node" >"$f"
  fi
  cut -d' ' -f1 <"$f"
}
# Everything the image is made of, for its icon.content.
agent_content() {
  echo "agent v1"
  echo "$agent_node $(agent_node_sha) stripped: ${agent_strip:+yes}"
  for f in "${agent_libs[@]}"; do echo "$f $(sha256sum <"$f")"; done
  sha256sum <"$agent_cache/app/icon-agent.js"
  cat "$agent_cache/app/package.json"
  echo "$passwd"
  echo "$group"
  printf '%s\n' "${agent_changes[@]}"
}
# build_agent_image <dir>: the root file system in <dir>, imported as $agent_ref.
build_agent_image() {
  local root="$1"
  mkdir -p "$root/app" "$root/etc" "$root/usr/local/bin" "$root/run/icon"
  cp "$agent_cache/app/icon-agent.js" "$agent_cache/app/package.json" "$root/app/"
  chmod 0755 "$root/app" && chmod 0644 "$root/app/"*
  cp "$agent_node" "$root/usr/local/bin/node"
  # The npm package's binary carries its symbols and debug info (18 MiB); JavaScript stack traces do not use them.
  [ -z "$agent_strip" ] || strip --strip-all "$root/usr/local/bin/node"
  copy_into "$root" "${agent_libs[@]}"
  echo "$passwd" >"$root/etc/passwd"
  echo "$group" >"$root/etc/group"
  # Names from /etc/hosts (Docker writes it) first, then DNS (glibc's default without this file is the other order).
  echo "hosts: files dns" >"$root/etc/nsswitch.conf"
  # The mount point /run/icon belongs to 65534 (mode 0700); a tmpfs mounted over it is root's unless it is given
  # uid=65534,gid=65534 (docker run --tmpfs /run/icon:uid=65534,gid=65534,mode=0700; HostConfig.Tmpfs alike).
  tar --numeric-owner --owner=0 --group=0 --exclude=./run -C "$root" -c . >"$root.tar"
  tar --numeric-owner --owner=65534 --group=65534 --mode=0700 -C "$root" -rf "$root.tar" ./run/icon
  import_image "$agent_ref" "$agent_hash" "${agent_changes[@]}" <"$root.tar"
}
if [ ! -x "$agent_node" ] || [ ! -x "$esbuild" ]; then
  log "note: the project's Node (.tools/) or esbuild (node_modules/) is missing, $agent_ref not built (run bash scripts/setup.sh light first)"
elif ! agent_bundle_current && ! build_agent_bundle >"$work/agent.log" 2>&1; then
  log "warning: $agent_ref not built: bundling the agent failed (the yard and the tests that need no agent image go on):"
  tail -n 15 "$work/agent.log" | sed 's/^/  | /' >&2
else
  agent_strip="$(command -v strip || true)" # binutils, with gcc (scripts/setup-system.sh)
  mapfile -t agent_libs < <(shared_libs "$agent_node")
  agent_hash="$(agent_content | content_hash)"
  if up_to_date "$agent_ref" "$agent_hash"; then
    log "$agent_ref: up to date"
  else
    t0=$(date +%s%N)
    build_agent_image "$work/agent"
    log "$agent_ref: built ($(( ($(date +%s%N) - t0) / 1000000 )) ms, ${#agent_libs[@]} shared libraries, bundle $(( $(stat -c %s "$agent_cache/app/icon-agent.js") / 1024 )) KiB)"
  fi
fi

# Dangling images left by rebuilds under the same tag. Housekeeping only: the engine runs one prune at a time and
# refuses a second ("a prune operation is already running": test lanes and other checkouts build at once), and
# whoever prunes removes ours too — so a refused prune is no failure of this build.
if ! out="$("${docker[@]}" image prune -f --filter label=icon.content 2>&1 >/dev/null)"; then
  case "$out" in
    *"prune operation is already running"*) log "note: another prune was running; dangling images are left to it" ;;
    *) echo "$out" >&2; exit 1 ;;
  esac
fi
