#!/usr/bin/env bash
# Builds what scripts/gpu/cuda-checks.sh needs on the GPU machine, which has no npm registry and
# maybe no node: .carry/cuda/{node.xz, nats-server.xz, app.tar.xz} and .gl/*.deb.
#   app.tar.xz   dist/ (this checkout's build) + the production node_modules (koffi and its
#                prebuilt addon, tfjs, webgpu's Dawn for linux-x64 when it is installed), pruned
#                of source maps and browser bundles
#   .gl/*.deb    the Vulkan/EGL loaders Dawn needs for the webgpu comparison (device README)
# Run from the repository root after `npm run build`. Needs the npm registry and apt. The
# device run then carries `.carry/cuda` and `.gl` (scripts/gpu/cuda-checks.sh, "Carry").
set -euo pipefail
[ -d dist/src ] || { echo "prepare-cuda: run npm run build first" >&2; exit 1; }
carry=.carry/cuda
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
rm -rf "$carry" && mkdir -p "$carry" .gl

echo "prepare-cuda: production node_modules" >&2
cp package.json package-lock.json "$build/"
(cd "$build" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
# tfjs-node(-gpu) cannot load without libtensorflow; leave them out so `auto` never tries them.
rm -rf "$build/node_modules/@tensorflow/tfjs-node" "$build/node_modules/@tensorflow/tfjs-node-gpu"
find "$build/node_modules" -name '*.map' -delete
find "$build/node_modules/@tensorflow" -path '*/dist/*' \( -name '*.min.js' -o -name '*.es2017.js' -o -name '*.fesm.js' -o -name '*.esm.js' -o -name '*.umd.js' \) -delete
if [ -d "$build/node_modules/webgpu/dist" ]; then
  find "$build/node_modules/webgpu/dist" -mindepth 1 -maxdepth 1 ! -name linux-x64 -exec rm -rf {} +
fi
test -d "$build/node_modules/@koromix/koffi-linux-x64" || { echo "prepare-cuda: koffi's prebuilt addon is missing" >&2; exit 1; }
cp -r dist "$build/dist"
tar -C "$build" -cf - dist node_modules | xz -6 -T2 > "$carry/app.tar.xz"

echo "prepare-cuda: node and nats-server" >&2
xz -9 -T2 -c "$(readlink -f "$(command -v node)")" > "$carry/node.xz"
xz -9 -T2 -c "$(readlink -f "$(command -v nats-server)")" > "$carry/nats-server.xz"

echo "prepare-cuda: Vulkan/EGL loaders" >&2
mkdir -p /tmp/amd64/partial
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
apt-get $o update >/dev/null
(cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null)
du -sh "$carry" .gl
