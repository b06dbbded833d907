/**
 * Built-in protocols. `paper` is the Double-CAIT study of a Li3B7O12 glass
 * (docs/model.md §5): Rb+ 2.52 mC, then Cs+ 2.28 mC, numbers as the study gives them.
 */
import type { ProtocolInput, Protocol } from './schema.js';
import { InputError } from '../core/errors.js';
import { parseProtocol } from './validate.js';

const T_50C = 323.15;

/** Li+ SED in the study: D0 = 7.8e-9 m²/s, Ea = 0.65 eV, Γ = 0.16 eV, f = 0.85. */
const liSed = (thetaFall: number) =>
  ({
    model: 'sed',
    bulk: { D0_m2s: 7.8e-9, Ea_eV: 0.65 },
    width: { convention: 'gamma', value_eV: 0.16 },
    f: 0.85,
    fall: { theta: thetaFall, decades: 3, width: 0.01 },
    nref: 'bulk',
  }) as const;

export const paper: ProtocolInput = {
  schema: 'cait-protocol/1',
  name: 'paper',
  description:
    'Double-CAIT of a Li3B7O12 glass: Rb+ (2.52 mC) then Cs+ (2.28 mC) at 15 V and 50 °C; D values of the study (docs/model.md §5)',
  sample: { thickness_m: 2.325e-3, area_m2: 28.26e-6, n0_m3: 1.38e28, epsr: 8 },
  species: {
    Li: { z: 1, initial: 1 },
    Rb: { z: 1, initial: 0 },
    Cs: { z: 1, initial: 0 },
  },
  grid: { h_fine_nm: 0.25, x_fine_nm: 150, growth: 1.06 },
  front: { type: 'clamped', c_res: 1 },
  solver: { rtol: 1e-3, atol: 1e-4, dt0_s: 1e-6, dt_max_s: 1e4, max_steps: 200000, face_D: 'arithmetic' },
  stages: [
    {
      name: 'stage 1 (Rb+)',
      beam: 'Rb',
      U_V: 15,
      T_K: T_50C,
      stop: { charge_C: 2.52e-3 },
      max_duration_s: 1e8,
      record: { times_s: [], charges_C: [] },
      D: {
        Li: liSed(0.1),
        Rb: { model: 'constant', D_m2s: 2.67e-22 },
      },
    },
    {
      name: 'stage 2 (Cs+)',
      beam: 'Cs',
      U_V: 15,
      T_K: T_50C,
      stop: { charge_C: 2.28e-3 },
      max_duration_s: 1e8,
      record: { times_s: [], charges_C: [] },
      D: {
        Li: liSed(0.03),
        Rb: {
          model: 'sed',
          bulk: { D_m2s: 2.67e-22 },
          width: { convention: 'fwhmPopulated', value_eV: 0.225 },
          f: 0.85,
          fall: { theta: 0.1, decades: 3, width: 0.01 },
          nref: 'bulk',
        },
        Cs: { model: 'constant', D_m2s: 3.1e-23 },
      },
    },
  ],
};

/** A small, fast single-stage protocol (Rb+ into a Li glass, 0.25 mC): for trying things out and for tests. */
export const quick: ProtocolInput = {
  ...paper,
  name: 'quick',
  description: 'Single Rb+ stage of 0.25 mC on the paper sample with a 0.5 nm grid (about 4 nm of exchange): a fast example',
  grid: { h_fine_nm: 0.5, x_fine_nm: 40, growth: 1.1 },
  stages: [{ ...paper.stages[0], name: 'Rb+', stop: { charge_C: 0.25e-3 } }],
};

export const presets: Record<string, { input: ProtocolInput; summary: string }> = {
  paper: { input: paper, summary: paper.description! },
  quick: { input: quick, summary: quick.description! },
};

export function presetNames(): string[] {
  return Object.keys(presets);
}

/** The validated protocol of a preset (a fresh copy each call). */
export function getPreset(name: string): Protocol {
  const p = presets[name];
  if (!p) throw new InputError(`unknown preset "${name}" (known: ${presetNames().join(', ')})`);
  return parseProtocol(structuredClone(p.input), `preset ${name}`);
}
