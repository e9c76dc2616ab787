#!/usr/bin/env bash
# Print the path of cfn-lint (pinned), installing it from PyPI into a virtualenv in the cache folder
# the first time. Idempotent: once that venv is complete, it only prints the path. Used by the
# deploy rehearsal test (test/integration/deploy-rehearsal.test.ts), which CI runs.
#   bash scripts/cfn-lint.sh        -> ~/.cache/kafka-heal/cfn-lint-1.58.0/bin/cfn-lint
set -euo pipefail
VERSION="${KAFKA_HEAL_CFN_LINT_VERSION:-1.58.0}"
CACHE="${KAFKA_HEAL_CACHE:-$HOME/.cache/kafka-heal}"
VENV="$CACHE/cfn-lint-$VERSION"
BIN="$VENV/bin/cfn-lint"
# Written last: a venv without it is an interrupted install, rebuilt from scratch.
STAMP="$VENV/.kafka-heal-complete"

if [ -f "$STAMP" ] && [ -x "$BIN" ]; then
  echo "$BIN"
  exit 0
fi
command -v python3 >/dev/null 2>&1 || { echo "kafka-heal: cfn-lint needs python3 (with venv)" >&2; exit 1; }
echo "kafka-heal: installing cfn-lint $VERSION from PyPI into $VENV" >&2
rm -rf "$VENV"
mkdir -p "$CACHE"
python3 -m venv "$VENV" >&2
"$VENV/bin/pip" install --quiet --disable-pip-version-check "cfn-lint==$VERSION" >&2
"$BIN" --version | grep -qx "cfn-lint $VERSION" || { echo "kafka-heal: $BIN is not cfn-lint $VERSION" >&2; exit 1; }
touch "$STAMP"
echo "$BIN"
