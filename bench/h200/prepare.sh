#!/usr/bin/env bash
# Prepare the H200 measurement (run here, in the repository root, before the device call).
# Builds dist/, packs what bench/h200/run.sh needs on a bare GPU machine that has no Node and
# reaches no registry, into .carry/ (ignored by git; name it and dist in the call's carry list):
#   .carry/node.xz              this machine's node binary (xz)
#   .carry/node_modules.tar.xz  the two packages the benchmark loads at run time: zod, and webgpu
#                               with only its linux-x64 dawn.node
#   .carry/gl/*.deb             the Vulkan/EGL loaders (unpacked there only if the machine lacks them)
# Then, with the device tool:
#   run(command="bash bench/h200/run.sh", carry=["dist", ".carry"], timeout_s=570)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
npm run -s build
rm -rf .carry && mkdir -p .carry/gl
xz -T0 -9 -c "$(command -v node)" > .carry/node.xz
stage=$(mktemp -d)
mkdir -p "$stage/node_modules/webgpu/dist/linux-x64"
cp -r node_modules/zod "$stage/node_modules/"
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$stage/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$stage/node_modules/webgpu/dist/linux-x64/"
tar -C "$stage" -cJf .carry/node_modules.tar.xz node_modules
rm -rf "$stage"
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
mkdir -p /tmp/amd64/partial
# shellcheck disable=SC2086
apt-get $o update -qq >/dev/null
# shellcheck disable=SC2086
(cd .carry/gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null)
# dist without source maps (what travels counts against 64 MiB)
find dist -name '*.map' -delete
du -sh .carry dist
echo "prepared: carry [\"dist\", \".carry\"] and run: bash bench/h200/run.sh"
