/**
 * How accurate is the WebGPU engine's linear algebra in float32? Runs the f64 twin (quasi-neutral,
 * tabulated D, LINEAR = `block`) of a protocol and solves EVERY Newton system of the run twice with the
 * partitioned block-tridiagonal solve of src/solver/blocktri.ts: in f64, and with every operation rounded
 * to float32 (inputs rounded too). Prints, over all systems, the relative error of the solution columns
 * (B⁻¹(−res), B⁻¹e), the absolute error of the Newton update after the Sherman–Morrison border in units
 * of the Newton test (atol for densities, the f32 engine's ψ tolerance for the potential), and the distribution of the smallest scaled block pivot (docs/numerics.md §4).
 *
 *   npm run bench:blocksolve -- [--protocol paper|reduced] [--lanes 64] [--json FILE]
 *
 * Rounding after every multiply and add imitates an f32 machine without fused multiply-adds; a GPU that
 * fuses them is, if anything, more accurate.
 */
import { writeFileSync } from 'node:fs';
import { BlockTriSolver, partitionCount } from '../src/solver/blocktri.js';
import type { NewtonBlocks } from '../src/solver/npp.js';
import { TWIN_NUMERICS, simulate } from '../src/solver/simulate.js';
import { tabulateProtocol } from '../src/physics/tabulate.js';
import { NUMERICS } from '../src/gpu/layout.js';
import { arg, benchProtocol } from './common.js';

const protocolName = arg('protocol', 'paper');
const lanes = Number(arg('lanes', String(TWIN_NUMERICS.LANES)));
const jsonOut = arg('json', '');

const base = benchProtocol(protocolName);
base.solver.formulation = 'quasineutral';
const protocol = tabulateProtocol(base);

const solvers = new Map<string, { s64: BlockTriSolver; s32: BlockTriSolver }>();
const relX: number[] = [];
const relDn: number[] = [];
const relDpsi: number[] = [];
const pivots: number[] = [];
let initial = 0;
const f32 = Math.fround;

function update(X: Float64Array, gF: Float64Array, N: number, m: number, q: number, round: (x: number) => number): Float64Array {
  let g1 = 0;
  let g2 = 0;
  for (let r = 0; r < m; r++) {
    g1 = round(g1 + round(gF[r] * X[r * q]));
    g2 = round(g2 + round(gF[r] * X[r * q + 1]));
  }
  const dI = round(g1 / round(1 - g2));
  return Float64Array.from({ length: N * m }, (_, k) => round(X[k * q] + round(X[k * q + 1] * dI)));
}

function hook(blk: NewtonBlocks, X: Float64Array, q: number, solver: BlockTriSolver): void {
  const { N, m, P } = solver;
  const key = `${N}|${m}`;
  let s = solvers.get(key);
  if (!s) solvers.set(key, (s = { s64: new BlockTriSolver(N, m, 3, P), s32: new BlockTriSolver(N, m, 3, P) }));
  // the initial potential's systems (Δt = 0: density rows h·I, no coupling) are reported apart; their density updates are frozen
  let coupled = false;
  for (let i = 1; i < N && !coupled; i++) for (let c = 0; c < m; c++) if (blk.A[i * m * m + c] !== 0) coupled = true;
  if (!coupled) {
    initial++;
    return;
  }
  const x64 = Float64Array.from(X);
  const st = s.s64.solve(blk.A, blk.B, blk.C, x64, q);
  pivots.push(st.minPivot);
  const x32 = Float64Array.from(X, f32);
  s.s32.solve(Float64Array.from(blk.A, f32), Float64Array.from(blk.B, f32), Float64Array.from(blk.C, f32), x32, q, f32);
  let worst = 0;
  for (let c = 0; c < 2; c++) {
    let num = 0;
    let den = 0;
    for (let k = 0; k < N * m; k++) {
      num = Math.max(num, Math.abs(x32[k * q + c] - x64[k * q + c]));
      den = Math.max(den, Math.abs(x64[k * q + c]));
    }
    if (den > 0) worst = Math.max(worst, num / den);
  }
  relX.push(worst);
  const d64 = update(x64, blk.gF, N, m, q, (x) => x);
  const d32 = update(x32, Float64Array.from(blk.gF, f32), N, m, q, f32);
  // absolute error in units of the Newton test's scale: atol (n/n0) for densities, the f32 engine's ψ tolerance
  const err = (psi: boolean) => {
    let num = 0;
    for (let k = 0; k < N * m; k++) if ((k % m === m - 1) === psi) num = Math.max(num, Math.abs(d32[k] - d64[k]));
    return num / (psi ? NUMERICS.PSI_TOL : protocol.solver.atol);
  };
  relDn.push(err(false));
  relDpsi.push(err(true));
}

const t0 = performance.now();
const res = simulate(protocol, { numerics: { ...TWIN_NUMERICS, LANES: lanes }, onBlockSystem: hook });
const wall = (performance.now() - t0) / 1000;

const q = (a: number[], f: number) => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(f * (s.length - 1)))];
};
const summary = (a: number[]) => ({ max: Math.max(...a), p99: q(a, 0.99), median: q(a, 0.5) });
const out = {
  protocol: protocolName,
  lanes,
  partitions: partitionCount(res.grid.cells, lanes),
  cells: res.grid.cells,
  systems: relX.length,
  steps: res.stages.map((s) => s.stats),
  rel_error_solution: summary(relX),
  /** |δn(f32) − δn(f64)| / atol */
  error_update_densities_atol: summary(relDn),
  /** |δψ(f32) − δψ(f64)| / the f32 engine's ψ tolerance (kT/e) */
  error_update_potential_psitol: summary(relDpsi),
  min_scaled_pivot: { min: Math.min(...pivots), p01: q(pivots, 0.01), median: q(pivots, 0.5) },
  wall_s: wall,
};
const e = (x: number) => x.toExponential(2);
console.log(`partitioned block solve in float32 vs float64: ${out.protocol} protocol, ${out.cells} cells, ${out.partitions} partitions (${lanes} lanes)`);
console.log(`Newton systems solved: ${out.systems} (every one of the run but the ${initial} of the initial potentials; ${wall.toFixed(0)} s)`);
console.log(`relative error of B⁻¹(−res), B⁻¹e:      max ${e(out.rel_error_solution.max)}, 99th pct ${e(out.rel_error_solution.p99)}, median ${e(out.rel_error_solution.median)}`);
console.log(`error of the update, densities (÷ atol):  max ${e(out.error_update_densities_atol.max)}, 99th pct ${e(out.error_update_densities_atol.p99)}, median ${e(out.error_update_densities_atol.median)}`);
console.log(`error of the update, potential (÷ ψ tol): max ${e(out.error_update_potential_psitol.max)}, 99th pct ${e(out.error_update_potential_psitol.p99)}, median ${e(out.error_update_potential_psitol.median)}`);
console.log(`smallest scaled block pivot (f64):       min ${e(out.min_scaled_pivot.min)}, 1st pct ${e(out.min_scaled_pivot.p01)}, median ${e(out.min_scaled_pivot.median)}`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(out, null, 2) + '\n');
