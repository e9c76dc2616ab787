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

# Only builtins to find it: the install may run with a bare PATH.
here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
# shellcheck source=lib/apt-install.sh
. "$here/lib/apt-install.sh"
apt_install "chromium for the page tests (or set CHROMIUM_PATH)" chromium

if find_chromium; then exit 0; fi
echo "kafka-heal: the chromium package installed but no chromium binary is on PATH" >&2
exit 1
