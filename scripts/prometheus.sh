#!/usr/bin/env bash
# Make Prometheus, promtool and Alertmanager available (Debian's `prometheus` 2.42, which ships
# promtool, and `prometheus-alertmanager` 0.25), installing the packages once when a binary is
# missing, and print the directory holding the binaries. Idempotent: when all three are on PATH
# (or PROMETHEUS_BIN_DIR names a folder with them) it only prints the folder.
#   bash scripts/prometheus.sh        -> /usr/bin
# The rule tests (promtool check/test rules) and the self-managed drills (real Prometheus and
# Alertmanager on 127.0.0.1) both call this. The packages' own services are never started: the
# project runs the binaries itself, on loopback, with its own configuration.
set -euo pipefail

BINARIES=(prometheus promtool prometheus-alertmanager)

find_dir() {
  local dir
  for dir in "${PROMETHEUS_BIN_DIR:-}" /usr/bin /usr/local/bin; do
    [ -n "$dir" ] || continue
    local ok=1 b
    for b in "${BINARIES[@]}"; do [ -x "$dir/$b" ] || ok=0; done
    if [ "$ok" -eq 1 ]; then
      echo "$dir"
      return 0
    fi
  done
  return 1
}

if find_dir; then exit 0; fi

# Only builtins to find it: the install may run with a bare PATH.
here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
# shellcheck source=lib/apt-install.sh
. "$here/lib/apt-install.sh"
if ! as_root_prefix; then
  echo "kafka-heal: installing prometheus needs root (or password-less sudo); run: apt-get install prometheus prometheus-alertmanager (or set PROMETHEUS_BIN_DIR)" >&2
  exit 1
fi
as_root=("${AS_ROOT[@]}")

# The packages' services would listen on every interface (9090, 9093) with the packaged config:
# forbid service starts during the install unless a policy already does (Debian's policy-rc.d).
policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# kafka-heal: no service starts while installing prometheus\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
  "${as_root[@]}" chmod 755 "$policy"
  added_policy=1
fi
cleanup() { if [ "$added_policy" -eq 1 ]; then "${as_root[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

apt_install "prometheus, promtool and prometheus-alertmanager (or set PROMETHEUS_BIN_DIR)" prometheus prometheus-alertmanager

# A machine with systemd may still have enabled the units: stop them, the project runs its own.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  "${as_root[@]}" systemctl disable --now prometheus prometheus-alertmanager >/dev/null 2>&1 || true
fi

if find_dir; then exit 0; fi
echo "kafka-heal: the packages installed but prometheus, promtool or prometheus-alertmanager is not in /usr/bin" >&2
exit 1
