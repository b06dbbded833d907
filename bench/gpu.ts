/**
 * The GPU ensemble engine against the CPU engine, side by side in one run, with the figures that predict a
 * real GPU where none is at hand (docs/gpu.md §5).
 *
 *   npm run bench:gpu -- [--adapter auto|swiftshader|vulkan] [--protocol paper|reduced]
 *                        [--members 1,64,1024,10000] [--budget 600] [--cpu-members N]
 *                        [--lanes L] [--attempts K] [--workgroups G] [--gpujs] [--json FILE]
 *
 * Members: the protocol with D(Cs+) of stage 2 (`stages.1.D.Cs.D_m2s`) spread geometrically over
 * 2.4e-23..3.8e-23 m²/s, profiles `none`. `reduced` is the CI-sized two-stage protocol (1 nm cells to
 * 60 nm, growth 1.3; 0.63 mC then 0.57 mC); `paper` is the full preset (827 cells). The CPU engine (f64,
 * full Poisson, worker threads on all cores) runs `--cpu-members` members once; its members/s is applied to
 * every size (members are independent solves). A GPU size whose time, extrapolated linearly from the
 * previous size, would exceed `--budget` seconds is skipped and listed as such.
 *
 * With `--gpujs` the gpu.js engine (its WebAssembly kernels in Node) runs the first size too, for its
 * members/s beside the others.
 *
 * Printed and written (`--json`) per size: members/s and the ratio to the CPU engine; invocations per
 * lattice, workgroup bytes per lattice, step attempts / Newton iterations / factorizations per member
 * (mean and max), dispatches and readback bytes per stage, host time per member, the granted limits; and
 * from the engine's cost model (src/gpu/layout.ts costModel) FLOP and global bytes per step attempt,
 * barriers per Newton iteration and `predicted_h200_s_10000`, the roofline below.
 *
 * Roofline of 10,000 members on one H200 (stated assumptions, all in the JSON): the largest of
 *   compute  = Σ FLOP / (η · 67 TFLOP/s)                  (FP32 without tensor cores; η = 0.25)
 *   memory   = Σ DRAM bytes / 4.8 TB/s                     (state in and out per dispatch; grid and D
 *                                                          tables are shared by all lattices: L2)
 *   latency  = waves × per-lattice critical path          (waves = ⌈10,000 / resident lattices⌉;
 *              132 SMs, resident per SM = min(2048/lanes, 32, 65,536 registers / (lanes · 128));
 *              critical path = Σ Newton iterations × (critical FLOP × 4 cycles + barriers × 40 cycles)
 *              at 1.755 GHz)
 * with the per-member counts measured here (they do not depend on the adapter: the same f32 scheme).
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import type { Protocol } from '../src/config/schema.js';
import { CpuEngine } from '../src/ensemble/cpu.js';
import type { EnsembleEngine, EnsembleResult } from '../src/ensemble/types.js';
import { WebGpuEngine, type WebGpuRunStats } from '../src/gpu/engine.js';
import { costModel, stageLayout, type StageLayout } from '../src/gpu/layout.js';
import { DEFAULT_LANES } from '../src/solver/blocktri.js';
import { openNodeDevice, parseNodeGpuKind } from '../src/gpu/node.js';
import { webGpuEngineShaders } from '../src/gpu/node-shaders.js';
import { arg, benchProtocol, dcsSweep } from './common.js';

const adapterKind = parseNodeGpuKind(arg('adapter', 'auto'));
const protocolName = arg('protocol', 'reduced');
const sizes = arg('members', '1,64,1024,10000').split(',').map(Number);
const budget = Number(arg('budget', '600'));
const cores = availableParallelism();
const cpuMembers = Number(arg('cpu-members', String(2 * cores)));
const lanes = arg('lanes', '') ? Number(arg('lanes', '')) : undefined;
const attempts = arg('attempts', '') ? Number(arg('attempts', '')) : undefined;
const workgroups = arg('workgroups', '') ? Number(arg('workgroups', '')) : undefined;
const jsonOut = arg('json', '');
const withGpujs = process.argv.includes('--gpujs');

/** The H200 figures and the roofline's assumptions (see the header). */
export const H200 = {
  sms: 132,
  fp32_flops: 67e12,
  eta: 0.25,
  dram_bytes_per_s: 4.8e12,
  clock_hz: 1.755e9,
  threads_per_sm: 2048,
  blocks_per_sm: 32,
  registers_per_sm: 65536,
  registers_per_thread: 128,
  cycles_per_dependent_flop: 4,
  cycles_per_barrier: 40,
};

const protocol = (): Protocol => benchProtocol(protocolName);

async function time(engine: EnsembleEngine, n: number) {
  const req = dcsSweep(protocol(), n, 'none');
  const t0 = performance.now();
  const res = await engine.run(req);
  const wall = (performance.now() - t0) / 1000;
  return { wall, res, failed: res.members.filter((m) => m.status === 'failed').length };
}

/** Per member: step attempts, Newton iterations and factorizations over all stages (mean and max over ok members), and per stage. */
function counts(res: EnsembleResult) {
  const ok = res.members.filter((m) => m.status === 'ok');
  const per = (f: (s: EnsembleResult['members'][number]['stages'][number]) => number) => {
    const v = ok.map((m) => m.stages.reduce((a, s) => a + f(s), 0));
    return { mean: v.reduce((a, b) => a + b, 0) / Math.max(1, v.length), max: Math.max(0, ...v) };
  };
  const stages = (ok[0]?.stages ?? []).map((_, k) => {
    const a = ok.map((m) => m.stages[k].stats.steps + m.stages[k].stats.rejected);
    const nw = ok.map((m) => m.stages[k].stats.newtonIterations);
    const steps = ok.map((m) => m.stages[k].stats.steps);
    const mean = (x: number[]) => x.reduce((p, q) => p + q, 0) / Math.max(1, x.length);
    return { attempts: mean(a), newton: mean(nw), steps: mean(steps) };
  });
  return {
    step_attempts_per_member: per((s) => s.stats.steps + s.stats.rejected),
    newton_per_member: per((s) => s.stats.newtonIterations),
    factorizations_per_member: per((s) => s.stats.factorizations),
    stages,
  };
}

/** A stage's layout with the lanes of a GPU (the engine's default there), whatever ran the bench. */
function onGpu(L: StageLayout): StageLayout {
  return stageLayout({ ...L, lanes: DEFAULT_LANES });
}

/**
 * FLOP, bytes and barriers of the measured counts, and the H200 roofline of 10,000 members (header), for the
 * engine as it runs on a GPU (DEFAULT_LANES invocations per lattice; the counts do not depend on the adapter).
 */
function prediction(stats: WebGpuRunStats, c: ReturnType<typeof counts>) {
  let flops = 0;
  let bytes = 0;
  let critical = 0;
  let attemptsPerMember = 0;
  const perStage = stats.stages.map((st, k) => {
    const layout = onGpu(st.layout);
    const cm = costModel(layout);
    const s = c.stages[k] ?? { attempts: 0, newton: 0, steps: 0 };
    // per member: the Newton iterations, one rates sweep per accepted step, the state in and out per dispatch
    const f = s.newton * cm.flopsPerNewton + s.steps * cm.flopsPerRates;
    const b = (s.attempts / stats.attemptsPerDispatch + 1) * cm.globalBytesPerDispatch;
    const cycles = s.newton * (cm.criticalFlopsPerNewton * H200.cycles_per_dependent_flop + cm.barriersPerNewton * H200.cycles_per_barrier);
    flops += f;
    bytes += b;
    critical += cycles / H200.clock_hz;
    attemptsPerMember += s.attempts;
    return {
      lanes: layout.lanes,
      partitions: layout.P,
      cells_per_invocation: layout.cpt,
      flops_per_newton: cm.flopsPerNewton,
      critical_flops_per_newton: cm.criticalFlopsPerNewton,
      barriers_per_newton: cm.barriersPerNewton,
      flops_per_step_attempt: s.attempts > 0 ? f / s.attempts : 0,
      global_bytes_per_step_attempt: s.attempts > 0 ? b / s.attempts : 0,
    };
  });
  const maxLanes = Math.max(...perStage.map((s) => s.lanes));
  const residentPerSm = Math.max(1, Math.min(Math.floor(H200.threads_per_sm / maxLanes), H200.blocks_per_sm, Math.floor(H200.registers_per_sm / (maxLanes * H200.registers_per_thread))));
  const resident = H200.sms * residentPerSm;
  const M = 10000;
  const compute = (M * flops) / (H200.eta * H200.fp32_flops);
  const memory = (M * bytes) / H200.dram_bytes_per_s;
  const latency = Math.ceil(M / resident) * critical;
  return {
    per_stage: perStage,
    flops_per_step_attempt: attemptsPerMember > 0 ? flops / attemptsPerMember : 0,
    global_bytes_per_step_attempt: attemptsPerMember > 0 ? bytes / attemptsPerMember : 0,
    barriers_per_newton: Math.max(...perStage.map((p) => p.barriers_per_newton)),
    h200: { ...H200, resident_lattices: resident, compute_s: compute, memory_s: memory, latency_s: latency },
    predicted_h200_s_10000: Math.max(compute, memory, latency),
    bound: compute >= memory && compute >= latency ? 'compute' : memory >= latency ? 'memory' : 'latency (critical path × waves)',
  };
}

const fmt = (x: number) => (x >= 1e4 || (x < 1e-2 && x !== 0) ? x.toExponential(3) : x.toFixed(3));

const cpu = new CpuEngine({ threads: cores });
process.stderr.write(`CPU engine: ${cpuMembers} members on ${cores} threads ...\n`);
const c = await time(cpu, cpuMembers);
const cpuRate = cpuMembers / c.wall;

const gpu = await openNodeDevice(adapterKind);
const engine = new WebGpuEngine(gpu, {
  ...webGpuEngineShaders(),
  ownsDevice: true,
  ...(lanes ? { lanes } : {}),
  ...(attempts ? { attemptsPerDispatch: attempts } : {}),
  ...(workgroups ? { maxWorkgroups: workgroups } : {}),
});
const results: Record<string, unknown>[] = [];
let prev: { n: number; wall: number } | undefined;
let warmup_s = 0;
try {
  // one member first, not reported: it compiles the pipelines (seconds to a minute on a software adapter)
  process.stderr.write('GPU engine: 1 member to compile the pipelines ...\n');
  warmup_s = (await time(engine, 1)).wall;
  for (const n of sizes) {
    if (prev && (prev.wall * n) / prev.n > budget) {
      results.push({ members: n, skipped: `~${((prev.wall * n) / prev.n).toFixed(0)} s > budget ${budget} s` });
      process.stderr.write(`  ${n} members: skipped (~${((prev.wall * n) / prev.n).toFixed(0)} s > budget ${budget} s)\n`);
      continue;
    }
    process.stderr.write(`GPU engine: ${n} members ...\n`);
    const g = await time(engine, n);
    prev = { n, wall: g.wall };
    const rate = n / g.wall;
    const stats = engine.lastRun!;
    const cnt = counts(g.res);
    const pred = prediction(stats, cnt);
    const row = {
      members: n,
      wall_s: g.wall,
      members_per_s: rate,
      ratio_to_cpu: rate / cpuRate,
      failed: g.failed,
      invocations_per_lattice: Math.max(...stats.stages.map((s) => s.lanes)),
      workgroup_bytes_per_lattice: Math.max(...stats.stages.map((s) => s.workgroupBytes)),
      cells_per_invocation: Math.max(...stats.stages.map((s) => s.cellsPerLane)),
      step_attempts_per_member: cnt.step_attempts_per_member,
      newton_per_member: cnt.newton_per_member,
      factorizations_per_member: cnt.factorizations_per_member,
      dispatches_per_stage: stats.stages.map((s) => s.dispatches),
      readback_bytes_per_stage: stats.stages.map((s) => s.readbackBytes),
      host_ms_per_member: stats.hostMsPerMember,
      workgroups_per_dispatch: stats.workgroupsPerDispatch,
      attempts_per_dispatch: stats.attemptsPerDispatch,
      rejected_newton_per_stage: stats.stages.map((s) => s.rejectedNewton),
      rejected_error_per_stage: stats.stages.map((s) => s.rejectedError),
      min_pivot_per_stage: stats.stages.map((s) => s.minPivot),
      flops_per_step_attempt: pred.flops_per_step_attempt,
      global_bytes_per_step_attempt: pred.global_bytes_per_step_attempt,
      barriers_per_newton: pred.barriers_per_newton,
      predicted_h200_s_10000: pred.predicted_h200_s_10000,
      prediction: pred,
    };
    results.push(row);
    process.stderr.write(
      `  ${n} members: ${g.wall.toFixed(2)} s, ${fmt(rate)} members/s, ${fmt(rate / cpuRate)}x the CPU engine, ${g.failed} failed; predicted H200 10,000 members: ${pred.predicted_h200_s_10000.toFixed(1)} s (${pred.bound})\n`,
    );
  }
} finally {
  engine.close();
}

let gpujs: { members: number; wall_s: number; members_per_s: number; adapter: string; failed: number } | undefined;
if (withGpujs) {
  const { GpuJsEngine } = await import('../src/gpujs/engine.js');
  const gj = new GpuJsEngine();
  try {
    const n = sizes[0];
    process.stderr.write(`gpu.js engine: ${n} members ...\n`);
    const g = await time(gj, n);
    gpujs = { members: n, wall_s: g.wall, members_per_s: n / g.wall, adapter: gj.adapter, failed: g.failed };
  } finally {
    gj.close();
  }
}

const out = {
  bench: 'gpu',
  warmup_s,
  gpujs,
  protocol: protocolName,
  machine: `${cpus()[0]?.model ?? 'unknown CPU'}, ${cores} cores, node ${process.version}`,
  adapter: engine.adapter,
  limits: engine.lastRun?.limits ?? gpu.limits,
  cpu: { members: cpuMembers, threads: cores, wall_s: c.wall, members_per_s: cpuRate, failed: c.failed },
  gpu: results,
};

console.log('cait-ensemble: GPU ensemble engine vs CPU engine, same machine, same protocol');
console.log(`machine: ${out.machine}`);
console.log(`GPU adapter: ${engine.adapter} (first member, compiling the pipelines: ${warmup_s.toFixed(1)} s, not counted below)`);
console.log(`protocol: ${protocolName} (D(Cs+) of stage 2 varied over 2.4e-23..3.8e-23 m²/s), profiles none`);
console.log(`CPU engine (f64, full Poisson, ${cores} worker threads): ${cpuMembers} members in ${c.wall.toFixed(2)} s = ${fmt(cpuRate)} members/s (applied to every size below)`);
const header = ['members', 'GPU wall (s)', 'members/s', 'GPU / CPU', 'failed', 'attempts/member', 'Newton/member', 'host ms/member', 'dispatches/stage', 'H200 10k (s)'];
const table = [
  header,
  ...results.map((r) =>
    'skipped' in r
      ? [String(r.members), 'skipped', String(r.skipped), '', '', '', '', '', '', '']
      : [
          String(r.members),
          (r.wall_s as number).toFixed(2),
          fmt(r.members_per_s as number),
          `${fmt(r.ratio_to_cpu as number)}x`,
          String(r.failed),
          (r.step_attempts_per_member as { mean: number }).mean.toFixed(0),
          (r.newton_per_member as { mean: number }).mean.toFixed(0),
          (r.host_ms_per_member as number).toFixed(3),
          (r.dispatches_per_stage as number[]).join('/'),
          (r.predicted_h200_s_10000 as number).toFixed(1),
        ],
  ),
];
const widths = header.map((_, j) => Math.max(...table.map((r) => (r[j] ?? '').length)));
for (const r of table) console.log(r.map((x, j) => (x ?? '').padStart(widths[j])).join('  '));
const last = results.filter((r) => !('skipped' in r)).at(-1) as Record<string, unknown> | undefined;
if (last) {
  const p = last.prediction as ReturnType<typeof prediction>;
  console.log(
    `per lattice here: ${last.invocations_per_lattice} invocations, ${last.workgroup_bytes_per_lattice} bytes of workgroup memory, ${last.cells_per_invocation} cells per invocation`,
  );
  console.log(
    `on a GPU (${p.per_stage.map((s) => s.lanes).join('/')} invocations per lattice): ${fmt(p.flops_per_step_attempt)} FLOP and ${fmt(p.global_bytes_per_step_attempt)} global bytes per step attempt, ${p.barriers_per_newton} barriers per Newton iteration`,
  );
  console.log(
    `H200 roofline, 10,000 members: compute ${p.h200.compute_s.toFixed(2)} s (η = ${H200.eta}), memory ${p.h200.memory_s.toFixed(3)} s, latency ${p.h200.latency_s.toFixed(2)} s (${p.h200.resident_lattices} resident lattices) → ${p.predicted_h200_s_10000.toFixed(1)} s, ${p.bound}-bound`,
  );
}
console.log(
  `granted limits: ${(['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupsPerDimension', 'maxStorageBuffersPerShaderStage'] as const)
    .map((k) => `${k} ${(out.limits as Record<string, number>)[k]}`)
    .join(', ')}`,
);
if (gpujs) console.log(`gpu.js engine (${gpujs.adapter}): ${gpujs.members} members in ${gpujs.wall_s.toFixed(2)} s = ${fmt(gpujs.members_per_s)} members/s`);
console.log('a software adapter (SwiftShader) measures correctness and overheads, not GPU speed');
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(out, null, 2) + '\n');
