/**
 * Small protocols for the physics tests, built through the real schema.
 */
import type { ProtocolInput, Protocol } from '../../src/config/schema.js';
import { parseProtocol } from '../../src/config/validate.js';
import { ELEMENTARY_CHARGE } from '../../src/physics/constants.js';
import type { StageResult } from '../../src/solver/types.js';

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
