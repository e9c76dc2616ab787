# Sourced by the scripts that install a Debian package the tests need (chromium.sh,
# prometheus.sh): apt_install <what> <package>... installs them non-interactively (CI=true, no
# stdin), as root or through password-less sudo (never a prompt), waiting for another apt/dpkg
# run's lock instead of failing on it, and running `apt-get update` only when the install fails
# without it (stale or missing package lists). Sets AS_ROOT (the prefix for other root commands).
# Returns non-zero with a message naming <what> when it cannot install.

AS_ROOT=()

apt_install() {
  local what="$1"
  shift
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "kafka-heal: no $what and no apt-get to install it (packages: $*)" >&2
    return 1
  fi
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      AS_ROOT=(sudo -n)
    else
      echo "kafka-heal: installing $what needs root (or password-less sudo); run: apt-get install $*" >&2
      return 1
    fi
  fi
  local opts=(-y -q --no-install-recommends -o DPkg::Lock::Timeout=300)
  echo "kafka-heal: installing Debian's $* package(s) for $what (once)" >&2
  if ! "${AS_ROOT[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install "${opts[@]}" "$@" </dev/null >&2; then
    echo "kafka-heal: $what install failed; refreshing package lists and retrying" >&2
    "${AS_ROOT[@]}" apt-get update -q -o DPkg::Lock::Timeout=300 </dev/null >&2
    "${AS_ROOT[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install "${opts[@]}" "$@" </dev/null >&2
  fi
}

# Root commands outside apt_install (before it ran): the same rule, without installing anything.
as_root_prefix() {
  AS_ROOT=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then AS_ROOT=(sudo -n); else return 1; fi
  fi
}
