#!/usr/bin/env bash
# Idempotent system set-up for tests that need Debian programs: `bash scripts/setup-system.sh`.
#   dnsmasq  a real DNS server the DNS SRV discovery tests start on loopback (package dnsmasq-base: the
#            binary only, no init script, so installing it never starts a system-wide daemon on port 53)
#   dig      queries the same records from the command line (package bind9-dnsutils, or dnsutils)
#   dockerd  the container engine the yard node runs leases in (package docker.io: /usr/sbin/dockerd and the
#            matching CLI /usr/bin/docker; the package does not start a daemon here, scripts/docker.sh does)
#   busybox  a static busybox, the only content of the project's base image (scripts/images.sh)
#   gcc      builds the static UDP/TCP echo server of the icon/echo:1 test image (gcc + libc6-dev for libc.a)
#   nft      the yard's host firewall: an nftables table that keeps containers off the host's own services
#            (package nftables; its systemd unit is not enabled or started here)
#   ping     the packet-level WAN testbed's tests and bench:netview measure round trips with it (iputils-ping)
#   traceroute  the testbed's tests trace router hops with it (package traceroute)
#   chromium the owner console's test drives Debian's Chromium with playwright-core (no browser download; package
#            chromium, /usr/bin/chromium)
# apt-get runs only when a binary is missing; nothing is started here. Progress goes to stderr.
set -euo pipefail

# binary -> Debian packages that provide it, in order of preference (the first with an install candidate wins).
declare -A icon_providers=(
  [dnsmasq]="dnsmasq-base dnsmasq"
  [dig]="bind9-dnsutils dnsutils"
  [dockerd]="docker.io"
  [busybox]="busybox-static"
  [gcc]="gcc"
  [nft]="nftables"
  [ping]="iputils-ping"
  [traceroute]="traceroute"
  [chromium]="chromium"
)

# Debian keeps dnsmasq and dockerd in /usr/sbin, which a non-login shell may not have on PATH.
icon_have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }
# The engine is driven with Debian's own CLI, /usr/bin/docker (matching dockerd's API version), not whatever
# `docker` comes first on PATH; busybox must be the static build (it is copied alone into an image).
icon_have_bin() {
  case "$1" in
    dockerd) [ -x /usr/sbin/dockerd ] && [ -x /usr/bin/docker ] ;;
    busybox) [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 ;;
    gcc) command -v gcc >/dev/null 2>&1 && [ -n "$(find /usr/lib -name libc.a -print -quit 2>/dev/null)" ] ;;
    *) icon_have "$1" ;;
  esac
}

icon_missing=()
for bin in dnsmasq dig dockerd busybox gcc nft ping traceroute chromium; do
  icon_have_bin "$bin" || icon_missing+=("$bin")
done
[ "${#icon_missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "[setup-system] error: ${icon_missing[*]} missing and installing Debian packages needs root; run 'sudo bash scripts/setup-system.sh' or install dnsmasq-base, bind9-dnsutils, docker.io, busybox-static, nftables, iputils-ping, traceroute and chromium yourself." >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "[setup-system] error: ${icon_missing[*]} missing and this system has no apt-get; install dnsmasq, dig (bind utilities), Docker (dockerd), a static busybox, nftables, ping, traceroute and Chromium with its package manager." >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive

# The first provider of each missing binary that apt can install; "" when none (package lists may be empty).
icon_pick() {
  local pkg policy
  for pkg in ${icon_providers[$1]}; do
    policy="$(apt-cache policy "$pkg" 2>/dev/null || true)"
    if grep -q "Candidate: [^(]" <<<"$policy"; then
      echo "$pkg"
      return
    fi
  done
}
icon_resolve() {
  icon_packages=()
  local bin pkg
  for bin in "${icon_missing[@]}"; do
    pkg="$(icon_pick "$bin")"
    [ -n "$pkg" ] || return 1
    icon_packages+=("$pkg")
  done
}

if ! icon_resolve; then
  echo "[setup-system] missing: ${icon_missing[*]}; apt-get update ..." >&2
  apt-get update -q >&2
  if ! icon_resolve; then
    echo "[setup-system] error: no Debian package provides ${icon_missing[*]} (tried: $(for b in "${icon_missing[@]}"; do echo -n "${icon_providers[$b]} "; done)); check /etc/apt/sources.list." >&2
    exit 1
  fi
fi

echo "[setup-system] installing ${icon_packages[*]} ..." >&2
apt-get install -y -q --no-install-recommends "${icon_packages[@]}" >&2

for bin in "${icon_missing[@]}"; do
  if ! icon_have_bin "$bin"; then
    echo "[setup-system] error: $bin is still missing after installing ${icon_packages[*]}." >&2
    exit 1
  fi
  echo "[setup-system] $bin: installed" >&2
done
