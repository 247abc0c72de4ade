#!/usr/bin/env bash
# Installs what instructue needs on a fresh Debian machine with Node 20 (run as root), then
# builds it: nats-server and OpenBLAS (the wasm backend's matmuls, src/backend/blas) from apt
# when missing, npm packages from the lock file, the TypeScript build. `--with-test-tools` also
# installs what the test suite drives: Debian's chromium (the dashboard test) and kubectl
# (rendering k8s/; Debian's kubernetes-client when it is missing).
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

# The pthread variant: its threads are set per process (blas_threads); the OpenMP one would
# also follow OMP_NUM_THREADS. Checked through the linker cache, as the trainer finds it (grep
# without -q reads all of ldconfig's output: no SIGPIPE under pipefail).
if ! /sbin/ldconfig -p 2>/dev/null | grep 'libopenblas\.so\.0 ' >/dev/null; then
  echo "setup: installing OpenBLAS (apt: libopenblas0-pthread)" >&2
  apt_install libopenblas0-pthread
fi

if [ "${1:-}" = "--with-test-tools" ]; then
  ./scripts/install-chromium.sh
  if ! command -v kubectl >/dev/null 2>&1; then
    echo "setup: installing kubectl (apt: kubernetes-client)" >&2
    apt_install kubernetes-client
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "setup: building" >&2
npx tsc -p tsconfig.json
