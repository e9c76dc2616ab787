#!/usr/bin/env bash
# Print the path of a Chromium the page tests can drive (playwright-core, no browser download),
# installing Debian's `chromium` package first when there is none. Idempotent: when a binary is
# already there (or CHROMIUM_PATH names one), it only prints the path. Non-interactive (CI=true,
# no stdin): apt-get runs with DEBIAN_FRONTEND=noninteractive, and `apt-get update` runs only
# when the install fails without it (stale or missing package lists).
#   bash scripts/chromium.sh        -> /usr/bin/chromium
set -euo pipefail

find_chromium() {
  if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ]; then
    echo "$CHROMIUM_PATH"
    return 0
  fi
  local name path
  for name in chromium chromium-browser; do
    if path=$(command -v "$name" 2>/dev/null) && [ -x "$path" ]; then
      echo "$path"
      return 0
    fi
  done
  return 1
}

if find_chromium; then exit 0; fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "kafka-heal: no chromium on PATH and no apt-get to install it; install Chromium and set CHROMIUM_PATH" >&2
  exit 1
fi

# Root installs directly; anyone else needs password-less sudo (never prompt: stdin is closed).
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "kafka-heal: installing chromium needs root (or password-less sudo); run: apt-get install chromium" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
# Wait for another apt/dpkg run (a parallel test, unattended upgrades) instead of failing on its lock.
apt_opts=(-y -q --no-install-recommends -o DPkg::Lock::Timeout=300)

install() {
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" chromium </dev/null >&2
}

echo "kafka-heal: installing Debian's chromium package for the page tests (once)" >&2
if ! install; then
  echo "kafka-heal: chromium install failed; refreshing package lists and retrying" >&2
  "${as_root[@]}" apt-get update -q -o DPkg::Lock::Timeout=300 </dev/null >&2
  install
fi

if find_chromium; then exit 0; fi
echo "kafka-heal: the chromium package installed but no chromium binary is on PATH" >&2
exit 1
