#!/usr/bin/env bash
# Does the npm tarball hold a working `cait`? Packs the built package, installs
# the tarball into an empty directory (dependencies from the npm registry or
# its cache; optional ones left out, as `--omit=optional` users get it), and
# runs `cait --help`, a quick simulation, and --engine gpujs and --engine
# webgpu, which must fail with one line naming the missing optional package.
#
#   npm run build && bash scripts/check-package.sh
#
# Prints what it runs; exit 0 when every check holds.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/cait-pack-XXXXXX")
trap 'rm -rf "$work"' EXIT

say() { printf 'check-package: %s\n' "$*"; }
fail() { say "FAILED: $*"; exit 1; }

[[ -f dist/src/cli/main.js && -f dist-web/index.html ]] || fail "not built: run npm run build first"

say "npm pack"
tarball=$(npm pack --ignore-scripts --pack-destination "$work" --silent | tail -n 1)
say "packed $tarball ($(du -h "$work/$tarball" | cut -f1))"

mkdir -p "$work/app"
cd "$work/app"
npm init -y >/dev/null
say "npm install the tarball (no optional dependencies)"
npm install --omit=optional --no-audit --no-fund --prefer-offline --loglevel=error "$work/$tarball" >/dev/null

cait=(node_modules/.bin/cait)
say "cait --help"
"${cait[@]}" --help | head -n 3
"${cait[@]}" --help | grep -q 'simulate' || fail "cait --help does not list simulate"

say "cait simulate --preset quick"
"${cait[@]}" simulate --preset quick --out "$work/quick.json" --csv "$work" --plot "$work/quick.svg" --quiet
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  if (r.schema !== "cait-result/1") throw new Error("schema " + r.schema);
  const q = r.stages[0].charge_C;
  if (Math.abs(q / 0.25e-3 - 1) > 1e-6) throw new Error("delivered charge " + q);
  console.log("check-package: result " + r.schema + ", version " + r.version + ", charge " + q + " C");
' "$work/quick.json"
[[ -s "$work/quick_stage1.csv" && -s "$work/quick.svg" ]] || fail "no CSV or SVG written"

say "cait ensemble --engine gpujs without gpu.js installed"
set +e
err=$("${cait[@]}" ensemble --preset quick --vary stages.0.U_V=10,15 --engine gpujs --out "$work/e.json" 2>&1 >/dev/null)
code=$?
set -e
printf '  %s\n' "$err"
[[ $code -ne 0 ]] || fail "--engine gpujs ran without gpu.js"
[[ $(printf '%s\n' "$err" | wc -l) -eq 1 && $err == *"npm install gpu.js"* ]] || fail "expected one line naming gpu.js, got: $err"

say "cait ensemble --engine webgpu --adapter swiftshader without webgpu installed"
set +e
err=$("${cait[@]}" ensemble --preset quick --vary stages.0.U_V=10,15 --engine webgpu --adapter swiftshader --out "$work/w.json" 2>&1 >/dev/null)
code=$?
set -e
printf '  %s\n' "$err"
[[ $code -ne 0 ]] || fail "--engine webgpu ran without webgpu"
[[ $(printf '%s\n' "$err" | wc -l) -eq 1 && $err == *"npm install webgpu"* ]] || fail "expected one line naming webgpu, got: $err"

say "the page and the shaders are in the installed package"
pkgdir=node_modules/cait-ensemble
for f in dist-web/index.html shaders/npp_qn.wgsl shaders/residual.wgsl scripts/slurm/job-template.sh LICENSE; do
  [[ -f "$pkgdir/$f" ]] || fail "$f is missing from the installed package"
done
cd "$root"
say "ok"
