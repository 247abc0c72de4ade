#!/usr/bin/env bash
# The GPU checks of shared/GPU.md in one run on the lent GPU machine (see docs/gpu.md).
# Expects, carried beside the working tree (built by scripts/gpu/prepare.sh):
#   .carry/gpu/node.xz            Node 20 (the machine has no npm registry, maybe no node)
#   .carry/gpu/bench-model.mjs    bench/model.ts bundled with tfjs + tfjs-backend-webgpu
#   .carry/gpu/node_modules/webgpu (Dawn for Node, linux-x64 only; dawn.node.xz)
#   .carry/gpu/peft-probe/        adapter + our hidden states (scripts/golden/make-peft-probe.ts)
#   .gl/*.deb                     Vulkan/EGL loaders
# Writes into $OUT: env.txt, peft.json, webgpu-bench.txt, torch-ref.jsonl, log.txt
set -u
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/log.txt") 2>&1
cd "$(dirname "$0")/../.."
echo "== $(date -Is) $(hostname)"
{ nvidia-smi; python3 -c "import torch, transformers, peft; print('torch', torch.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__)"; } > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt" | head -20

echo "== 1. PEFT interoperability (adapter exported by instructue, loaded by PEFT)"
timeout 120 python3 scripts/golden/check_peft.py .carry/gpu/peft-probe test/fixtures/golden/qwen2-tiny | tee "$OUT/peft.json"

echo "== 2. webgpu backend (Dawn over Vulkan) vs PyTorch on the same shapes"
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
NODE=$(command -v node || true)
if [ -z "$NODE" ]; then
  python3 -c "import lzma,shutil; shutil.copyfileobj(lzma.open('.carry/gpu/node.xz'), open('/tmp/node','wb'))" && chmod +x /tmp/node && NODE=/tmp/node
fi
echo "node: $NODE $($NODE --version)"
python3 -c "import lzma,shutil; shutil.copyfileobj(lzma.open('.carry/gpu/node_modules/webgpu/dist/linux-x64/dawn.node.xz'), open('.carry/gpu/node_modules/webgpu/dist/linux-x64/dawn.node','wb'))"
timeout 300 "$NODE" .carry/gpu/bench-model.mjs --backends webgpu --cases tiny,layer-small,layer-0.5b --scale 8 --reps 5 \
  --peer python3 --peer-device cuda 2>&1 | tee "$OUT/webgpu-bench.txt"

echo "== 3. PyTorch reference: one Qwen2.5-0.5B-shaped layer (LoRA r=8), batch 8 x seq 512"
for dtype in bfloat16 float32; do
  timeout 120 python3 bench/peer/decoder_layer.py "{\"device\": \"cuda\", \"dtype\": \"$dtype\", \"reps\": 20, \"warmup\": 5, \"cases\": [{\"name\": \"layer-0.5b-b8s512\", \"hidden\": 896, \"heads\": 14, \"kv_heads\": 2, \"mlp\": 4864, \"batch\": 8, \"seq\": 512}]}"
done | tee "$OUT/torch-ref.jsonl"
echo "== done $(date -Is)"
