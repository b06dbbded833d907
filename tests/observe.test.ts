/**
 * The observation operator and residual (src/observe/observe.ts): exact
 * Gaussian step responses, agreement with the §6 comparison blur, Hofmann's
 * MRI function (normalization, centroid shift −λ, Gaussian limit), the
 * residual's algebra, the CPU engine's residuals, and the input errors.
 */
import { describe, expect, it } from 'vitest';
import { applyOperator, makeObservation, observationOperator, observationResidual, resolutionCdf, type Observation } from '../src/observe/observe.js';
import { blurProfile, facesFromCentres } from '../src/analysis/profiles.js';
import { erfc, erfcx, normCdf } from '../src/physics/special.js';
import { runMember } from '../src/ensemble/member.js';
import { getPreset } from '../src/config/presets.js';

/** faces 0 … L with cells of h growing geometrically past x_fine */
function faces(h: number, xFine: number, L: number, growth = 1.1): number[] {
  const f = [0];
  let x = 0;
  let dh = h;
  while (x < L) {
    if (x >= xFine) dh *= growth;
    x = Math.min(L, x + dh);
    f.push(x);
  }
  return f;
}

describe('observation operator', () => {
  const F = faces(0.25, 120, 400);
  const depths = Array.from({ length: 140 }, (_, j) => 0.5 + j);

  it('Gaussian: a step (1 above d, 0 below) gives Φ((x+d)/σ) − Φ((x−d)/σ) exactly, mirror included', () => {
    const sigma = 2.3;
    const d = 40; // a face: 160 cells of 0.25 nm
    expect(F[160]).toBeCloseTo(40, 12);
    const n = F.slice(1).map((_, i) => (F[i] < d - 1e-9 ? 1 : 0));
    const op = observationOperator(F, depths, { kind: 'gauss', sigma_nm: sigma });
    const m = applyOperator(op, n);
    let worst = 0;
    depths.forEach((x, j) => {
      const exact = normCdf((x + d) / sigma) - normCdf((x - d) / sigma);
      worst = Math.max(worst, Math.abs(m[j] - exact));
    });
    expect(worst).toBeLessThan(1e-11);
  });

  it('Gaussian: weights of a point sum to 1 (nothing lost at the surface) and a constant stays constant', () => {
    const op = observationOperator(F, depths, { kind: 'gauss', sigma_nm: 5 });
    for (let j = 0; j < op.points; j++) {
      let s = 0;
      for (let k = 0; k < op.count[j]; k++) s += op.w[op.offset[j] + k];
      expect(Math.abs(s - 1)).toBeLessThan(1e-11);
    }
  });

  it('Gaussian: the same blur as the §6 comparison (blurProfile)', () => {
    const centres = F.slice(1).map((b, i) => 0.5 * (F[i] + b));
    const n = centres.map((x) => 0.9 / (1 + Math.exp((x - 42) / 1.7)) + 0.05 * Math.sin(x / 7));
    const op = observationOperator(facesFromCentres(centres), depths, { kind: 'gauss', sigma_nm: 1.5 });
    const a = applyOperator(op, n);
    const b = blurProfile(facesFromCentres(centres), n, 1.5, depths);
    let worst = 0;
    for (let j = 0; j < depths.length; j++) worst = Math.max(worst, Math.abs(a[j] - b[j]));
    expect(worst).toBeLessThan(1e-11);
  });

  it('MRI: normalized; a thin deep layer appears shifted by −λ (centroid) with width² = w² + σ² + λ²', () => {
    const res = { kind: 'mri' as const, w_nm: 1.5, sigma_nm: 1.0, lambda_nm: 0.8 };
    const { G } = resolutionCdf(res);
    expect(G(-1e6)).toBe(0);
    expect(G(1e6)).toBe(1);
    // thin layer: one 0.25 nm cell at 100 nm; model(x) ≈ 0.25 g(x − 100)
    const Fi = faces(0.25, 300, 300);
    const xs = Array.from({ length: 1200 }, (_, j) => 80 + j * 0.05);
    const n = Fi.slice(1).map((_, i) => (Math.abs(Fi[i] - 100) < 1e-9 ? 1 : 0));
    const m = applyOperator(observationOperator(Fi, xs, res), n);
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    xs.forEach((x, j) => {
      s0 += m[j];
      s1 += m[j] * x;
      s2 += m[j] * x * x;
    });
    const mean = s1 / s0;
    const variance = s2 / s0 - mean * mean;
    const centre = 100.125; // the layer's centre
    expect(s0 * 0.05).toBeCloseTo(0.25, 4);
    expect(mean - centre).toBeCloseTo(-0.8, 2);
    // variances add: mixing w², roughness σ², information depth λ², the 0.25 nm cell 0.25²/12
    expect(variance).toBeCloseTo(1.5 ** 2 + 1 + 0.8 ** 2 + 0.25 ** 2 / 12, 1);
  });

  it('MRI with tiny w and λ is the Gaussian of σ', () => {
    const g = applyOperator(observationOperator(F, depths, { kind: 'gauss', sigma_nm: 2 }), F.slice(1).map((_, i) => (F[i] < 30 ? 1 : 0)));
    const m = applyOperator(
      observationOperator(F, depths, { kind: 'mri', sigma_nm: 2, w_nm: 0.01, lambda_nm: 0.01 }),
      F.slice(1).map((_, i) => (F[i] < 30 ? 1 : 0)),
    );
    let worst = 0;
    for (let j = 0; j < depths.length; j++) worst = Math.max(worst, Math.abs(m[j] - g[j]));
    expect(worst).toBeLessThan(5e-3);
  });

  it('refuses non-positive resolutions and depths outside the sample', () => {
    expect(() => observationOperator(F, depths, { kind: 'gauss', sigma_nm: 0 })).toThrow(/sigma_nm must be a positive number of nm/);
    expect(() => observationOperator(F, depths, { kind: 'mri', sigma_nm: 1, w_nm: -1, lambda_nm: 1 })).toThrow(/w_nm must be a positive/);
    expect(() => observationOperator(F, [500], { kind: 'gauss', sigma_nm: 1 })).toThrow(/500 nm lies outside the simulated sample \(0 … 400 nm\)/);
  });
});

describe('erfcx (the MRI function far in its tails)', () => {
  it('matches e^{x²} erfc(x), is continuous at the switch, and follows the asymptotic series', () => {
    for (const x of [-1.5, 0, 0.7, 1.9, 2.5, 4]) expect(erfcx(x)).toBeCloseTo(Math.exp(x * x) * erfc(x), 12);
    expect(Math.abs(erfcx(2 - 1e-12) - erfcx(2 + 1e-12))).toBeLessThan(1e-11);
    const x = 300;
    const series = (1 / (x * Math.sqrt(Math.PI))) * (1 - 1 / (2 * x * x) + 3 / (4 * x ** 4));
    expect(Math.abs(erfcx(x) / series - 1)).toBeLessThan(1e-12);
  });
});

describe('residual', () => {
  const F = faces(0.5, 100, 300);
  const centres = F.slice(1).map((b, i) => 0.5 * (F[i] + b));
  const density = {
    Li: centres.map((x) => 1 / (1 + Math.exp(-(x - 40) / 2))),
    Rb: centres.map((x) => 1 - 1 / (1 + Math.exp(-(x - 40) / 2))),
  };
  const obsOf = (shift: Record<string, number>, weights = [1, 1]): Observation => {
    const depth_nm = Array.from({ length: 60 }, (_, j) => 3 + 2 * j);
    const op = observationOperator(F, depth_nm, { kind: 'gauss', sigma_nm: 2 });
    return {
      stage: 0,
      label: 't',
      species: ['Li', 'Rb'],
      weights,
      depth_nm,
      target: ['Li', 'Rb'].map((s) => Array.from(applyOperator(op, density[s as 'Li' | 'Rb'])).map((v) => v + (shift[s] ?? 0))),
      resolution: { kind: 'gauss', sigma_nm: 2 },
    };
  };

  it('is 0 against its own model and w·P·δ² against a shifted target', () => {
    const o0 = obsOf({});
    const op = observationOperator(F, o0.depth_nm, o0.resolution);
    expect(observationResidual(op, o0, density).ssr).toBeLessThan(1e-28);
    const o1 = obsOf({ Rb: 0.03 }, [1, 2.5]);
    const r = observationResidual(op, o1, density, true);
    expect(r.parts.Li).toBeLessThan(1e-28);
    expect(r.parts.Rb).toBeCloseTo(2.5 * 60 * 0.03 ** 2, 12);
    expect(r.ssr).toBeCloseTo(r.parts.Rb, 14);
    expect(r.points).toBe(60);
    expect(r.model!.Rb[10]).toBeCloseTo(o1.target[1][10] - 0.03, 12);
  });

  it('the CPU engine member reports the residual of its own final profile as ~0, and a perturbed one as expected', () => {
    const p = getPreset('quick');
    const first = runMember(0, p, [], { profiles: 'final' });
    expect(first.status).toBe('ok');
    const st = first.stages[p.stages.length - 1];
    const F2 = facesFromCentres(st.depth_nm!);
    const sp = Object.keys(p.species);
    const depth_nm = Array.from({ length: 30 }, (_, j) => 1 + j * 0.5);
    const op = observationOperator(F2, depth_nm, { kind: 'gauss', sigma_nm: 1 });
    const obs: Observation = {
      stage: p.stages.length - 1,
      label: 'self',
      species: sp,
      weights: sp.map(() => 1),
      depth_nm,
      target: sp.map((s) => Array.from(applyOperator(op, st.density![s])).map((v, j) => v + (s === sp[0] && j < 10 ? 0.1 : 0))),
      resolution: { kind: 'gauss', sigma_nm: 1 },
    };
    const again = runMember(0, p, [], { profiles: 'none', observations: [obs], keepModel: true });
    expect(again.status).toBe('ok');
    const r = again.residuals![0];
    // facesFromCentres rebuilds the solver's faces to roundoff: the residual is 10 · 0.1² on the first species
    expect(r.parts[sp[0]]).toBeCloseTo(10 * 0.01, 9);
    for (const s of sp.slice(1)) expect(r.parts[s]).toBeLessThan(1e-18);
  });
});

describe('makeObservation', () => {
  const measured = { depth_nm: [1, 2, 3, 4, 5, 6], c: { Li: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], Rb: [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], Xe: [0, 0, 0, 0, 0, 0] } };
  const base = { stage: 1, label: 'cs.csv', protocolSpecies: ['Li', 'Rb', 'Cs'], resolution: { kind: 'gauss' as const, sigma_nm: 2 } };

  it('keeps the protocol species that were measured, inside the window, in protocol order', () => {
    const o = makeObservation(measured, { ...base, window_nm: [2, 5], weights: { Rb: 3 } });
    expect(o.species).toEqual(['Li', 'Rb']);
    expect(o.weights).toEqual([1, 3]);
    expect(o.depth_nm).toEqual([2, 3, 4, 5]);
    expect(o.target[1]).toEqual([0.8, 0.7, 0.6, 0.5]);
  });

  it('errors name what is wrong', () => {
    expect(() => makeObservation(measured, { ...base, window_nm: [50, 60] })).toThrow('cs.csv: no measured point in the depth window 50…60 nm');
    expect(() => makeObservation(measured, { ...base, weights: { K: 1 } })).toThrow('cs.csv: weight for unknown species K (protocol species: Li, Rb, Cs)');
    expect(() => makeObservation(measured, { ...base, weights: { Li: -1 } })).toThrow('cs.csv: weight of Li must be ≥ 0 (got -1)');
    expect(() => makeObservation({ depth_nm: [1], c: { Xe: [1] } }, base)).toThrow(/no measured element is a species of the protocol/);
    expect(() => makeObservation({ depth_nm: [1, 3, 2], c: { Li: [1, 1, 1] } }, base)).toThrow('cs.csv: measured depths are not increasing at point 3');
    expect(() => makeObservation({ depth_nm: [1, 2], c: { Li: [1, NaN] } }, base)).toThrow('cs.csv: Li at 2 nm is not a number');
  });
});
