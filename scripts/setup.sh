#!/usr/bin/env bash
# Installs what instructue needs on a fresh Debian machine with Node 20 (run as root):
# nats-server from apt when missing, npm packages from the lock file, then the TypeScript build.
# Idempotent: a second run only rebuilds.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v nats-server >/dev/null 2>&1; then
  echo "setup: installing nats-server (apt)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y nats-server >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y nats-server >/dev/null; }
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "setup: building" >&2
npx tsc -p tsconfig.json
