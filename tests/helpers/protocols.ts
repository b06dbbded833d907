/**
 * Small protocols for the physics tests, built through the real schema.
 */
import type { ProtocolInput, Protocol } from '../../src/config/schema.js';
import { parseProtocol } from '../../src/config/validate.js';
import { ELEMENTARY_CHARGE } from '../../src/physics/constants.js';
import type { ProtocolResult, StageResult } from '../../src/solver/types.js';
import type { EnsembleRequest } from '../../src/ensemble/types.js';
import { getPreset } from '../../src/config/presets.js';
import { TABLE_POINTS } from '../../src/physics/tabulate.js';
import type { StepNumerics } from '../../src/solver/simulate.js';
import { float32Twin, gpuTwinNumerics } from '../../src/solver/twin.js';

export const T_50C = 323.15;

/** Li glass (native density 1) into which Rb enters, both with constant D. */
export function binaryExchange(opts: {
  D_Li: number;
  D_Rb: number;
  U_V: number;
  stop: { charge_C: number } | { duration_s: number };
  thickness_m?: number;
  grid?: { h_fine_nm: number; x_fine_nm: number; growth: number };
  rtol?: number;
  atol?: number;
}): Protocol {
  const input: ProtocolInput = {
    name: 'binary',
    sample: { thickness_m: opts.thickness_m ?? 2.325e-3, area_m2: 28.26e-6, n0_m3: 1.38e28, epsr: 8 },
    species: { Li: { z: 1, initial: 1 }, Rb: { z: 1, initial: 0 } },
    grid: opts.grid ?? { h_fine_nm: 0.25, x_fine_nm: 100, growth: 1.06 },
    solver: { rtol: opts.rtol ?? 1e-3, atol: opts.atol ?? 1e-4 },
    stages: [
      {
        name: 'exchange',
        beam: 'Rb',
        U_V: opts.U_V,
        T_K: T_50C,
        stop: opts.stop,
        D: { Li: { model: 'constant', D_m2s: opts.D_Li }, Rb: { model: 'constant', D_m2s: opts.D_Rb } },
      },
    ],
  };
  return parseProtocol(input, 'test protocol');
}

/** Q / (e n0 A) in nm: the thickness of a fully exchanged layer carrying the charge Q. */
export function layerNm(Q_C: number, protocol: Protocol): number {
  const { n0_m3, area_m2 } = protocol.sample;
  return (Q_C / (ELEMENTARY_CHARGE * n0_m3 * area_m2)) * 1e9;
}

/** ∫ n dx (n0·nm) of a species over the cells (widths from the faces). */
export function inventoryNm(stage: StageResult, faces: number[], species: string): number {
  const n = stage.density[species];
  let s = 0;
  for (let i = 0; i < n.length; i++) s += n[i] * (faces[i + 1] - faces[i]);
  return s;
}

/** Indices of the cells whose centre lies in [a, b] nm. */
export function window(stage: StageResult, a: number, b: number): number[] {
  const out: number[] = [];
  stage.depth_nm.forEach((x, i) => {
    if (x >= a && x <= b) out.push(i);
  });
  return out;
}

/**
 * The reduced two-stage paper protocol of the GPU, gpu.js and fit tests:
 * coarse grid (1 nm cells to 60 nm, growth 1.3: ~110 cells), 0.63 + 0.57 mC
 * (Rb+ and Li+ still move in stage 2).
 */
export function reducedPaper(): Protocol {
  const p = structuredClone(getPreset('paper'));
  p.grid = { h_fine_nm: 1, x_fine_nm: 60, growth: 1.3 };
  (p.stages[0].stop as { charge_C: number }).charge_C = 0.63e-3;
  (p.stages[1].stop as { charge_C: number }).charge_C = 0.57e-3;
  return p;
}

/** A copy of base with D(Cs+) of stage 2 (stages.1.D.Cs.D_m2s) set to D. */
export function withDcs(base: Protocol, D: number): Protocol {
  const p = structuredClone(base);
  (p.stages[1].D.Cs as { D_m2s: number }).D_m2s = D;
  return p;
}

/** An ensemble request of members varying stages.1.D.Cs.D_m2s, profiles final. */
export function dcsRequest(members: Protocol[], values: number[][]): EnsembleRequest {
  return { base: members[0], parameters: ['stages.1.D.Cs.D_m2s'], values, members, profiles: 'final' };
}

const twins = new Map<string, ProtocolResult>();
/**
 * The f64 twin of a float32 engine (quasi-neutral, D tabulated on K points), cached per protocol: with the
 * f64 solver's numerics (the gpu.js engine's algorithm), or with `numerics` (TWIN_NUMERICS: the WebGPU
 * engine's block solve; see gpuTwinOf).
 */
export function twinOf(p: Protocol, K = TABLE_POINTS, numerics?: StepNumerics): ProtocolResult {
  const key = `${K}|${JSON.stringify(numerics ?? null)}|${JSON.stringify(p)}`;
  let r = twins.get(key);
  if (!r) {
    r = float32Twin(p, K, numerics);
    twins.set(key, r);
  }
  return r;
}

/** The f64 twin of the WebGPU engine with `lanes` invocations per lattice (TWIN_NUMERICS, the same partitions). */
export function gpuTwinOf(p: Protocol, lanes: number, K = TABLE_POINTS): ProtocolResult {
  return twinOf(p, K, gpuTwinNumerics(lanes));
}
