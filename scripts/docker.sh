#!/usr/bin/env bash
# The project's own Docker engine (Debian's dockerd), separate from any system Docker:
#   bash scripts/docker.sh start    start it unless it already answers; waits until /_ping answers
#   bash scripts/docker.sh stop     stop it (SIGTERM, wait, SIGKILL after 20 s); containers keep running
#                                   (live restore) and are taken over again by the next start
#   bash scripts/docker.sh stop --containers   also kill and remove every container first
#   bash scripts/docker.sh status   "running" (exit 0) or "stopped" (exit 3), with the socket and version
#   bash scripts/docker.sh env      `export ICON_DOCKER_SOCKET=… DOCKER_HOST=…` lines for `eval`
#
# Where it lives: socket /run/icon-docker/docker.sock, pidfile /run/icon-docker/docker.pid, exec root
# /run/icon-docker/exec, data root /var/lib/icon-docker/data, log /var/lib/icon-docker/dockerd.log.
# ICON_DOCKER_SOCKET=<dir>/docker.sock moves the socket, and then everything else lives in <dir> too.
#
# Daemon options: --live-restore so that containers survive a daemon restart (the yard reconnects and reconciles);
# --bridge none so that it never creates or touches docker0 (the yard uses its own user-defined networks, which
# is also what keeps it from clashing with a system Docker's default bridge); a short --shutdown-timeout.
# Needs root (dockerd does); progress goes to stderr.
set -euo pipefail

icon_default_socket=/run/icon-docker/docker.sock
socket="${ICON_DOCKER_SOCKET:-$icon_default_socket}"
if [ "$socket" = "$icon_default_socket" ]; then
  run_dir=/run/icon-docker
  state_dir=/var/lib/icon-docker
else
  case "$socket" in
    /*) ;;
    *) socket="$PWD/$socket" ;;
  esac
  run_dir="$(dirname "$socket")"
  state_dir="$run_dir"
fi
data_root="$state_dir/data"
exec_root="$run_dir/exec"
pidfile="$run_dir/docker.pid"
logfile="$state_dir/dockerd.log"
dockerd=/usr/sbin/dockerd
# Debian's CLI (20.10, the daemon's API version); a newer `docker` earlier on PATH may refuse to talk to it.
docker=/usr/bin/docker

log() { echo "[docker] $*" >&2; }

# 0 when the engine answers /_ping on the socket.
answering() {
  [ -S "$socket" ] || return 1
  if command -v curl >/dev/null 2>&1; then
    [ "$(curl -sf --max-time 2 --unix-socket "$socket" http://docker/_ping 2>/dev/null)" = "OK" ]
  else
    "$docker" -H "unix://$socket" version --format '{{.Server.Version}}' >/dev/null 2>&1
  fi
}

# The pid in the pidfile when that process is a live dockerd; empty otherwise.
daemon_pid() {
  local pid
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  if [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "dockerd" ]; then
    echo "$pid"
  fi
}

version() { "$docker" -H "unix://$socket" version --format '{{.Server.Version}}' 2>/dev/null || echo "?"; }

# Starts dockerd in its own session; sets launched_pid.
launch_dockerd() {
    mkdir -p "$run_dir" "$state_dir" "$data_root" "$exec_root"
    rm -f "$pidfile" # a stale pidfile makes dockerd refuse to start
    log "starting dockerd on unix://$socket (data $data_root, log $logfile) ..."
    # setsid: its own session, so it outlives the shell (and the npm/test run) that started it.
    setsid nohup "$dockerd" \
      --host "unix://$socket" \
      --data-root "$data_root" \
      --exec-root "$exec_root" \
      --pidfile "$pidfile" \
      --live-restore \
      --bridge none \
      --shutdown-timeout 2 \
      </dev/null >>"$logfile" 2>&1 &
    launched_pid=$!
}

start() {
  if answering; then
    log "already running: unix://$socket (Docker $(version))"
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    log "error: starting dockerd needs root; run 'sudo bash scripts/docker.sh start'"
    exit 1
  fi
  if [ ! -x "$dockerd" ] || [ ! -x "$docker" ]; then
    log "error: $dockerd or $docker is missing; run 'bash scripts/setup-system.sh' (installs the docker.io package)"
    exit 1
  fi
  local pid
  pid="$(daemon_pid)"
  if [ -n "$pid" ]; then
    log "dockerd (pid $pid) runs but does not answer on $socket yet; waiting for it"
  else
    kill_orphan_containerd
    launch_dockerd
    pid=$launched_pid
  fi
  local deadline=$((SECONDS + 30))
  until answering; do
    if ! kill -0 "$pid" 2>/dev/null; then
      # Under load containerd can miss dockerd's start-up deadline and dockerd gives up: try again (3 times).
      if [ "${attempt:-1}" -lt 3 ]; then
        attempt=$((${attempt:-1} + 1))
        log "dockerd exited during start (its containerd was slow?); trying again ($attempt/3)"
        sleep 1
        kill_orphan_containerd
        launch_dockerd
        pid=$launched_pid
        deadline=$((SECONDS + 30))
        continue
      fi
      log "error: dockerd exited during start; the end of $logfile:"
      tail -n 20 "$logfile" >&2 || true
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "error: dockerd (pid $pid) did not answer on $socket within 30 s; see $logfile"
      exit 1
    fi
    sleep 0.1
  done
  log "running: unix://$socket (Docker $(version), pid $(daemon_pid))"
}

stop() {
  case "${1:-}" in
    "") ;;
    --containers)
      if answering; then
        local ids
        ids="$("$docker" -H "unix://$socket" ps -aq)"
        if [ -n "$ids" ]; then
          log "removing $(wc -w <<<"$ids") container(s) ..."
          # shellcheck disable=SC2086 # one id per word
          "$docker" -H "unix://$socket" rm -f $ids >/dev/null
        fi
      fi
      ;;
    *)
      log "error: unknown option $1 (stop takes only --containers)"
      exit 2
      ;;
  esac
  local pid
  pid="$(daemon_pid)"
  if [ -z "$pid" ]; then
    if answering; then
      log "error: something answers on $socket but $pidfile names no dockerd; not touching it"
      exit 1
    fi
    log "not running"
    return 0
  fi
  log "stopping dockerd (pid $pid) ..."
  kill -TERM "$pid"
  local deadline=$((SECONDS + 20))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "dockerd did not exit within 20 s of SIGTERM; SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
  done
  # dockerd removes its socket and pidfile when it exits cleanly; after a SIGKILL they are stale.
  rm -f "$pidfile" "$socket"
  kill_orphan_containerd
  log "stopped"
}

# The containerd a dockerd of ours started and left behind (dockerd killed): it keeps the state database
# locked, and the next dockerd's containerd then never starts. Containers survive (their shims stay).
kill_orphan_containerd() {
  local c
  c="$(pgrep -f "containerd --config $exec_root/containerd/containerd.toml" || true)"
  if [ -n "$c" ]; then
    log "stopping the containerd left behind (pid $(echo $c)) ..."
    # shellcheck disable=SC2086 # one pid per word
    kill -TERM $c 2>/dev/null || true
    sleep 1
    # shellcheck disable=SC2086
    kill -KILL $c 2>/dev/null || true
  fi
}

status() {
  if answering; then
    echo "running unix://$socket Docker $(version) pid $(daemon_pid)"
    return 0
  fi
  echo "stopped unix://$socket"
  return 3
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  status) status ;;
  env)
    printf 'export ICON_DOCKER_SOCKET=%q\n' "$socket"
    printf 'export DOCKER_HOST=%q\n' "unix://$socket"
    ;;
  *)
    echo "usage: bash scripts/docker.sh start|stop [--containers]|status|env" >&2
    exit 2
    ;;
esac
