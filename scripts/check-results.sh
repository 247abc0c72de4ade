#!/usr/bin/env bash
# Reruns `instructue report` with the parameters recorded in docs/results.json (sizes, seeds,
# steps) and compares every number of the rerun with the committed file within 1e-3; exits 1
# and lists the differences otherwise. Command line, versions and wall time are not compared.
# Takes as long as the report itself (46 minutes on 2 cores with --no-ablations, as the
# committed file was made; the check took 49). Extra flags are passed on,
# e.g. --tolerance 0 or --work DIR (default runs/report-check).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json
exec node bin/instructue.js report --check docs/results.json --work runs/report-check "$@"
