#!/usr/bin/env bash
# Source this file to put Node 22 first on PATH.
# The project targets Node 22 (Lambda nodejs22.x; aws-local-stepfunctions needs it). When the
# machine's node is older, a Node 22 binary is provisioned once from the npm registry
# (package node-linux-<arch>) into the cache folder and reused afterwards.
KAFKA_HEAL_NODE_VERSION="${KAFKA_HEAL_NODE_VERSION:-22.23.3}"
KAFKA_HEAL_CACHE="${KAFKA_HEAL_CACHE:-$HOME/.cache/kafka-heal}"

kafka_heal_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(kafka_heal_node_major)" -lt 22 ]; then
  case "$(uname -m)" in
    x86_64) _kh_arch=x64 ;;
    aarch64|arm64) _kh_arch=arm64 ;;
    *) echo "kafka-heal: no Node 22 package for $(uname -m); install Node 22 yourself" >&2; return 1 2>/dev/null || exit 1 ;;
  esac
  _kh_dir="$KAFKA_HEAL_CACHE/node-v$KAFKA_HEAL_NODE_VERSION-$_kh_arch"
  _kh_bin="$_kh_dir/node_modules/node-linux-$_kh_arch/bin"
  if [ ! -x "$_kh_bin/node" ]; then
    echo "kafka-heal: provisioning Node $KAFKA_HEAL_NODE_VERSION from the npm registry into $_kh_dir" >&2
    mkdir -p "$_kh_dir"
    npm install --prefix "$_kh_dir" --no-save --no-package-lock --ignore-scripts \
      "node-linux-$_kh_arch@$KAFKA_HEAL_NODE_VERSION" >&2 || { echo "kafka-heal: Node 22 download failed" >&2; return 1 2>/dev/null || exit 1; }
  fi
  export PATH="$_kh_bin:$PATH"
  unset _kh_arch _kh_dir _kh_bin
fi
