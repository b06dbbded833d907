/**
 * Coverage of the fit's intervals on the real solver: how often do the
 * Δχ² = 1, discrete-profile, linearised and cluster-robust intervals hold
 * the truth, over many noise seeds, next to the nominal 68.3 %?
 *
 *   npm run bench:coverage -- [--seeds 20] [--noise gauss,tof] [--threads N]
 *
 * The case: the `quick` preset (one Rb+ stage of 0.25 mC, 0.5 nm cells) with
 * D(Rb+) = 2.67e-22 m²/s and U = 15 V as the truth; `cait fit`'s defaults
 * (refinement, Levenberg–Marquardt, interval members, sensitivity) over
 * D(Rb+) = 1e-22 … 8e-22 (3, log) × U = 6 … 24 V (3), with --refine 1 (with
 * 12 … 18 V the ToF noise put the minimum of several seeds on the box's edge,
 * which the fit then reports as such, with warnings).
 * Two kinds of data, each from its own seeds:
 *  - gauss: the profile through a 1 nm Gaussian depth resolution at 1 … 30 nm
 *    every 0.5 nm, plus independent N(0, 0.002²) noise on Li and Rb — the
 *    case where Δχ² = 1 is a 68 % interval per parameter;
 *  - tof: ToF-SIMS counts (src/sims/synthetic.ts: isotopes, 1e5 shots,
 *    binomial counting noise, 1 nm resolution) imported as `cait sims` does
 *    (Poisson correction, isotopes summed, normalized per point: Li + Rb = 1,
 *    so both species carry the same noise, and its variance varies with
 *    depth) — one s² for all points and independent species no longer hold.
 * Printed: per kind and interval, the fraction of seeds whose interval holds
 * the truth, with its binomial standard error; how many fits converged.
 */
import { availableParallelism } from 'node:os';
import { facesFromCentres } from '../src/analysis/profiles.js';
import { getPreset } from '../src/config/presets.js';
import { CpuEngine } from '../src/ensemble/cpu.js';
import { runFit, type FitOutcome } from '../src/fit/fit.js';
import { applyOperator, makeObservation, observationOperator, type Observation } from '../src/observe/observe.js';
import { importSims, synthesizeSims, syntheticSimsText } from '../src/sims/index.js';
import { simulate } from '../src/solver/simulate.js';
import { mulberry32 } from '../src/core/random.js';
import { parseVary } from '../src/sweep/spec.js';
import { arg } from './common.js';

const seeds = Number(arg('seeds', '20'));
const kinds = arg('noise', 'gauss,tof').split(',');
const threads = Number(arg('threads', String(availableParallelism())));
const TRUTH = [2.67e-22, 15];
const PATHS = ['stages.0.D.Rb.D_m2s', 'stages.0.U_V'];
const SIGMA = 0.002;
const RES = { kind: 'gauss' as const, sigma_nm: 1 };
/** The grid (the box the fit searches): wide enough that the D–U ridge's minimum stays inside for the ToF noise too. */
const GRID = { D: '1e-22:8e-22:3:log', U: '6:24:3' };

const base = getPreset('quick');
const truthProtocol = structuredClone(base);
(truthProtocol.stages[0].D.Rb as { D_m2s: number }).D_m2s = TRUTH[0];
truthProtocol.stages[0].U_V = TRUTH[1];
const st = simulate(truthProtocol).stages[0];

function gaussObservation(seed: number): Observation {
  const depth = Array.from({ length: 59 }, (_, i) => 1 + 0.5 * i);
  const op = observationOperator(facesFromCentres(st.depth_nm), depth, RES);
  const u = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  const c: Record<string, number[]> = {};
  for (const sp of ['Li', 'Rb']) c[sp] = Array.from(applyOperator(op, st.density[sp]), (v) => v + SIGMA * gauss());
  return makeObservation({ depth_nm: depth, c }, { stage: 0, label: `gauss seed ${seed}`, resolution: RES, window_nm: [1, 30], protocolSpecies: ['Li', 'Rb', 'Cs'] });
}

function tofObservation(seed: number): Observation {
  const s = synthesizeSims(
    { depth_nm: st.depth_nm, density: st.density },
    { seed, points: 60, craterDepth_nm: 30, totalTime_s: 300, resolution: RES, yields: { Li: 4000, Rb: 6000 }, detector: { kind: 'tof', shots: 100000 } },
  );
  const m = importSims(syntheticSimsText(s, 'csv'), { shots: 100000, craterDepth_nm: 30, sensitivity: { Li: 1, Rb: 4000 / 6000 } }, `tof seed ${seed}`);
  return makeObservation(m, { stage: 0, label: `tof seed ${seed}`, resolution: RES, window_nm: [1, 30], protocolSpecies: ['Li', 'Rb', 'Cs'] });
}

const engine = new CpuEngine({ threads });
const holds = (iv: [number, number] | null | undefined, v: number) => !!iv && iv[0] <= v && v <= iv[1];
const INTERVALS: [string, (f: FitOutcome) => ([number, number] | null)[] | undefined][] = [
  ['Δχ² = 1', (f) => f.best.interval],
  ['discrete profile', (f) => f.best.interval_profile],
  ['linearised', (f) => f.best.interval_linearized],
  ['robust (sandwich)', (f) => f.best.interval_robust],
];

console.log(`coverage of the fit's intervals: quick preset, truth D(Rb+) = ${TRUTH[0]} m²/s, U = ${TRUTH[1]} V; ${seeds} seeds per kind; CPU engine, ${threads} threads`);
for (const kind of kinds) {
  const fits: FitOutcome[] = [];
  const t0 = performance.now();
  for (let seed = 1; seed <= seeds; seed++) {
    const obs = kind === 'gauss' ? gaussObservation(1000 + seed) : tofObservation(2000 + seed);
    fits.push(
      await runFit({
        base,
        specs: [parseVary(`${PATHS[0]}=${GRID.D}`), parseVary(`${PATHS[1]}=${GRID.U}`)],
        observations: [obs],
        engine,
        refine: 1,
        memberModels: false,
      }),
    );
    process.stderr.write(`\r${kind}: ${seed}/${seeds} fits`);
  }
  process.stderr.write('\n');
  const n = fits.length;
  const conv = fits.filter((f) => f.convergence?.converged).length;
  const members = fits.reduce((s, f) => s + f.members.length, 0) / n;
  const atBound = fits.filter((f) => (f.convergence?.at_bound.length ?? 0) > 0).length;
  console.log(`\n${kind}: ${n} fits, ${conv} converged (${atBound} with the optimum on the grid's bound), ${members.toFixed(0)} members per fit, ${((performance.now() - t0) / 1000 / n).toFixed(1)} s per fit`);
  console.log(`  interval            holds D(Rb+)        holds U            nominal`);
  for (const [name, get] of INTERVALS) {
    const cell = (j: number) => {
      const k = fits.filter((f) => holds(get(f)?.[j], TRUTH[j])).length;
      const p = k / n;
      return `${k}/${n} = ${(100 * p).toFixed(0).padStart(3)} ± ${(100 * Math.sqrt((p * (1 - p)) / n)).toFixed(0)} %`;
    };
    console.log(`  ${name.padEnd(18)}  ${cell(0).padEnd(18)}  ${cell(1).padEnd(18)} 68.3 %`);
  }
  const dErr = fits.map((f) => Math.abs(f.best.values[0] / TRUTH[0] - 1));
  const uErr = fits.map((f) => Math.abs(f.best.values[1] - TRUTH[1]));
  console.log(`  largest error of the best: D ${(100 * Math.max(...dErr)).toFixed(2)} %, U ${Math.max(...uErr).toFixed(3)} V`);
}
process.exit(0);
