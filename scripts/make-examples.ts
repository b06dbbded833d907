/**
 * Makes the examples that `cait serve --example` opens (examples/, copied
 * into the built page by vite): a small real fit and a small ensemble of the
 * `quick` preset, made with the f64 CPU engine.
 *
 *   npm run build && node dist/scripts/make-examples.js
 *
 * - examples/quick-measured.csv: SYNTHETIC data, not a measurement — the
 *   quick preset (D(Rb+) = 2.67e-22 m²/s, U = 15 V) after its stage, through
 *   a 1 nm Gaussian depth resolution at 1 … 15 nm every 0.5 nm, plus seeded
 *   Gaussian noise σ = 0.003 on Li and Rb;
 * - examples/fit-quick.json: `cait fit --preset quick --measured 1:quick-measured.csv
 *   --sigma 1 --window 1:15 --vary stages.0.D.Rb.D_m2s=1e-22:1e-21:4:log
 *   --vary stages.0.U_V=10:20:3` (default options otherwise): the D–U ridge of
 *   issue 10, a converged fit;
 * - examples/ensemble-quick.json: `cait ensemble --preset quick --vary
 *   stages.0.U_V=10,15,20 --profiles final`.
 * The files' own provenance records the commands.
 */
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { facesFromCentres } from '../src/analysis/profiles.js';
import { runCli } from '../src/cli/main.js';
import { getPreset } from '../src/config/presets.js';
import { applyOperator, observationOperator } from '../src/observe/observe.js';
import { simulate } from '../src/solver/simulate.js';
import { mulberry32 } from '../src/core/random.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const OUT = join(ROOT, 'examples');

const st = simulate(getPreset('quick')).stages[0];
const depth = Array.from({ length: 29 }, (_, i) => 1 + 0.5 * i);
const op = observationOperator(facesFromCentres(st.depth_nm), depth, { kind: 'gauss', sigma_nm: 1 });
const u = mulberry32(10);
const gauss = () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
const li = applyOperator(op, st.density.Li);
const rb = applyOperator(op, st.density.Rb);
const lines = [
  '# SYNTHETIC example data made by cait-ensemble scripts/make-examples.ts, NOT a measurement:',
  '# the quick preset (D(Rb+) = 2.67e-22 m^2/s, U = 15 V) through a 1 nm Gaussian depth resolution, plus Gaussian noise sigma 0.003 (seed 10)',
  'depth_nm,Li,Rb',
  ...depth.map((x, j) => `${x},${Number((li[j] + 0.003 * gauss()).toFixed(5))},${Number(Math.max(0, rb[j] + 0.003 * gauss()).toFixed(5))}`),
];
writeFileSync(join(OUT, 'quick-measured.csv'), lines.join('\n') + '\n');
// run in examples/ with relative paths, so the files' recorded commands name no machine's folders
process.chdir(OUT);
const measured = 'quick-measured.csv';

const io = { stdout: (s: string) => process.stdout.write(s), stderr: (s: string) => process.stderr.write(s), stderrIsTTY: false, env: {} };
const tmp = '.fit-example';
const fit = await runCli(
  ['fit', '--preset', 'quick', '--measured', `1:${measured}`, '--sigma', '1', '--window', '1:15', '--vary', 'stages.0.D.Rb.D_m2s=1e-22:1e-21:4:log', '--vary', 'stages.0.U_V=10:20:3', '--out', join(tmp, 'fit')],
  io,
);
if (fit !== 0) throw new Error(`cait fit exited ${fit}`);
copyFileSync(join(tmp, 'fit', 'fit.json'), 'fit-quick.json');
rmSync(tmp, { recursive: true });
const ens = await runCli(['ensemble', '--preset', 'quick', '--vary', 'stages.0.U_V=10,15,20', '--profiles', 'final', '--out', 'ensemble-quick.json'], io);
if (ens !== 0) throw new Error(`cait ensemble exited ${ens}`);
process.exit(0);
