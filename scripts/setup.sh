#!/usr/bin/env bash
# Set up a fresh Debian/Ubuntu machine with Node 20 for cait-ensemble.
# Idempotent: installs only the system packages that are missing, then
# `npm ci` (puppeteer-core: no browser is downloaded; Debian's chromium is
# launched) and `npm run build`.
#
#   bash scripts/setup.sh
#
# CAIT_SETUP_DRY_RUN=1 prints the commands instead of running them.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# chromium + libvulkan1: headless browser and SwiftShader (WebGPU without a GPU);
# libegl1 libegl-mesa0 libgles2: Mesa llvmpipe through Dawn's OpenGL ES backend;
# slurmctld slurmd slurm-client munge: the one-node Slurm cluster of the tests
# (scripts/slurm/local-cluster.sh; `cait … --executor slurm`)
PACKAGES=(chromium libvulkan1 libegl1 libegl-mesa0 libgles2 slurmctld slurmd slurm-client munge)

say() { printf 'setup: %s\n' "$*"; }
run() {
  say "+ $*"
  if [[ "${CAIT_SETUP_DRY_RUN:-}" != 1 ]]; then "$@"; fi
}

command -v node >/dev/null || { say "node is not installed (Node >= 20 is needed)"; exit 1; }
command -v npm >/dev/null || { say "npm is not installed"; exit 1; }
node_major=$(node -p 'process.versions.node.split(".")[0]')
if (( node_major < 20 )); then
  say "Node $(node -v) is too old (>= 20 needed)"
  exit 1
fi
say "node $(node -v), npm $(npm -v)"

missing=()
for p in "${PACKAGES[@]}"; do
  if dpkg -s "$p" >/dev/null 2>&1 && dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
    :
  else
    missing+=("$p")
  fi
done

if (( ${#missing[@]} )); then
  say "installing missing system packages: ${missing[*]}"
  SUDO=()
  if (( EUID != 0 )); then
    command -v sudo >/dev/null || { say "not root and no sudo: install ${missing[*]} by hand"; exit 1; }
    SUDO=(sudo)
  fi
  run "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  run "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  say "system packages present: ${PACKAGES[*]}"
fi

say "installing node modules (npm ci)"
run npm ci --no-audit --no-fund

say "building (npm run build)"
run npm run build

say "done"
