#!/usr/bin/env bash
# The cuda backend's checks on a lent GPU machine (shared/GPU.md item 1; research/gpu-path.md
# §4.4), one run of about 6 minutes:
#   0. the machine: nvidia-smi, the Python/torch stack, where libcuda/cuBLAS/NVRTC are   env.txt
#   1. probe: launch cost over 20k launches, readback latency, cuBLAS fp32/TF32 at the
#      Qwen2.5-0.5B layer shapes (scripts/gpu/cuda-probe.ts)                            probe.json
#   2. the kernel conformance suite on the device, 1e-5 relative (test/backend/cuda)   conformance.txt
#   3. bench/model.js on cuda (fp32, then TF32) and webgpu, PyTorch on the same GPU     bench.txt
#   4. one full step of the Qwen2.5-0.5B-shaped paper preset (random init) on cuda,
#      beside PyTorch + transformers + peft doing the same step (bench/paper-step.ts)   paper-step.txt
#   5. a 2-worker run sharing the GPU over NATS (instructue train --workers 2)          cluster.txt
# Everything is also in log.txt. Each step has its own timeout; a failed step does not stop the
# next one.
#
# Carry (built here by scripts/gpu/prepare-cuda.sh after npm run build):
#   .carry/cuda/{node.xz, nats-server.xz, app.tar.xz} and .gl/*.deb
# Run there:   bash scripts/gpu/cuda-checks.sh            (writes into $OUT)
#
# Without a GPU (no libcuda, or it sees none) the script says so and runs a CPU rehearsal of
# every step instead — the host driver, small shapes, the PyTorch peers checking their specs
# without torch — so the script itself is tested on any machine; those figures mean nothing.
set -u
OUT=${OUT:-/tmp/cuda-checks}
mkdir -p "$OUT"
exec > >(tee "$OUT/log.txt") 2>&1
cd "$(dirname "$0")/../.."
step() { echo; echo "== $(date +%H:%M:%S) $*"; }
unxz_to() { python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; }

step "setup on $(hostname)"
NODE=$(command -v node || true)
if [ -z "$NODE" ]; then
  unxz_to .carry/cuda/node.xz /tmp/node && chmod +x /tmp/node && NODE=/tmp/node
fi
if [ ! -d dist/src ] || [ ! -d node_modules/koffi ]; then
  python3 -c 'import tarfile, sys; tarfile.open(sys.argv[1]).extractall(".")' .carry/cuda/app.tar.xz || { echo "no app: run scripts/gpu/prepare-cuda.sh and carry .carry/cuda"; exit 1; }
fi
if ! command -v nats-server >/dev/null 2>&1; then
  mkdir -p /tmp/bin && unxz_to .carry/cuda/nats-server.xz /tmp/bin/nats-server && chmod +x /tmp/bin/nats-server
  export PATH=/tmp/bin:$PATH
fi
if [ -d .gl ] && ls .gl/*.deb >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && ! ldconfig -p | grep -q libvulkan.so.1; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
[ -e /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -e /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ] && export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp/xdg-$(id -u)} && mkdir -p "$XDG_RUNTIME_DIR"
PY=$(command -v python3 || true)
echo "node $("$NODE" --version) at $NODE; nats-server $(nats-server --version 2>/dev/null); python3 ${PY:-none}"
absent=$("$NODE" --input-type=module -e "const m = await import('./dist/src/backend/cuda/load.js'); console.log(m.cudaAbsence() ?? '')")
if [ -z "$absent" ]; then
  GPU=1
else
  GPU=0
  echo "NO GPU HERE: $absent"
  echo "Running the CPU rehearsal (host driver, small shapes): it tests this script, and its figures say nothing about a GPU."
fi

step "0. the machine" | tee "$OUT/env.txt"
{
  date -Is
  nvidia-smi 2>&1 || echo "nvidia-smi: not available"
  "$PY" -c "import torch, transformers, peft; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'transformers', transformers.__version__, 'peft', peft.__version__)" 2>&1 || echo "python: no torch/transformers/peft"
  "$PY" -c "import site; print('site-packages', site.getsitepackages())" 2>&1 || true
  ldconfig -p 2>/dev/null | grep -E 'libcuda\.so|libcublas\.so|libnvrtc\.so' || echo "ldconfig: no libcuda/libcublas/libnvrtc"
  ls -d /usr/local/cuda*/lib64 2>/dev/null || true
} 2>&1 | tee -a "$OUT/env.txt"

if [ "$GPU" = 1 ]; then
  step "1. probe (launch cost, readback, cuBLAS fp32/TF32)"
  timeout 90 "$NODE" dist/scripts/gpu/cuda-probe.js --launches 20000 --tokens 4096 2>&1 | tee "$OUT/probe.json"

  step "2. kernel conformance on the device (1e-5 relative)"
  timeout 150 "$NODE" --test dist/test/backend/cuda/device-conformance.test.js > "$OUT/conformance.txt" 2>&1
  echo "exit $?" >> "$OUT/conformance.txt"
  grep -E '^# (device|tests|pass|fail|skipped)|^not ok|^    not ok' "$OUT/conformance.txt"

  step "3. bench/model.js: cuda fp32 with PyTorch on the same GPU, cuda TF32, webgpu"
  {
    timeout 150 "$NODE" dist/bench/model.js --backends cuda --cases tiny,layer-small,layer-0.5b --scale 8 --reps 5 --peer "$PY" --peer-device cuda
    timeout 45 "$NODE" dist/bench/model.js --backends cuda --cuda-tf32 --cases layer-0.5b --scale 8 --reps 5 --no-peer
    timeout 75 "$NODE" dist/bench/model.js --backends webgpu --cases layer-small,layer-0.5b --scale 8 --reps 3 --no-peer
  } 2>&1 | tee "$OUT/bench.txt"

  step "4. one full step of the Qwen2.5-0.5B-shaped paper preset, cuda beside PyTorch + transformers + peft"
  timeout 180 "$NODE" dist/bench/paper-step.js --backend cuda --batch 16 --steps 2 --peer "$PY" --peer-device cuda 2>&1 | tee "$OUT/paper-step.txt"
  CLUSTER_SETS=(--set model.decoder.hf_dir= --set model.encoder.hf_dir= --set model.init_std=0.02
    --set model.decoder.hidden=896 --set model.decoder.layers=24 --set model.decoder.heads=14 --set model.decoder.kv_heads=2 --set model.decoder.intermediate=4864
    --set model.encoder.hidden=768 --set model.encoder.layers=12 --set model.encoder.heads=12 --set model.encoder.intermediate=3072
    --set train.global_batch=16 --set train.steps=3)
  CLUSTER_CONFIG=configs/paper-qwen2.5-0.5b.json
  CLUSTER_TIMEOUT=150
else
  step "1. probe (rehearsal: host driver)"
  timeout 120 "$NODE" dist/scripts/gpu/cuda-probe.js --driver host --launches 2000 2>&1 | tee "$OUT/probe.json"

  step "2. kernel conformance (rehearsal: the device suite skips, the host suite runs)"
  { timeout 60 "$NODE" --test dist/test/backend/cuda/device-conformance.test.js; timeout 300 "$NODE" --test dist/test/backend/cuda/host-conformance.test.js; } > "$OUT/conformance.txt" 2>&1
  echo "exit $?" >> "$OUT/conformance.txt"
  grep -E '^# (tests|pass|fail|skipped)|SKIP|^not ok|^    not ok' "$OUT/conformance.txt"

  step "3. bench/model.js (rehearsal: host driver, layer-small, no peer)"
  timeout 180 "$NODE" dist/bench/model.js --backends cuda --cuda-driver host --cases layer-small --reps 1 --no-peer 2>&1 | tee "$OUT/bench.txt"

  step "4. paper-preset step (rehearsal: 2 small layers, the peer checks its spec)"
  timeout 300 "$NODE" dist/bench/paper-step.js --backend cuda --cuda-driver host --small --batch 4 --steps 1 --peer "$PY" --peer-dry-run 2>&1 | tee "$OUT/paper-step.txt"
  CLUSTER_SETS=(--set cuda.driver=host --set train.global_batch=8 --set train.steps=2)
  CLUSTER_CONFIG=configs/tiny.json
  CLUSTER_TIMEOUT=300
fi

step "5. two workers sharing GPU 0 over NATS (instructue train --workers 2)"
work=$(mktemp -d)
timeout 60 "$NODE" bin/instructue.js synth --users 128 --eval-users 8 --out "$work/data" --seed 1 > /dev/null
timeout "$CLUSTER_TIMEOUT" "$NODE" bin/instructue.js train --config "$CLUSTER_CONFIG" --out "$work/run" --workers 2 --json \
  --set backend=cuda --set cuda.worker_devices=0,0 --set "data.train=$work/data/train" --set data.eval= \
  --set train.checkpoint_every=1000 "${CLUSTER_SETS[@]}" > "$work/outcome.json" 2> "$work/launcher.log"
echo "exit $?"
"$NODE" --input-type=module -e "
  import { readFileSync, readdirSync } from 'node:fs';
  const run = process.argv[1];
  console.log('outcome', readFileSync(run + '/../outcome.json', 'utf8').trim());
  const lines = readFileSync(run + '/metrics.jsonl', 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  console.log('| step | world | tokens | tokens/s | step ms | gather ms | all-reduce ms | communication share |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const m of lines) console.log('| ' + [m.step, m.world_size, m.tokens, Math.round(m.tokens_per_s), Math.round(m.step_ms), Math.round(m.gather_ms), Math.round(m.allReduce_ms), ((m.gather_ms + m.allReduce_ms) / m.step_ms).toFixed(3)].join(' | ') + ' |');
  for (const f of readdirSync(run + '/logs')) {
    const sel = readFileSync(run + '/logs/' + f, 'utf8').split('\n').filter((l) => l.includes('backend selected'));
    console.log(f, sel[0] ?? '(no backend line)');
  }
" "$work/run" 2>&1 | tee "$OUT/cluster.txt"
tail -5 "$work/launcher.log" >> "$OUT/cluster.txt"
rm -rf "$work"

step "done"
ls -la "$OUT"
