#!/usr/bin/env bash
# Set up (Node 22, npm packages) and run an npm script: `bash scripts/run.sh <script> [-- args]`.
# Idempotent: Node 22 is provisioned once into the cache; `npm ci` runs only when
# package-lock.json changed since the last install. Kafka and DynamoDB Local jars are
# fetched from Maven Central (and cached) by the code that needs them, on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/node22.sh
source scripts/node22.sh

stamp=node_modules/.kafka-heal-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "kafka-heal: installing npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund >&2
  echo "$want" > "$stamp"
fi

# The commit-msg check (subject `scope: change`, at most 72 characters) for whoever commits here.
bash scripts/git-hooks.sh

if [ "$#" -eq 0 ]; then
  echo "usage: bash scripts/run.sh <npm script> [-- args]   e.g. test, synth" >&2
  exit 2
fi
# Only the test run opens pages (HTML report, approval page) and runs promtool, amtool and the
# monitored drills (real Prometheus and Alertmanager): provision Debian's Chromium, prometheus and
# prometheus-alertmanager for it here, once, so synth and drills never wait for apt (the tests call
# the same scripts). If one cannot be installed, the other tests still run and the tests that need
# it fail with the script's reason. Likewise cfn-lint (pinned, from PyPI into a cached virtualenv)
# for the deploy rehearsal.
case "$1" in
  test|test:integration)
    bash scripts/chromium.sh >/dev/null || echo "kafka-heal: no Chromium; the page tests will fail" >&2
    bash scripts/prometheus.sh >/dev/null || echo "kafka-heal: no Prometheus/Alertmanager; the rule tests and monitored drills will fail" >&2
    bash scripts/cfn-lint.sh >/dev/null || echo "kafka-heal: no cfn-lint; the deploy rehearsal will fail" >&2
    ;;
esac
exec npm run "$@"
