/**
 * Convergence (the numerical verification, docs/numerics.md §6) and εr
 * (docs/model.md §6.5): halving the cells and tightening the time-step
 * tolerance tenfold moves the paper preset's fronts by < 0.25 nm and its
 * profiles by < 0.01 (1 nm blur); εr from 4 to 16 changes them by < 0.01.
 */
import { describe, expect, it } from 'vitest';
import { compareProfiles } from '../src/analysis/profiles.js';
import { getPreset } from '../src/config/presets.js';
import { simulate } from '../src/solver/simulate.js';

describe('grid and time-step convergence of the paper preset', () => {
  it('0.25 → 0.125 nm cells with rtol, atol ÷ 10: profiles < 0.01, fronts < 0.25 nm', () => {
    const base = getPreset('paper');
    const fine = getPreset('paper');
    fine.grid.h_fine_nm /= 2;
    fine.solver.rtol /= 10;
    fine.solver.atol /= 10;
    const a = simulate(base);
    const b = simulate(fine);
    expect(b.grid.cells).toBeGreaterThan(a.grid.cells + 500);
    for (const k of [0, 1]) {
      const c = compareProfiles(a.stages[k], b.stages[k]);
      console.log(`stage ${k + 1}: 0.25 vs 0.125 nm & tol/10: max blurred diff ${c.worst.toExponential(2)} (${JSON.stringify(c.atDepth)}), Li front ${c.front.a.toFixed(3)} vs ${c.front.b.toFixed(3)} nm`);
      expect(c.worst).toBeLessThan(0.01);
      expect(c.front.diff).toBeLessThan(0.25);
    }
  }, 600_000);
});

describe('insensitivity to εr', () => {
  it('εr = 4 and εr = 16 give the same profiles to 0.01', () => {
    const p4 = getPreset('paper');
    p4.sample.epsr = 4;
    const p16 = getPreset('paper');
    p16.sample.epsr = 16;
    const a = simulate(p4);
    const b = simulate(p16);
    for (const k of [0, 1]) {
      const c = compareProfiles(a.stages[k], b.stages[k]);
      console.log(`stage ${k + 1}: εr 4 vs 16: max blurred diff ${c.worst.toExponential(2)}, front diff ${c.front.diff.toExponential(2)} nm`);
      expect(c.worst).toBeLessThan(0.01);
      expect(c.front.diff).toBeLessThan(0.25);
    }
  }, 600_000);
});
