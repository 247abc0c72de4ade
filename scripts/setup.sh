#!/usr/bin/env bash
# Installs what instructue needs on a fresh Debian machine with Node 20 (run as root), then
# builds it: nats-server from apt when missing, npm packages from the lock file, the TypeScript
# build. `--with-test-tools` also installs what the test suite drives: Debian's chromium (the
# dashboard test), kubectl (rendering k8s/; Debian's kubernetes-client when it is missing) and
# Debian's prometheus (promtool and the server, for the /metrics tests in test/control/).
# Idempotent: a second run only rebuilds.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 \
    || { apt-get update >/dev/null && apt-get install -y --no-install-recommends "$@" >/dev/null; }
}

if ! command -v nats-server >/dev/null 2>&1; then
  echo "setup: installing nats-server (apt)" >&2
  apt_install nats-server
fi

if [ "${1:-}" = "--with-test-tools" ]; then
  ./scripts/install-chromium.sh
  if ! command -v kubectl >/dev/null 2>&1; then
    echo "setup: installing kubectl (apt: kubernetes-client)" >&2
    apt_install kubernetes-client
  fi
  if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
    echo "setup: installing prometheus (apt: promtool and the server the metrics tests start)" >&2
    apt_install prometheus
    # The tests start their own server on a free port; do not leave the package's service running.
    if [ -d /run/systemd/system ]; then systemctl disable --now prometheus >/dev/null 2>&1 || true; fi
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "setup: building" >&2
npx tsc -p tsconfig.json
