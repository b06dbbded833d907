/**
 * Benchmark of the f64 solver on the paper preset (docs/model.md §5), one
 * core: wall time of process + solve, repeated; min and median.
 *
 *   npm run bench -- [--runs N] [--preset NAME]
 *
 * The independent reference solution (tests/fixtures/paper-oracle.json:
 * scipy BDF, dense Jacobian, 827 cells) took ~450 s on 2 cores as its
 * authors reported it (not re-measured here); printed alongside as the ratio.
 */
import { cpus } from 'node:os';
import { getPreset } from '../src/config/presets.js';
import { simulate } from '../src/solver/simulate.js';
import { arg } from './common.js';

const REFERENCE_SOLVER_S = 450;


const runs = Number(arg('runs', '3'));
const preset = arg('preset', 'paper');
const times: number[] = [];
let stats = '';
for (let k = 0; k < runs; k++) {
  const t0 = performance.now();
  const protocol = getPreset(preset);
  const r = simulate(protocol);
  times.push((performance.now() - t0) / 1000);
  stats = r.stages
    .map((s) => `${s.name}: ${s.stats.steps} steps, ${s.stats.rejected} rejected, ${s.stats.newtonIterations} Newton iterations, ${s.stats.factorizations} factorizations`)
    .join('; ');
  process.stderr.write(`run ${k + 1}/${runs}: ${times[k].toFixed(2)} s\n`);
}
times.sort((a, b) => a - b);
const min = times[0];
const median = times[Math.floor(times.length / 2)];
console.log(`cait-ensemble f64 solver, preset ${preset}, ${runs} runs, one thread`);
console.log(`machine: ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores), node ${process.version}`);
console.log(`wall time: min ${min.toFixed(2)} s, median ${median.toFixed(2)} s`);
console.log(`work: ${stats}`);
if (preset === 'paper')
  console.log(`reference solver (scipy BDF, dense Jacobian, recorded): ~${REFERENCE_SOLVER_S} s on 2 cores -> ${(REFERENCE_SOLVER_S / median).toFixed(0)}x faster`);
