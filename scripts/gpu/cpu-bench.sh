#!/usr/bin/env bash
# The CPU-only all-reduce benchmark on the lent machine's 16 cores (the 2-core development
# machine cannot give 2-4 workers + nats-server their own cores). Carried: dist/ (the build),
# .carry/nm (nats, msgpackr), .carry/bin/nats-server, .carry/gpu/node.xz. Writes $OUT/allreduce-*.txt.
set -u
OUT=${OUT:-/tmp/cpu-bench-out}
mkdir -p "$OUT" /tmp/bin
cd "$(dirname "$0")/../.."
ln -sfn .carry/nm node_modules
cp .carry/bin/nats-server /tmp/bin/ && chmod +x /tmp/bin/nats-server
command -v node >/dev/null || { python3 -c "import lzma,shutil; shutil.copyfileobj(lzma.open('.carry/gpu/node.xz'), open('/tmp/bin/node','wb'))" && chmod +x /tmp/bin/node; }
export PATH=/tmp/bin:$PATH
nproc; node --version; nats-server --version
for wire in float32 bf16; do
  timeout 200 node dist/bench/allreduce.js --sizes 1,4,16,64 --workers 2,4 --wire $wire 2>&1 | tee "$OUT/allreduce-$wire.txt"
done
