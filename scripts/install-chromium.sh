#!/usr/bin/env bash
# Installs Debian's chromium (headless browser for the dashboard test, test/dashboard/) when it
# is missing. Run as root; idempotent. playwright-core drives this binary (/usr/bin/chromium):
# playwright's own browser download cannot work offline, Debian's package can.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
echo "install-chromium: installing chromium (apt)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends chromium fonts-dejavu-core >/dev/null 2>&1 \
  || { apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium fonts-dejavu-core >/dev/null; }
chromium --version >&2
