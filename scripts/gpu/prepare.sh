#!/usr/bin/env bash
# Builds what scripts/gpu/run-checks.sh needs on the GPU machine (no npm registry there):
# .carry/gpu/{node.xz, bench-model.mjs, node_modules/webgpu, peft-probe/} and .gl/*.deb.
# Run from the repository root after `npm run build`. Needs the npm registry and apt.
set -euo pipefail
root=$(pwd)
build=$(mktemp -d)
rm -rf .carry/gpu && mkdir -p .carry/gpu .gl
node dist/scripts/golden/make-peft-probe.js .carry/gpu/peft-probe
# Bundle bench/model.ts with tfjs and tfjs-backend-webgpu (one tfjs-core instance); Dawn stays external.
cp package.json package-lock.json "$build/" && cp -r dist "$build/dist"
(cd "$build" && npm install --no-audit --no-fund --loglevel=error --ignore-scripts webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0 esbuild)
"$build/node_modules/.bin/esbuild" "$build/dist/bench/model.js" --bundle --platform=node --format=esm --target=node20 \
  --external:webgpu --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
  --external:@tensorflow/tfjs-backend-wasm --external:msgpackr-extract \
  --banner:js="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);" \
  --outfile=.carry/gpu/bench-model.mjs --log-level=warning
mkdir -p .carry/gpu/node_modules && cp -r "$build/node_modules/webgpu" .carry/gpu/node_modules/
rm -rf .carry/gpu/node_modules/webgpu/dist/{darwin-universal,linux-arm64,win32-arm64,win32-x64}
xz -9 -T2 .carry/gpu/node_modules/webgpu/dist/linux-x64/dawn.node
xz -9 -T2 -c "$(readlink -f "$(command -v node)")" > .carry/gpu/node.xz
# Vulkan/EGL loaders as .deb files (shared/../device README).
mkdir -p /tmp/amd64/partial
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
apt-get $o update >/dev/null
(cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
rm -rf "$build"
du -sh .carry .gl
