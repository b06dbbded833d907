/**
 * GPU ensemble engine vs the CPU engine, side by side in one run.
 *
 *   npm run bench:gpu -- [--adapter auto|swiftshader|vulkan] [--protocol paper|reduced]
 *                        [--members 1,64,1024,10000] [--budget 600] [--cpu-members N]
 *
 * Members: the protocol with D(Cs+) of stage 2 (`stages.1.D.Cs.D_m2s`)
 * spread geometrically over 2.4e-23..3.8e-23 m²/s, profiles `none`.
 * `reduced` is the CI-sized two-stage protocol of tests/gpu-engine.test.ts
 * (1 nm cells to 60 nm, growth 1.3; 0.63 mC then 0.57 mC); `paper` is the
 * full preset (827 cells). The CPU engine (f64 solver, full Poisson, worker
 * threads on all cores) is timed once on `--cpu-members` members and its
 * members/s applied to every ensemble size (it scales linearly: each member
 * is an independent solve) — said so in the table. A GPU size whose time,
 * extrapolated from the previous size, would exceed `--budget` seconds is
 * skipped and listed as such (linear extrapolation: pessimistic on a GPU, where
 * members run in parallel until the device is full).
 *
 *   members/s      = members / wall time (device set-up excluded, pipeline
 *                    compilation included in the first size)
 *   cell-updates/s = Σ over members and stages of cells × accepted steps, per second
 */
import { availableParallelism, cpus } from 'node:os';
import type { Protocol } from '../src/config/schema.js';
import { CpuEngine } from '../src/ensemble/cpu.js';
import { requestFromGrid, type EnsembleEngine, type EnsembleResult } from '../src/ensemble/types.js';
import { WebGpuEngine } from '../src/gpu/engine.js';
import { openNodeDevice, parseNodeGpuKind } from '../src/gpu/node.js';
import { webGpuEngineShaders } from '../src/gpu/node-shaders.js';
import { buildGrid, parseVary } from '../src/sweep/index.js';
import { arg, benchProtocol } from './common.js';


const adapterKind = parseNodeGpuKind(arg('adapter', 'auto'));
const protocolName = arg('protocol', 'reduced');
const sizes = arg('members', '1,64,1024,10000').split(',').map(Number);
const budget = Number(arg('budget', '600'));
const cores = availableParallelism();
const cpuMembers = Number(arg('cpu-members', String(2 * cores)));

const protocol = (): Protocol => benchProtocol(protocolName);

function request(n: number) {
  const base = protocol();
  const grid = buildGrid(base, n > 1 ? [parseVary(`stages.1.D.Cs.D_m2s=2.4e-23:3.8e-23:${n}:log`)] : []);
  return requestFromGrid(grid, base, 'none');
}

function cellUpdates(res: EnsembleResult): number {
  let s = 0;
  for (const m of res.members) for (const st of m.stages) s += m.cells * st.stats.steps;
  return s;
}

async function time(engine: EnsembleEngine, n: number) {
  const req = request(n);
  const t0 = performance.now();
  const res = await engine.run(req);
  const wall = (performance.now() - t0) / 1000;
  return { wall, updates: cellUpdates(res), failed: res.members.filter((m) => m.status === 'failed').length };
}

const fmt = (x: number) => (x >= 1e4 || x < 1e-2 ? x.toExponential(3) : x.toFixed(3));

const cpu = new CpuEngine({ threads: cores });
process.stderr.write(`CPU engine: ${cpuMembers} members on ${cores} threads ...\n`);
const c = await time(cpu, cpuMembers);
const cpuRate = cpuMembers / c.wall;
const cpuUpdates = c.updates / c.wall;

const gpu = await openNodeDevice(adapterKind);
const engine = new WebGpuEngine(gpu, webGpuEngineShaders());
const rows: string[][] = [];
let prev: { n: number; wall: number } | undefined;
try {
  for (const n of sizes) {
    if (prev && (prev.wall * n) / prev.n > budget) {
      rows.push([String(n), 'skipped', `(~${((prev.wall * n) / prev.n).toFixed(0)} s > budget ${budget} s)`, '', '', '']);
      continue;
    }
    process.stderr.write(`GPU engine: ${n} members ...\n`);
    const g = await time(engine, n);
    prev = { n, wall: g.wall };
    const rate = n / g.wall;
    rows.push([String(n), g.wall.toFixed(2), fmt(rate), fmt(g.updates / g.wall), `${fmt(rate / cpuRate)}x`, String(g.failed)]);
    // each size as it finishes (a run cut short by a time limit still reports the sizes done)
    process.stderr.write(`  ${n} members: ${g.wall.toFixed(2)} s, ${fmt(rate)} members/s, ${fmt(rate / cpuRate)}x the CPU engine, ${g.failed} failed\n`);
  }
} finally {
  gpu.close();
}

console.log('cait-ensemble: GPU ensemble engine vs CPU engine, same machine, same protocol');
console.log(`machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cores} cores, node ${process.version}`);
console.log(`GPU adapter: ${engine.adapter}`);
console.log(`protocol: ${protocolName} (D(Cs+) of stage 2 varied over 2.4e-23..3.8e-23 m²/s), profiles none`);
console.log(
  `CPU engine (f64, full Poisson, ${cores} worker threads): ${cpuMembers} members in ${c.wall.toFixed(2)} s = ${fmt(cpuRate)} members/s, ${fmt(cpuUpdates)} cell-updates/s${c.failed ? `, ${c.failed} failed` : ''} (applied to every size below)`,
);
const header = ['members', 'GPU wall (s)', 'GPU members/s', 'GPU cell-updates/s', 'GPU / CPU', 'failed'];
const table = [header, ...rows];
const widths = header.map((_, j) => Math.max(...table.map((r) => (r[j] ?? '').length)));
for (const r of table) console.log(r.map((x, j) => (x ?? '').padStart(widths[j])).join('  '));
console.log('a software adapter (SwiftShader) measures correctness and overheads, not GPU speed');
