/**
 * The WebGPU ensemble engine (src/gpu/engine.ts, shaders/npp_qn.wgsl)
 * against its f64 twin: simulate(tabulateProtocol(quasi-neutral member, K))
 * with the same table size K (PHYSICS.md §6: blurred profiles to 0.01,
 * fronts to 0.5 nm). Runs on Dawn's null backend (validation) and on
 * SwiftShader (execution); vitest's default forks pool (see gpu-device.test.ts).
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareProfiles } from '../src/analysis/profiles.js';
import { getPreset } from '../src/config/presets.js';
import type { Protocol } from '../src/config/schema.js';
import type { EnsembleRequest } from '../src/ensemble/types.js';
import { WebGpuEngine } from '../src/gpu/engine.js';
import { stageLayout } from '../src/gpu/layout.js';
import { SWIFTSHADER_ICD, openNodeDevice } from '../src/gpu/node.js';
import { loadNppQnShader } from '../src/gpu/node-shaders.js';
import { TABLE_POINTS, tabulateProtocol } from '../src/physics/tabulate.js';
import { gridOf, simulate } from '../src/solver/simulate.js';
import type { ProtocolResult } from '../src/solver/types.js';

const REQUIRE_SWIFTSHADER = !!process.env.CI || process.env.CAIT_REQUIRE_SWIFTSHADER === '1';
const K = TABLE_POINTS;
const D_CS = [2.4e-23, 3.1e-23, 3.8e-23];

/** The reduced two-stage paper protocol: coarse grid (~100 cells), 0.63 + 0.57 mC. */
function reduced(): Protocol {
  const p = structuredClone(getPreset('paper'));
  p.grid = { h_fine_nm: 1, x_fine_nm: 60, growth: 1.3 };
  (p.stages[0].stop as { charge_C: number }).charge_C = 0.63e-3;
  (p.stages[1].stop as { charge_C: number }).charge_C = 0.57e-3;
  return p;
}

function member(base: Protocol, Dcs: number): Protocol {
  const p = structuredClone(base);
  (p.stages[1].D.Cs as { D_m2s: number }).D_m2s = Dcs;
  return p;
}

function request(members: Protocol[], values: number[][]): EnsembleRequest {
  return { base: members[0], parameters: ['stages.1.D.Cs.D_m2s'], values, members, profiles: 'final' };
}

function twin(p: Protocol): ProtocolResult {
  const q = structuredClone(p);
  q.solver.formulation = 'quasineutral';
  return simulate(tabulateProtocol(q, K));
}

describe("npp_qn.wgsl on Dawn's null backend (validation only)", () => {
  it('the shader compiles and the init and step pipelines build with no validation error', async () => {
    const gpu = await openNodeDevice('null');
    try {
      const engine = new WebGpuEngine(gpu, { shaderSource: loadNppQnShader() });
      const grid = gridOf(reduced());
      for (const [z, beam, closing] of [
        [[1, 1], 1, 0],
        [[1, 1, 1], 2, 0],
      ] as [number[], number, number][]) {
        const L = stageLayout(3, grid.N, z, beam, closing);
        const module = gpu.device.createShaderModule({ code: engine.shaderFor(L) });
        const info = await module.getCompilationInfo();
        expect(info.messages.filter((m) => m.type === 'error').map((m) => `${m.lineNum}:${m.linePos} ${m.message}`)).toEqual([]);
        const p = await engine.pipelinesFor(L);
        expect(p.init).toBeDefined();
        expect(p.step).toBeDefined();
      }
      gpu.throwIfUncapturedErrors();
    } finally {
      gpu.close();
    }
  });
});

const swiftshaderMissing = !(existsSync(SWIFTSHADER_ICD) || process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES || REQUIRE_SWIFTSHADER);

describe.skipIf(swiftshaderMissing)('WebGPU engine on SwiftShader vs the f64 twin', () => {
  let gpu: Awaited<ReturnType<typeof openNodeDevice>>;
  let engine: WebGpuEngine;
  beforeAll(async () => {
    gpu = await openNodeDevice('swiftshader');
    engine = new WebGpuEngine(gpu, { shaderSource: loadNppQnShader(), tablePoints: K });
  });
  afterAll(() => gpu?.close());

  it('reduced paper protocol, 3 members varying D(Cs+): profiles, fronts, durations and charges match the twins', async () => {
    const base = reduced();
    const grid = gridOf(base);
    expect(grid.N).toBeGreaterThan(80);
    expect(grid.N).toBeLessThan(130);
    const members = D_CS.map((D) => member(base, D));
    const t = performance.now();
    const res = await engine.run(request(members, D_CS.map((D) => [D])));
    const gpuS = (performance.now() - t) / 1000;
    console.log(`[gpu-engine] ${engine.adapter}: ${grid.N} cells, 3 members x 2 stages in ${gpuS.toFixed(1)} s`);
    for (let i = 0; i < members.length; i++) {
      const r = res.members[i];
      expect(r.reason).toBeUndefined();
      expect(r.status).toBe('ok');
      const tw = twin(members[i]);
      for (let k = 0; k < 2; k++) {
        const g = r.stages[k];
        const f = tw.stages[k];
        const c = compareProfiles({ depth_nm: g.depth_nm!, density: g.density! }, f);
        const dDur = Math.abs(g.duration_s / f.duration_s - 1);
        const dQ = Math.abs(g.charge_C / f.charge_C - 1);
        console.log(
          `[gpu-engine] D(Cs) ${D_CS[i]} stage ${k + 1}: blurred max diff ${c.worst.toExponential(2)} (${Object.entries(c.maxDiff)
            .map(([s, v]) => `${s} ${v.toExponential(1)}`)
            .join(', ')}), Li front ${c.front.a.toFixed(3)} vs ${c.front.b.toFixed(3)} nm, duration ${dDur.toExponential(1)}, charge ${dQ.toExponential(1)}; ` +
            `steps gpu ${g.stats.steps}/${g.stats.rejected} twin ${f.stats.steps}/${f.stats.rejected}`,
        );
        expect(c.worst).toBeLessThanOrEqual(0.01);
        expect(c.front.diff).toBeLessThanOrEqual(0.5);
        expect(dDur).toBeLessThanOrEqual(1e-3);
        expect(dQ).toBeLessThanOrEqual(1e-3);
      }
    }
  });
});
