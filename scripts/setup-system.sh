#!/usr/bin/env bash
# Idempotent system set-up for tests that need Debian programs: `bash scripts/setup-system.sh`.
#   dnsmasq  a real DNS server the DNS SRV discovery tests start on loopback (package dnsmasq-base: the
#            binary only, no init script, so installing it never starts a system-wide daemon on port 53)
#   dig      queries the same records from the command line (package bind9-dnsutils, or dnsutils)
# apt-get runs only when a binary is missing; nothing is started here. Progress goes to stderr.
set -euo pipefail

# binary -> Debian packages that provide it, in order of preference (the first with an install candidate wins).
declare -A icon_providers=(
  [dnsmasq]="dnsmasq-base dnsmasq"
  [dig]="bind9-dnsutils dnsutils"
)

# Debian keeps dnsmasq in /usr/sbin, which a non-login shell may not have on PATH.
icon_have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }

icon_missing=()
for bin in dnsmasq dig; do
  icon_have "$bin" || icon_missing+=("$bin")
done
[ "${#icon_missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "[setup-system] error: ${icon_missing[*]} missing and installing Debian packages needs root; run 'sudo bash scripts/setup-system.sh' or install dnsmasq-base and bind9-dnsutils yourself." >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "[setup-system] error: ${icon_missing[*]} missing and this system has no apt-get; install dnsmasq and dig (bind utilities) with its package manager." >&2
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
  if ! icon_have "$bin"; then
    echo "[setup-system] error: $bin is still missing after installing ${icon_packages[*]}." >&2
    exit 1
  fi
  echo "[setup-system] $bin: installed" >&2
done
