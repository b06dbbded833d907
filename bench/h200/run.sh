#!/usr/bin/env bash
# The H200 measurement (docs/gpu.md §5), run ON the device machine by the device tool after
# bench/h200/prepare.sh here: unpacks Node, the two runtime packages and, if missing, the Vulkan
# loaders; then, on the GPU's Vulkan adapter:
#   0. bench/agree.ts: does the engine compute what its f64 twin computes on this hardware?
#      the reduced protocol, 4 members (≤ 60 s); the paper preset, 2 members (≤ 120 s)
#   1. bench/gpu.ts beside the CPU engine on all cores: the reduced protocol at 1, 1,024 and 8,192
#      members (≤ 120 s)
#   2. the paper preset at 1,024 and 10,000 members (≤ 240 s, sizes past the budget skipped)
# In all ≤ 540 s: call it with timeout_s ≥ 560.
# Everything it prints and the JSON files land in $OUT (the tool brings them back). For a dry run on a
# machine without a GPU: CAIT_H200_ADAPTER=swiftshader CAIT_H200_REDUCED=2 CAIT_H200_PAPER=1 ... (the
# member lists and CPU members can be set: CAIT_H200_REDUCED, CAIT_H200_PAPER, CAIT_H200_CPU_*;
# CAIT_H200_AGREE=none skips step 0, CAIT_H200_AGREE=reduced runs only its reduced part).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
OUT=${OUT:-/tmp/cait-h200}
mkdir -p "$OUT" /tmp/cait-node
if ! ldconfig -p | grep -q libvulkan; then
  for f in .carry/gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
if [[ -z "${VK_DRIVER_FILES:-}" && -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
xz -dc .carry/node.xz > /tmp/cait-node/node && chmod +x /tmp/cait-node/node
tar -xJf .carry/node_modules.tar.xz -C .
NODE=/tmp/cait-node/node
{
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1
  nproc
  $NODE --version
} | tee "$OUT/machine.txt"
adapter=${CAIT_H200_ADAPTER:-vulkan}
agree=${CAIT_H200_AGREE:-all}
echo "== agreement with the f64 twin" | tee "$OUT/bench.log"
if [[ "$agree" != none ]]; then
  timeout 60 $NODE dist/bench/agree.js --adapter "$adapter" --protocol reduced --members 4 --json "$OUT/agree-reduced.json" 2>&1 | tee -a "$OUT/bench.log"
  [[ "$agree" == reduced ]] || timeout 120 $NODE dist/bench/agree.js --adapter "$adapter" --protocol paper --members 2 --json "$OUT/agree-paper.json" 2>&1 | tee -a "$OUT/bench.log"
fi
echo "== reduced protocol" | tee -a "$OUT/bench.log"
timeout 120 $NODE dist/bench/gpu.js --adapter "$adapter" --protocol reduced --members "${CAIT_H200_REDUCED:-1,1024,8192}" \
  --cpu-members "${CAIT_H200_CPU_REDUCED:-64}" --budget 60 --json "$OUT/reduced.json" 2>&1 | tee -a "$OUT/bench.log"
echo "== paper preset" | tee -a "$OUT/bench.log"
[[ "${CAIT_H200_PAPER:-}" == none ]] || timeout 240 $NODE dist/bench/gpu.js --adapter "$adapter" --protocol paper --members "${CAIT_H200_PAPER:-1024,10000}" \
  --cpu-members "${CAIT_H200_CPU_PAPER:-16}" --budget 200 --json "$OUT/paper.json" 2>&1 | tee -a "$OUT/bench.log"
echo "exit: done" | tee -a "$OUT/bench.log"
