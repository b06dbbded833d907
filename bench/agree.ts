/**
 * Does the WebGPU engine on THIS adapter compute what its f64 twin computes? The check to run first on
 * hardware the test suite never sees (a real GPU: its compiler, subgroup width and memory model are not
 * SwiftShader's), before any of its speed is believed. Prints a line per member and stage and exits 1
 * when a bound is broken.
 *
 *   npm run bench:agree -- [--adapter auto|vulkan|swiftshader] [--protocol reduced|paper] [--members 3]
 *                          [--json FILE]
 *
 * Members: the protocol with D(Cs+) of stage 2 spread over 2.4e-23..3.8e-23 m²/s (bench/common.ts), profiles
 * `final`. Each is compared with its twin (src/solver/twin.ts: quasi-neutral, tabulated D, the engine's
 * block solve with its lane count, in f64) by the comparison of docs/model.md §6.1 — the bounds of the
 * agreement tests (docs/numerics.md §6): blurred profiles within 0.01, the Li+ front within 0.5 nm,
 * duration and delivered charge within 1e-3 (relative); the step counts are printed beside the twin's
 * (equal on SwiftShader; a different count on other hardware is worth a look, not a failure).
 */
import { writeFileSync } from 'node:fs';
import { compareProfiles } from '../src/analysis/profiles.js';
import { WebGpuEngine } from '../src/gpu/engine.js';
import { openNodeDevice, parseNodeGpuKind } from '../src/gpu/node.js';
import { webGpuEngineShaders } from '../src/gpu/node-shaders.js';
import { float32Twin, gpuTwinNumerics } from '../src/solver/twin.js';
import { arg, benchProtocol, dcsSweep } from './common.js';

const BOUNDS = { blurred: 0.01, front_nm: 0.5, duration_rel: 1e-3, charge_rel: 1e-3 };

const protocolName = arg('protocol', 'reduced');
const n = Number(arg('members', '3'));
const jsonOut = arg('json', '');
const req = dcsSweep(benchProtocol(protocolName), n, 'final');

const gpu = await openNodeDevice(parseNodeGpuKind(arg('adapter', 'auto')));
const engine = new WebGpuEngine(gpu, { ...webGpuEngineShaders(), ownsDevice: true });
const rows: Record<string, unknown>[] = [];
let broken = 0;
let wall = 0;
try {
  process.stderr.write(`WebGPU engine (${engine.adapter}): ${n} members of the ${protocolName} protocol ...\n`);
  const t0 = performance.now();
  const res = await engine.run(req);
  wall = (performance.now() - t0) / 1000;
  for (const m of res.members) {
    const D = m.values[0] ?? null;
    if (m.status !== 'ok') {
      broken++;
      rows.push({ member: m.index, D_Cs: D, failed: m.reason });
      console.log(`member ${m.index}: FAILED: ${m.reason}`);
      continue;
    }
    process.stderr.write(`f64 twin of member ${m.index} ...\n`);
    const twin = float32Twin(req.members[m.index], undefined, gpuTwinNumerics(engine.lanes));
    m.stages.forEach((g, k) => {
      const f = twin.stages[k];
      const c = compareProfiles({ depth_nm: g.depth_nm!, density: g.density! }, f);
      const row = {
        member: m.index,
        D_Cs: D,
        stage: k + 1,
        blurred: c.worst,
        per_species: c.maxDiff,
        li_front_nm: { gpu: c.front.a, twin: c.front.b },
        duration_rel: Math.abs(g.duration_s / f.duration_s - 1),
        charge_rel: Math.abs(g.charge_C / f.charge_C - 1),
        steps: { gpu: [g.stats.steps, g.stats.rejected], twin: [f.stats.steps, f.stats.rejected] },
      };
      const ok = c.worst <= BOUNDS.blurred && c.front.diff <= BOUNDS.front_nm && row.duration_rel <= BOUNDS.duration_rel && row.charge_rel <= BOUNDS.charge_rel;
      if (!ok) broken++;
      rows.push({ ...row, ok });
      console.log(
        `member ${m.index} stage ${k + 1}: blurred ${c.worst.toExponential(2)} (bound ${BOUNDS.blurred}), Li front ${c.front.a.toFixed(3)} vs ${c.front.b.toFixed(3)} nm, ` +
          `duration ${row.duration_rel.toExponential(1)}, charge ${row.charge_rel.toExponential(1)}, steps ${g.stats.steps}/${g.stats.rejected} vs twin ${f.stats.steps}/${f.stats.rejected}${ok ? '' : '  <-- OUTSIDE THE BOUNDS'}`,
      );
    });
  }
} finally {
  await engine.close();
}
const out = { bench: 'agree', adapter: engine.adapter, protocol: protocolName, members: n, gpu_wall_s: wall, bounds: BOUNDS, rows, broken };
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(out, null, 1) + '\n');
console.log(`${engine.adapter}: ${n} members of ${protocolName} in ${wall.toFixed(1)} s on the GPU; ${broken ? `${broken} member stage(s) OUTSIDE the bounds` : 'every member and stage within the bounds of the agreement tests'}`);
process.exitCode = broken ? 1 : 0;
