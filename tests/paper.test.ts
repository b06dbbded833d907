/**
 * The paper preset (docs/model.md §5) with the f64 solver: agreement with the
 * independent reference solution (tests/fixtures/paper-oracle.json, scipy
 * BDF, full Poisson), conservation, 1:1 replacement and Gauss's law at the
 * fronts, the study's observations, and the aperture front.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareProfiles, risingFront } from '../src/analysis/profiles.js';
import { getPreset } from '../src/config/presets.js';
import { EPSILON_0, ELEMENTARY_CHARGE, kT_eV } from '../src/physics/constants.js';
import { makeDiffusivity } from '../src/physics/diffusion.js';
import { simulate } from '../src/solver/simulate.js';
import type { ProtocolResult } from '../src/solver/types.js';
import { inventoryNm, layerNm, window } from './helpers/protocols.js';

const oracle = JSON.parse(readFileSync(new URL('./fixtures/paper-oracle.json', import.meta.url), 'utf8'));
const protocol = getPreset('paper');
let result: ProtocolResult;

beforeAll(() => {
  result = simulate(protocol);
});

describe('paper preset vs the independent reference solution', () => {
  for (const k of [0, 1]) {
    it(`stage ${k + 1}: profiles within 0.03 (1 nm blur, 2–150 nm), Li front within 1 nm`, () => {
      const s = result.stages[k];
      const c = compareProfiles(s, oracle.stages[k]);
      console.log(`stage ${k + 1} vs reference: max blurred diff ${JSON.stringify(c.maxDiff)}, Li front ${c.front.a.toFixed(3)} vs ${c.front.b.toFixed(3)} nm`);
      expect(c.worst).toBeLessThan(0.03);
      expect(c.front.diff).toBeLessThan(1);
      // every species of the protocol is compared where the reference has it
      expect(Object.keys(c.maxDiff).sort()).toEqual(['Cs', 'Li', 'Rb']);
    });

    it(`stage ${k + 1}: duration and final current within 0.1 % of the reference`, () => {
      const s = result.stages[k];
      expect(Math.abs(s.duration_s / oracle.stages[k].duration_s - 1)).toBeLessThan(1e-3);
      expect(Math.abs(s.final_current_A / oracle.stages[k].final_current_A - 1)).toBeLessThan(1e-3);
    });
  }
});

describe('conservation', () => {
  it('each stage delivers its charge, and the beam-ion inventory equals Q/(e A) to 0.1 %', () => {
    const faces = result.grid.faces_nm;
    const [s1, s2] = result.stages;
    expect(Math.abs(s1.charge_C / 2.52e-3 - 1)).toBeLessThan(1e-6);
    expect(Math.abs(s2.charge_C / 2.28e-3 - 1)).toBeLessThan(1e-6);
    expect(Math.abs(inventoryNm(s1, faces, 'Rb') / layerNm(s1.charge_C, protocol) - 1)).toBeLessThan(1e-3);
    expect(Math.abs(inventoryNm(s2, faces, 'Cs') / layerNm(s2.charge_C, protocol) - 1)).toBeLessThan(1e-3);
    // stage 2 keeps the Rb of stage 1 (none reaches the back electrode)
    expect(Math.abs(inventoryNm(s2, faces, 'Rb') / inventoryNm(s1, faces, 'Rb') - 1)).toBeLessThan(1e-3);
  });

  it('every inventory changes only by what crossed the front and back faces', () => {
    for (const s of result.stages) {
      for (const [sp, b] of Object.entries(s.balance)) {
        const change = b.end - b.start;
        const crossed = b.inFront - b.outBack;
        // relative to the foreign-ion inventory of the stage (tens of n0·nm)
        expect(Math.abs(change - crossed), `${s.name} ${sp}`).toBeLessThan(1e-3 * layerNm(s.charge_C, protocol));
      }
    }
  });

  it('the native ions leave at the back as the beam ions enter (the current is continuous)', () => {
    for (const s of result.stages) {
      const out = Object.values(s.balance).reduce((a, b) => a + b.outBack, 0);
      expect(Math.abs(out / layerNm(s.charge_C, protocol) - 1)).toBeLessThan(1e-3);
    }
  });
});

describe('1:1 replacement and the space charge at the fronts', () => {
  it('Σn/n0 = 1 to 1e-3 in the plateaus and the bulk', () => {
    const plateaus: Array<[number, number, number]> = [
      [0, 2, 20],
      [0, 60, 2.325e6],
      [1, 2, 20],
      [1, 100, 2.325e6],
    ];
    for (const [k, a, b] of plateaus) {
      const s = result.stages[k];
      for (const i of window(s, a, b)) {
        const sum = s.density.Li[i] + s.density.Rb[i] + s.density.Cs[i];
        expect(Math.abs(sum - 1), `stage ${k + 1} at ${s.depth_nm[i]} nm`).toBeLessThan(1e-3);
      }
    }
  });

  it("the charge across the stage-1 front is ε ΔE / (e n0) (Gauss), with E from the current", () => {
    // Away from the front the field carries the current by drift: E = j / (e Σ D_s n_s / kT),
    // j = I/A. Across the front the field jumps, and Gauss's law fixes the charge there.
    const s = result.stages[0];
    const T = protocol.stages[0].T_K;
    const kT = kT_eV(T);
    const xf = risingFront(s.depth_nm, s.density.Li);
    const a = xf - 10;
    const b = xf + 20;
    const ia = s.depth_nm.findIndex((x) => x >= a);
    const ib = s.depth_nm.findIndex((x) => x >= b);
    const j = s.final_current_A / protocol.sample.area_m2; // A/m²
    // D of the stage-1 models at the local densities (Li SED, Rb constant)
    const li = makeDiffusivity(protocol.stages[0].D.Li, T);
    const Dli = (n: number) => li.D(n);
    const Drb = 2.67e-22;
    const field = (i: number) => {
      const cond = (ELEMENTARY_CHARGE * 1.38e28 * (Dli(s.density.Li[i]) * s.density.Li[i] + Drb * s.density.Rb[i])) / kT; // S/m
      return j / cond; // V/m
    };
    const Ea = field(ia);
    const Eb = field(ib);
    // ∫ (Σn − 1) dx over [a, b] in units of n0·m
    const faces = result.grid.faces_nm;
    let q = 0;
    for (let i = ia; i < ib; i++) q += (s.density.Li[i] + s.density.Rb[i] - 1) * (faces[i + 1] - faces[i]) * 1e-9;
    const expected = (protocol.sample.epsr * EPSILON_0 * (Eb - Ea)) / (ELEMENTARY_CHARGE * 1.38e28);
    console.log(`Gauss at the stage-1 front (${xf.toFixed(2)} nm): ∫(Σn−1)dx = ${(q * 1e9).toExponential(3)} nm, ε ΔE/(e n0) = ${(expected * 1e9).toExponential(3)} nm`);
    expect(Math.abs(q / expected - 1)).toBeLessThan(0.05);
  });
});

describe("the study's observations (docs/model.md §5), as sanity checks", () => {
  it('after stage 1: ~90 % Rb in a ~40 nm zone, 7–10 % Li trapped', () => {
    const s = result.stages[0];
    const zone = window(s, 2, 20);
    const rb = zone.reduce((a, i) => a + s.density.Rb[i], 0) / zone.length;
    const li = zone.reduce((a, i) => a + s.density.Li[i], 0) / zone.length;
    expect(rb).toBeGreaterThan(0.88);
    expect(rb).toBeLessThan(0.95);
    expect(li).toBeGreaterThan(0.06);
    expect(li).toBeLessThan(0.11);
    const xf = risingFront(s.depth_nm, s.density.Li);
    expect(xf).toBeGreaterThan(38);
    expect(xf).toBeLessThan(50);
    // a slight slope in the zone: highest Rb at the surface
    expect(s.density.Rb[0]).toBeGreaterThan(s.density.Rb[window(s, 20, 20.5)[0]]);
  });

  it('after stage 2: Li replaced to ~80–100 nm and a local Rb maximum just before the Li onset', () => {
    const s = result.stages[1];
    const xf = risingFront(s.depth_nm, s.density.Li);
    expect(xf).toBeGreaterThan(70);
    expect(xf).toBeLessThan(100);
    const near = window(s, xf - 15, xf);
    const iMax = near.reduce((best, i) => (s.density.Rb[i] > s.density.Rb[best] ? i : best), near[0]);
    const csFront = s.depth_nm.findIndex((x, i) => x > 5 && s.density.Cs[i] < 0.5);
    expect(s.depth_nm[iMax]).toBeGreaterThan(s.depth_nm[csFront]);
    expect(s.density.Rb[iMax]).toBeGreaterThan(0.6);
    // the reference puts that maximum at the same place
    expect(Math.abs(s.depth_nm[iMax] - oracle.stages[1].metrics.x_Rb_max_nm)).toBeLessThan(1);
    expect(Math.abs(s.density.Rb[iMax] - oracle.stages[1].metrics.Rb_max)).toBeLessThan(0.03);
  });
});

describe('aperture front vs clamped front', () => {
  it('agree to 0.01 blurred and 0.25 nm in the fronts (docs/model.md §6.6)', () => {
    const p = getPreset('paper');
    p.front = { type: 'aperture', c_res: 1, gap_m: 8e-3 };
    const ap = simulate(p);
    for (const k of [0, 1]) {
      const c = compareProfiles(ap.stages[k], result.stages[k]);
      console.log(`aperture vs clamped, stage ${k + 1}: max blurred diff ${c.worst.toExponential(2)}, front diff ${c.front.diff.toExponential(2)} nm`);
      expect(c.worst).toBeLessThan(0.01);
      expect(c.front.diff).toBeLessThan(0.25);
      expect(Math.abs(ap.stages[k].charge_C / result.stages[k].charge_C - 1)).toBeLessThan(1e-6);
    }
    // the two really are different boundary conditions: the floating surface starts uncharged, so the
    // reservoir at U first charges it (a larger initial current than the clamped front's Ohmic one)
    expect(ap.stages[0].current.I_A[0]).toBeGreaterThan(2 * result.stages[0].current.I_A[0]);
  }, 300_000);
});

describe('quasi-neutral formulation (the f64 twin of what float32 engines carry)', () => {
  let qn: ProtocolResult;
  beforeAll(() => {
    const p = getPreset('paper');
    p.solver.formulation = 'quasineutral';
    qn = simulate(p);
  }, 300_000);

  for (const k of [0, 1]) {
    it(`stage ${k + 1}: agrees with full Poisson to 0.01 and with the reference to 0.03 (fronts 0.25 / 1 nm)`, () => {
      const vsPoisson = compareProfiles(qn.stages[k], result.stages[k]);
      const vsRef = compareProfiles(qn.stages[k], oracle.stages[k]);
      console.log(`quasi-neutral, stage ${k + 1}: vs Poisson ${vsPoisson.worst.toExponential(2)} (front ${vsPoisson.front.diff.toExponential(2)} nm), vs reference ${vsRef.worst.toExponential(2)} (front ${vsRef.front.diff.toExponential(2)} nm)`);
      expect(vsPoisson.worst).toBeLessThan(0.01);
      expect(vsPoisson.front.diff).toBeLessThan(0.25);
      expect(vsRef.worst).toBeLessThan(0.03);
      expect(vsRef.front.diff).toBeLessThan(1);
    });
  }

  it('holds Σ z n = 1 exactly and conserves every species', () => {
    for (const s of qn.stages) {
      for (let i = 0; i < s.depth_nm.length; i++) expect(Math.abs(s.density.Li[i] + s.density.Rb[i] + s.density.Cs[i] - 1)).toBeLessThan(1e-12);
      for (const [sp, b] of Object.entries(s.balance))
        expect(Math.abs(b.end - b.start - (b.inFront - b.outBack)), `${s.name} ${sp}`).toBeLessThan(1e-3 * layerNm(s.charge_C, protocol));
      expect(Math.abs(inventoryNm(s, qn.grid.faces_nm, s.beam) / layerNm(s.charge_C, protocol) - 1)).toBeLessThan(1e-3);
    }
  });
});
