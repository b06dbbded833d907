/**
 * Throughput of the CPU ensemble engine (f64 solver on worker threads): the
 * baseline the GPU engine will be compared with.
 *
 *   npm run bench:ensemble -- [--preset paper] [--members N] [--repeats R] [--threads 1,2,8]
 *
 * Members: the preset with D(Cs+) of stage 2 (`stages.1.D.Cs.D_m2s`, when
 * the preset has it; else sample.epsr) spread geometrically over
 * 2.4e-23..3.8e-23 m²/s, `--profiles none`. For each thread count (default
 * 1, 2 and os.availableParallelism()) the whole ensemble runs `repeats`
 * times; wall time includes starting the worker threads.
 *
 *   members/s       = members / wall time
 *   cell-updates/s  = Σ over members and stages of (grid cells × accepted
 *                     time steps), per second of wall time. Rejected steps
 *                     and Newton iterations are extra work not counted, so
 *                     the GPU engine can be compared on the same definition.
 */
import { availableParallelism, cpus, totalmem } from 'node:os';
import { getPreset } from '../src/config/presets.js';
import { getAtPath } from '../src/sweep/paths.js';
import { buildGrid, parseVary } from '../src/sweep/index.js';
import { CpuEngine } from '../src/ensemble/cpu.js';
import { requestFromGrid, type EnsembleResult } from '../src/ensemble/types.js';
import { arg } from './common.js';


const cores = availableParallelism();
const preset = arg('preset', 'paper');
const members = Number(arg('members', String(Math.max(4, 2 * cores))));
const repeats = Number(arg('repeats', '2'));
const threadCounts = [...new Set(arg('threads', `1,2,${cores}`).split(',').map(Number))]
  .filter((n) => Number.isInteger(n) && n >= 1)
  .sort((a, b) => a - b);

const base = getPreset(preset);
const path = typeof getAtPath(base, 'stages.1.D.Cs.D_m2s') === 'number' ? 'stages.1.D.Cs.D_m2s' : 'sample.epsr';
const spec = path === 'sample.epsr' ? `${path}=4:16:${members}:log` : `${path}=2.4e-23:3.8e-23:${members}:log`;
const grid = buildGrid(base, members > 1 ? [parseVary(spec)] : []);
const req = requestFromGrid(grid, base, 'none');

function cellUpdates(res: EnsembleResult): number {
  let s = 0;
  for (const m of res.members) for (const st of m.stages) s += m.cells * st.stats.steps;
  return s;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

interface Row {
  threads: number;
  walls: number[];
  updates: number;
  failed: number;
}

const rows: Row[] = [];
for (const threads of threadCounts) {
  const engine = new CpuEngine({ threads });
  const row: Row = { threads, walls: [], updates: 0, failed: 0 };
  for (let k = 0; k < repeats; k++) {
    const t0 = performance.now();
    const res = await engine.run(req);
    const wall = (performance.now() - t0) / 1000;
    row.walls.push(wall);
    row.updates = cellUpdates(res);
    row.failed = res.members.filter((m) => m.status === 'failed').length;
    process.stderr.write(`${threads} thread${threads === 1 ? '' : 's'}, run ${k + 1}/${repeats}: ${wall.toFixed(2)} s\n`);
  }
  rows.push(row);
}

const fmt = (x: number, d = 2) => (x >= 1e5 ? x.toExponential(3) : x.toFixed(d));
console.log('cait-ensemble: CPU ensemble engine throughput (f64 solver, worker threads)');
console.log('this is the CPU baseline that the GPU (WebGPU) engine will be compared with');
console.log(`machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cores} cores available, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, ${process.platform}-${process.arch}`);
console.log(`ensemble: preset ${preset}, ${req.members.length} members (${members > 1 ? spec : 'the preset itself'}), profiles none, ${repeats} repeats`);
console.log(`work per ensemble: Σ over members and stages of cells × accepted steps = ${rows[0]?.updates.toExponential(3) ?? '-'} cell-updates`);
const header = ['threads', 'wall min (s)', 'wall median (s)', 'members/s (best)', 'members/s (median)', 'cell-updates/s (best)', 'cell-updates/s (median)', 'speed-up', 'failed'];
const table = [header];
const ref = rows[0] ? Math.min(...rows[0].walls) * rows[0].threads : NaN;
for (const r of rows) {
  const best = Math.min(...r.walls);
  const med = median(r.walls);
  table.push([
    String(r.threads),
    best.toFixed(2),
    med.toFixed(2),
    fmt(req.members.length / best, 3),
    fmt(req.members.length / med, 3),
    fmt(r.updates / best),
    fmt(r.updates / med),
    `${(ref / best).toFixed(2)}x`,
    String(r.failed),
  ]);
}
const widths = header.map((_, j) => Math.max(...table.map((r) => r[j].length)));
for (const r of table) console.log(r.map((c, j) => c.padStart(widths[j])).join('  '));
console.log('speed-up: relative to the first row scaled to one thread (ideal = threads); members/s = members / wall time (worker start-up included)');
