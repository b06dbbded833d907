/**
 * Fit throughput: the same members with observations (each member's residual
 * against two measured profiles, as a fit runs them) beside a plain ensemble
 * (no observations), per engine, repeated; min and median of the wall times.
 *
 *   npm run build && node dist/bench/fit.js [--engines cpu,webgpu] [--adapter auto|swiftshader|vulkan]
 *        [--protocol reduced|paper] [--members 32] [--gpu-members 32] [--repeats 3] [--threads N]
 *
 * Members: `stages.1.D.Cs.D_m2s` spread geometrically over 2.4e-23..3.8e-23 m²/s,
 * profiles `none`. The observations are the base protocol's own profiles after
 * stage 1 (Li, Rb) and stage 2 (Li, Rb, Cs) at 3..60 nm every 1 nm, σ = 2 nm,
 * so the residual work is that of a real two-stage fit. `reduced` is the
 * CI-sized protocol of tests/gpu-engine.test.ts (1 nm cells to 60 nm, growth
 * 1.3; 0.63 then 0.57 mC). Whether an engine computed the residuals itself is
 * printed (an engine without them returns none: only the plain time is then
 * meaningful, the fit would fall back to reading final profiles).
 *
 *   members/s = members / wall time of one engine.run (device set-up excluded)
 */
import { availableParallelism } from 'node:os';
import type { Protocol } from '../src/config/schema.js';
import { CpuEngine } from '../src/ensemble/cpu.js';
import { requestFromGrid, type EnsembleEngine, type EnsembleRequest } from '../src/ensemble/types.js';
import { buildGrid, parseVary } from '../src/sweep/index.js';
import { simulate } from '../src/solver/simulate.js';
import { applyOperator, observationOperator, type Observation } from '../src/observe/observe.js';
import { arg, benchProtocol } from './common.js';


const engines = arg('engines', 'cpu').split(',');
const adapter = arg('adapter', 'auto');
const protocolName = arg('protocol', 'reduced');
const cpuMembers = Number(arg('members', '32'));
const gpuMembers = Number(arg('gpu-members', arg('members', '32')));
const repeats = Number(arg('repeats', '3'));
const threads = Number(arg('threads', String(availableParallelism())));

const protocol = (): Protocol => benchProtocol(protocolName);

const base = protocol();
const truth = simulate(base);
const depths = Array.from({ length: 58 }, (_, i) => 3 + i);
const observations: Observation[] = truth.stages.map((st, k) => {
  const resolution = { kind: 'gauss' as const, sigma_nm: 2 };
  const op = observationOperator(truth.grid.faces_nm, depths, resolution);
  const species = k === 0 ? ['Li', 'Rb'] : ['Li', 'Rb', 'Cs'];
  return { stage: k, label: `stage ${k + 1} (self)`, species, weights: species.map(() => 1), depth_nm: depths, target: species.map((sp) => Array.from(applyOperator(op, st.density[sp]))), resolution };
});

function request(n: number, withObs: boolean): EnsembleRequest {
  const grid = buildGrid(base, n > 1 ? [parseVary(`stages.1.D.Cs.D_m2s=2.4e-23:3.8e-23:${n}:log`)] : []);
  const req = requestFromGrid(grid, base, 'none');
  return withObs ? { ...req, observations, keepModel: true } : req;
}

async function timeIt(engine: EnsembleEngine, n: number, withObs: boolean) {
  const walls: number[] = [];
  let residuals = false;
  let failed = 0;
  for (let r = 0; r < repeats; r++) {
    const req = request(n, withObs);
    const t0 = performance.now();
    const res = await engine.run(req);
    walls.push((performance.now() - t0) / 1000);
    residuals = res.members.every((m) => m.status !== 'ok' || !!m.residuals);
    failed = res.members.filter((m) => m.status === 'failed').length;
  }
  walls.sort((a, b) => a - b);
  return { min: walls[0], median: walls[Math.floor(walls.length / 2)], residuals, failed };
}

const rows: string[][] = [['engine', 'adapter', 'members', 'observations', 'min wall (s)', 'median wall (s)', 'members/s (best)', 'residuals by engine', 'failed']];
for (const name of engines) {
  let engine: EnsembleEngine;
  let n = cpuMembers;
  if (name === 'cpu') engine = new CpuEngine({ threads });
  else if (name === 'webgpu') {
    const { openNodeDevice, parseNodeGpuKind } = await import('../src/gpu/node.js');
    const shaders = (await import('../src/gpu/node-shaders.js')) as Record<string, unknown>;
    const { WebGpuEngine } = await import('../src/gpu/engine.js');
    const gpu = await openNodeDevice(parseNodeGpuKind(adapter));
    // with the residual shader where this build has it
    const engineShaders = (
      typeof shaders.webGpuEngineShaders === 'function' ? shaders.webGpuEngineShaders() : { shaderSource: (shaders.loadNppQnShader as () => string)() }
    ) as ConstructorParameters<typeof WebGpuEngine>[1];
    engine = new WebGpuEngine(gpu, { ...engineShaders, ownsDevice: true });
    n = gpuMembers;
  } else throw new Error(`--engines: unknown engine ${name} (cpu, webgpu)`);
  try {
    process.stderr.write(`${name}: ${engine.adapter}; ${n} members × ${repeats} repeats, plain and with observations ...\n`);
    // one warm-up (worker start-up, pipeline compilation)
    await engine.run(request(Math.min(n, 2), true));
    for (const withObs of [false, true]) {
      const t = await timeIt(engine, n, withObs);
      rows.push([
        name,
        engine.adapter,
        String(n),
        withObs ? `${observations.length} (${observations.reduce((s, o) => s + o.depth_nm.length * o.species.length, 0)} points)` : 'none',
        t.min.toFixed(3),
        t.median.toFixed(3),
        (n / t.min).toFixed(2),
        withObs ? (t.residuals ? 'yes' : 'NO') : '-',
        String(t.failed),
      ]);
    }
  } finally {
    await engine.close();
  }
}
const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
process.stdout.write(`protocol ${protocolName} (${truth.grid.cells} cells)\n`);
for (const r of rows) process.stdout.write(r.map((c, j) => c.padEnd(widths[j])).join('  ').trimEnd() + '\n');
