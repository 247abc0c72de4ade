#!/usr/bin/env bash
# Installs what instructue needs on a fresh Debian machine with Node 20 (run as root), then
# builds it: nats-server and OpenBLAS (the wasm backend's matmuls, src/backend/blas) from apt
# when missing, npm packages from the lock file, the TypeScript build. `--with-test-tools` also
# installs what the test suite drives: Debian's chromium (the dashboard test), kubectl (rendering k8s/; Debian's kubernetes-client when it is missing), g++
# (the cuda backend's host driver compiles its kernels with it) and NVRTC from Debian non-free
# (libnvrtc11.2: every cuda kernel source is compiled by the compile test; the non-free
# component is added to apt's sources for it), Mesa's EGL/GLES (the webgpu test runs Dawn on
# llvmpipe) and Debian's prometheus (promtool and the server, for the /metrics tests in
# test/control/). Idempotent: a second run only rebuilds.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  local wait=(-o DPkg::Lock::Timeout=300)
  apt-get "${wait[@]}" install -y --no-install-recommends "$@" >/dev/null 2>&1 \
    || { apt-get "${wait[@]}" update >/dev/null && apt-get "${wait[@]}" install -y --no-install-recommends "$@" >/dev/null; }
}

# Debian's non-free component as its own sources file (the distribution's own file is left alone).
enable_debian_component() {
  local component=$1 file=/etc/apt/sources.list.d/instructue-$1.sources codename
  [ -e "$file" ] && return 0
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [ -n "$codename" ] || return 1
  printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: %s\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$codename" "$component" > "$file"
  apt-get -o DPkg::Lock::Timeout=300 update >/dev/null
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
  # The TLS tests make their own CA and server certificate (test/e2e/nats-tls.test.ts).
  if ! command -v openssl >/dev/null 2>&1; then
    echo "setup: installing openssl (apt)" >&2
    apt_install openssl
  fi
  if ! command -v g++ >/dev/null 2>&1; then
    echo "setup: installing g++ (apt)" >&2
    apt_install g++
  fi
  # EGL + OpenGL ES on Mesa's llvmpipe: the webgpu test runs Dawn's GLES backend on it.
  if ! ldconfig -p | grep -q 'libEGL_mesa.so.0' || ! ldconfig -p | grep -q 'libGLESv2.so.2'; then
    echo "setup: installing Mesa EGL/GLES (apt)" >&2
    apt_install libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri
  fi
  case "$(dpkg --print-architecture 2>/dev/null)" in
    amd64|arm64)
      if ! ls /usr/lib/*-linux-gnu/libnvrtc.so.11.2 >/dev/null 2>&1; then
        echo "setup: installing NVRTC (apt, Debian non-free: libnvrtc11.2)" >&2
        enable_debian_component non-free && apt_install libnvrtc11.2
      fi ;;
  esac
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
