/**
 * Unit tests of the numerical building blocks: special functions, D(θ) models,
 * the banded LU solver, the non-uniform grid and the profile comparison.
 *
 * Expected values come from independent sources only: math identities, the
 * formulas of docs/model.md, dense Gaussian elimination written here,
 * numerical integration written here, the independent reference solver's
 * fixture (tests/fixtures/paper-oracle.json), or constants computed with
 * CPython 3 (`statistics.NormalDist`, `math.erfc`, `math.exp`) as noted.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { normInv, normCdf, normPdf, erfc, bernoulli, bernoulliDeriv, bernoulliDerivFrom } from '../src/physics/special.js';
import { sedSigma, populatedFwhm, bulkD, makeDiffusivity } from '../src/physics/diffusion.js';
import type { DModel } from '../src/config/schema.js';
import { BandMatrix } from '../src/solver/banded.js';
import { makeGrid } from '../src/solver/grid.js';
import { InputError } from '../src/core/errors.js';
import { blurProfile, risingFront, fallingFront, compareProfiles, facesFromCentres } from '../src/analysis/profiles.js';

/** |got − want| ≤ rel·|want| (+ abs) */
function expectClose(got: number, want: number, rel: number, abs = 0): void {
  const tol = rel * Math.abs(want) + abs;
  if (!(Math.abs(got - want) <= tol)) {
    throw new Error(`expected ${got} ≈ ${want} (|diff| = ${Math.abs(got - want)}, tol = ${tol})`);
  }
}

/** small deterministic PRNG (mulberry32), uniform in [0, 1) */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------
describe('physics/special', () => {
  describe('normInv (Acklam)', () => {
    // python3 -c "from statistics import NormalDist; print(repr(NormalDist().inv_cdf(p)))"
    const ref: Array<[number, number]> = [
      [1e-10, -6.361340902404056],
      [1e-6, -4.753424308822899],
      [0.02425, -1.9729610513118845],
      [0.085, -1.3722038089987258],
      [0.3, -0.5244005127080407],
      [0.5, 0.0],
      [0.85, 1.0364333894937894],
      [0.975, 1.9599639845400536],
      [0.9999, 3.7190164854557084],
    ];
    it.each(ref)('normInv(%s) matches NormalDist().inv_cdf to 2e-9 relative', (p, want) => {
      expectClose(normInv(p), want, 2e-9, want === 0 ? 1e-15 : 0);
    });

    it('is odd about p = 0.5: normInv(1 − p) = −normInv(p)', () => {
      for (const p0 of [1e-10, 1e-6, 0.001, 0.02, 0.02425, 0.05, 0.1, 0.25, 0.4, 0.49]) {
        // q = 1 − p0 is rounded; p = 1 − q is then exact (Sterbenz), so q + p = 1 exactly
        const q = 1 - p0;
        const p = 1 - q;
        // exact to rounding, except right at the branch switch p = 0.02425 where p = 1 − fl(1 − 0.02425) falls
        // just below P_LOW (tail formula) while q stays in the central one: there only the design bound
        // (2 × 1.15e-9) applies, the two rational approximations meet with that mismatch.
        expectClose(normInv(q), -normInv(p), p0 === 0.02425 ? 2.3e-9 : 1e-12);
      }
    });

    it('is monotone increasing', () => {
      let prev = -Infinity;
      for (let k = 1; k < 2000; k++) {
        const v = normInv(k / 2000);
        expect(v).toBeGreaterThan(prev);
        prev = v;
      }
    });

    it('gives ±Infinity at 0 and 1 and NaN outside [0, 1]', () => {
      expect(normInv(0)).toBe(-Infinity);
      expect(normInv(1)).toBe(Infinity);
      for (const p of [-1e-12, -1, 1 + 1e-12, 2, NaN, Infinity, -Infinity]) expect(normInv(p)).toBeNaN();
    });

    it('inverts normCdf: normCdf(normInv(p)) = p (to 1e-9, or what Acklam’s 1.15e-9 in x allows in the tails)', () => {
      for (const p of [1e-10, 1e-6, 1e-3, 0.02425, 0.085, 0.2, 0.5, 0.7, 0.85, 0.975, 0.99, 0.9999]) {
        const x = normInv(p);
        // a relative error ε in x moves Φ by φ(x)|x|ε; relative to min(p, 1−p) that exceeds 1e-9 in the far tails
        // (≈ 4e-8 at p = 1e-10), so the tolerance is the larger of 1e-9 and that propagated design bound.
        const rel = Math.max(1e-9, (1.15e-9 * Math.abs(x) * normPdf(x)) / Math.min(p, 1 - p));
        expectClose(normCdf(x), p, 0, rel * Math.min(p, 1 - p));
      }
    });
  });

  describe('erfc and normCdf', () => {
    // python3 -c "import math; print(repr(math.erfc(x)))"
    const ref: Array<[number, number]> = [
      [-5, 1.9999999999984626],
      [-2.5, 1.999593047982555],
      [-1, 1.842700792949715],
      [-0.3, 1.3286267594591274],
      [0, 1.0],
      [0.001, 0.9988716212090307],
      [0.5, 0.4795001221869535],
      [1, 0.15729920705028513],
      [1.5, 0.033894853524689274],
      [2, 0.004677734981047265],
      [2.0001, 0.0046756686958033394],
      [2.5, 0.0004069520174449589],
      [3, 2.2090496998585438e-5],
      [5, 1.5374597944280351e-12],
      [10, 2.088487583762545e-45],
      [15, 7.212994172451206e-100],
      [20, 5.3958656116079005e-176],
      [26, 5.663192408856143e-296],
    ];
    it.each(ref)('erfc(%s) matches math.erfc to 1e-13 relative', (x, want) => {
      expectClose(erfc(x), want, 1e-13);
    });

    it('erfc(NaN) is NaN and erfc(x) + erfc(−x) = 2', () => {
      expect(erfc(NaN)).toBeNaN();
      for (const x of [0.1, 0.9, 1.99, 2.01, 4, 7]) expectClose(erfc(x) + erfc(-x), 2, 1e-15);
    });

    // python3 -c "import math; print(repr(0.5*math.erfc(-x/math.sqrt(2))))"
    const cdf: Array<[number, number]> = [
      [-6, 9.865876450377012e-10],
      [-3, 0.0013498980316300957],
      [-1, 0.15865525393145707],
      [0, 0.5],
      [0.7, 0.758036347776927],
      [2, 0.9772498680518208],
      [4, 0.9999683287581669],
    ];
    it.each(cdf)('normCdf(%s) matches 0.5·math.erfc(−x/√2) to 1e-13 relative', (x, want) => {
      expectClose(normCdf(x), want, 1e-13);
    });

    it('normPdf is the derivative of normCdf (central differences)', () => {
      for (const x of [-4, -1.3, 0, 0.2, 2.5]) {
        const h = 1e-5;
        expectClose((normCdf(x + h) - normCdf(x - h)) / (2 * h), normPdf(x), 1e-8);
      }
    });
  });

  describe('bernoulli B(x) = x / (eˣ − 1)', () => {
    const xs = [-800, -700.5, -50, -10, -1, -0.3, -1e-3, -5e-4, -1e-7, 1e-7, 5e-4, 1e-3, 0.3, 1, 10, 50, 700.5, 800];

    it('B(0) = 1', () => {
      expect(bernoulli(0)).toBe(1);
    });

    it('B(x) − B(−x) = −x', () => {
      for (const x of xs) expectClose(bernoulli(x) - bernoulli(-x), -x, 1e-13, 1e-15);
    });

    it('is continuous across the series/formula switch at |x| = 1e-3', () => {
      // both sides of the switch against x/(eˣ − 1) in 50-digit decimal arithmetic:
      // python3: from decimal import *; getcontext().prec=50; d=Decimal(x); d/(d.exp()-1)
      const ref: Array<[number, number]> = [
        [1e-3 - 1e-12, 0.99950008333383177776541437860690941],
        [1e-3 + 1e-12, 0.99950008333283211110273107169506320],
        [-1e-3 - 1e-12, 1.0005000833338321111195519506070349],
        [-1e-3 + 1e-12, 1.0005000833328317777902268631183811],
        [1.5e-3, 0.99925018749999296873477196905722010],
        [5e-4, 0.99975002083333324652257499141131034],
      ];
      for (const [x, want] of ref) expectClose(bernoulli(x), want, 1e-15);
      for (const a of [1e-3, -1e-3]) {
        const d = 1e-12;
        // the jump across the switch is B'·2d (≈ 1e-12) plus rounding
        expectClose(bernoulli(a + d) - bernoulli(a - d), bernoulliDeriv(a) * 2 * d, 0, 1e-15);
        expect(Math.abs(bernoulliDeriv(a + d) - bernoulliDeriv(a - d))).toBeLessThan(1e-12);
      }
    });

    it('stays finite at ±800 with the right limits', () => {
      for (const x of [-800, 800, -1e4, 1e4]) {
        expect(Number.isFinite(bernoulli(x))).toBe(true);
        expect(Number.isFinite(bernoulliDeriv(x))).toBe(true);
      }
      expectClose(bernoulli(-800), 800, 1e-15); // B(−x) = x + B(x) and B(800) underflows
      expect(bernoulli(800)).toBeGreaterThanOrEqual(0);
      expect(bernoulli(800)).toBeLessThan(1e-300);
      expectClose(bernoulliDeriv(-800), -1, 1e-12); // B'(−∞) = −1
      expect(Math.abs(bernoulliDeriv(800))).toBeLessThan(1e-300); // B'(+∞) = 0
    });

    it('bernoulliDeriv and bernoulliDerivFrom match central finite differences', () => {
      for (const x of [-50, -10, -2, -1, -0.01, -5e-4, 0, 3e-4, 0.002, 0.5, 2, 10, 50]) {
        const h = 1e-6 * Math.max(1, Math.abs(x));
        const fd = (bernoulli(x + h) - bernoulli(x - h)) / (2 * h);
        const d = bernoulliDeriv(x);
        expectClose(d, fd, 1e-6, 1e-10 * Math.max(1, Math.abs(bernoulli(x))));
        expectClose(bernoulliDerivFrom(x, bernoulli(x)), d, 1e-14, 1e-300);
      }
    });

    it("B'(−x) = −1 − B'(x)", () => {
      for (const x of xs) {
        expectClose(bernoulliDeriv(-x), -1 - bernoulliDeriv(x), 0, 1e-12);
        expectClose(bernoulliDerivFrom(-x, bernoulli(-x)), -1 - bernoulliDerivFrom(x, bernoulli(x)), 0, 1e-12);
      }
    });
  });
});

// ---------------------------------------------------------------------------
describe('physics/diffusion', () => {
  const T = 323.15;
  // python3: kT = 1.380649e-23*323.15/1.602176634e-19; 7.8e-9*math.exp(-0.65/kT)
  const DB_LI = 5.686353104640279e-19;
  // python3: NormalDist().inv_cdf(0.85)
  const XF_085 = 1.0364333894937894;
  const SQRT_2LN2 = Math.sqrt(2 * Math.LN2);
  const arrheniusBulk = { D0_m2s: 7.8e-9, Ea_eV: 0.65 };
  const sed = (extra: Partial<Extract<DModel, { model: 'sed' }>> = {}): DModel => ({
    model: 'sed',
    bulk: arrheniusBulk,
    width: { convention: 'gamma', value_eV: 0.16 },
    f: 0.85,
    nref: 'bulk',
    nref_floor: 0.01,
    ...extra,
  }) as DModel;
  const fall = { theta: 0.1, decades: 3, width: 0.01 };

  /** central finite difference of D at θ */
  const fdSlope = (Dfn: (t: number) => number, t: number, h = 1e-6 * t) => (Dfn(t + h) - Dfn(t - h)) / (2 * h);

  describe('width conventions (sedSigma, populatedFwhm)', () => {
    it('gamma Γ = 0.16 eV → σ = 0.16/√2; sigma is passed through', () => {
      expectClose(sedSigma({ convention: 'gamma', value_eV: 0.16 }, 0.85), 0.16 / Math.SQRT2, 1e-15);
      expect(sedSigma({ convention: 'sigma', value_eV: 0.113 }, 0.85)).toBe(0.113);
    });

    it('fwhmPopulated: w = σ (√(2 ln 2) + Φ⁻¹(f))', () => {
      // docs/model.md §4.1 with Φ⁻¹(0.85) from Python
      expectClose(sedSigma({ convention: 'fwhmPopulated', value_eV: 0.25 }, 0.85), 0.25 / (SQRT_2LN2 + XF_085), 1e-9);
    });

    it('fwhmPopulated round trip: populatedFwhm(sedSigma(w, f), f) = w', () => {
      for (const f of [0.2, 0.5, 0.7, 0.85]) {
        for (const w of [0.05, 0.225, 0.25]) {
          expectClose(populatedFwhm(sedSigma({ convention: 'fwhmPopulated', value_eV: w }, f), f), w, 1e-14);
        }
      }
    });

    it('fwhmPopulated is rejected when Φ⁻¹(f) ≤ −√(2 ln 2)', () => {
      expect(() => sedSigma({ convention: 'fwhmPopulated', value_eV: 0.2 }, 0.05)).toThrow(RangeError);
    });

    it('Γ = 0.16 eV, f = 0.85 → populated FWHM ≈ 250 meV (docs/model.md §4.1)', () => {
      const w = populatedFwhm(sedSigma({ convention: 'gamma', value_eV: 0.16 }, 0.85), 0.85);
      expect(Math.abs(w - 0.2505)).toBeLessThan(0.001);
      // python3: 0.16/math.sqrt(2)*(math.sqrt(2*math.log(2)) + NormalDist().inv_cdf(0.85))
      expectClose(w, 0.25046779025870625, 1e-8);
    });
  });

  describe('Arrhenius bulk value', () => {
    it('D0 = 7.8e-9 m²/s, Ea = 0.65 eV at 323.15 K → D_bulk ≈ 5.7e-19 m²/s', () => {
      expectClose(bulkD(arrheniusBulk, T), 5.69e-19, 0.01);
      expectClose(bulkD(arrheniusBulk, T), DB_LI, 1e-12);
      expect(bulkD({ D_m2s: 2.67e-22 }, T)).toBe(2.67e-22);
    });

    it('SED model: D(1) = D_bulk, D1 = D_bulk, and θ > 1 gives D_bulk', () => {
      const d = makeDiffusivity(sed(), T);
      expectClose(d.D1, DB_LI, 1e-12);
      expectClose(d.D(1), DB_LI, 1e-12);
      for (const t of [1 + 1e-12, 1.01, 1.5, 3, 1e6]) expect(d.D(t)).toBe(d.D(1));
      expect(d.constant).toBe(false);
      expect(d.nref).toBe('bulk');
    });

    it('constant and arrhenius models: D independent of θ, dD/dθ = 0', () => {
      const c = makeDiffusivity({ model: 'constant', D_m2s: 2.67e-22 }, T);
      const a = makeDiffusivity({ model: 'arrhenius', D0_m2s: 7.8e-9, Ea_eV: 0.65 }, T);
      const out = new Float64Array(2);
      for (const t of [0, 0.05, 0.5, 1, 2]) {
        c.eval(t, out);
        expect(out[0]).toBe(2.67e-22);
        expect(out[1]).toBe(0);
        a.eval(t, out);
        expectClose(out[0], DB_LI, 1e-12);
        expect(out[1]).toBe(0);
      }
      expect(c.constant).toBe(true);
      expect(a.constant).toBe(true);
    });
  });

  describe('SED model', () => {
    it('D(θ) = D_bulk exp(−σ[Φ⁻¹(f) − Φ⁻¹(fθ)]/kT) (docs/model.md §4.1)', () => {
      const d = makeDiffusivity(sed(), T);
      const kT = (1.380649e-23 * T) / 1.602176634e-19;
      const s = 0.16 / Math.SQRT2;
      // python3: NormalDist().inv_cdf(0.85 * 0.5)
      const x05 = -0.1891184262727925;
      expectClose(d.D(0.5), DB_LI * Math.exp((-s * (XF_085 - x05)) / kT), 1e-7);
    });

    it('falls ≈ 4.2 decades from θ = 1 to θ = 0.1 for Li at 323.15 K', () => {
      const d = makeDiffusivity(sed(), T);
      const dec = Math.log10(d.D(1) / d.D(0.1));
      expect(Math.abs(dec - 4.25)).toBeLessThan(0.02);
      // python3: s/kT*(inv_cdf(0.85) - inv_cdf(0.085))/math.log(10)
      expectClose(dec, 4.249948194231076, 1e-7);
    });

    it('the three width conventions of the same σ give identical D(θ)', () => {
      const sigma = 0.16 / Math.SQRT2;
      const a = makeDiffusivity(sed({ width: { convention: 'sigma', value_eV: sigma } }), T);
      const b = makeDiffusivity(sed({ width: { convention: 'gamma', value_eV: 0.16 } }), T);
      // w_p from the Python value of Φ⁻¹(0.85); normInv's design error (≤1.15e-9) enters σ and is
      // amplified by σΔx/kT (≤ ~40 down to θ = 1e-4) — hence 1e-7 rather than 1e-14 against `c`.
      const c = makeDiffusivity(sed({ width: { convention: 'fwhmPopulated', value_eV: sigma * (SQRT_2LN2 + XF_085) } }), T);
      for (const t of [1e-4, 0.01, 0.05, 0.1, 0.2, 0.37, 0.5, 0.8, 0.99, 1, 1.2]) {
        expectClose(b.D(t), a.D(t), 1e-13);
        expectClose(c.D(t), a.D(t), 1e-7);
      }
    });

    it('is increasing in θ up to 1', () => {
      const d = makeDiffusivity(sed(), T);
      let prev = 0;
      for (let k = 1; k <= 1000; k++) {
        const v = d.D(k / 1000);
        expect(v).toBeGreaterThan(prev);
        prev = v;
      }
    });

    it('dD/dθ from eval matches central differences of D (no fall-off)', () => {
      const d = makeDiffusivity(sed(), T);
      const out = new Float64Array(2);
      for (const t of [1e-3, 0.01, 0.05, 0.09, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99]) {
        d.eval(t, out);
        expect(out[0]).toBe(d.D(t));
        expectClose(out[1], fdSlope(d.D, t), 1e-5);
      }
    });

    it('at θ ≥ 1 eval returns the left derivative at θ = 1 (documented choice)', () => {
      const d = makeDiffusivity(sed(), T);
      const h = 1e-4;
      // second-order one-sided (backward) difference at θ = 1
      const left = (3 * d.D(1) - 4 * d.D(1 - h) + d.D(1 - 2 * h)) / (2 * h);
      const out = new Float64Array(2);
      for (const t of [1, 1 + 1e-14, 1.3, 10]) {
        d.eval(t, out);
        expectClose(out[0], DB_LI, 1e-12);
        expectClose(out[1], left, 1e-5);
      }
      // and it is continuous with the slope just below 1
      d.eval(1 - 1e-9, out);
      const below = out[1];
      d.eval(1.5, out);
      expectClose(out[1], below, 1e-6);
    });
  });

  describe('SED fall-off F(θ)', () => {
    const withFall = makeDiffusivity(sed({ fall }), T);
    const noFall = makeDiffusivity(sed(), T);

    it('below θ_fall − w the fall-off is the full k_fall = 3 decades', () => {
      for (const t of [0.09, 0.085, 0.05, 0.01]) expectClose(withFall.D(t) / noFall.D(t), 1e-3, 1e-12);
    });

    it('halfway through the width, log10 F = −1.5', () => {
      expectClose(withFall.D(0.095) / noFall.D(0.095), Math.pow(10, -1.5), 1e-9);
      // linear in log10 over the width
      expectClose(withFall.D(0.0975) / noFall.D(0.0975), Math.pow(10, -0.75), 1e-9);
    });

    it('at θ ≥ θ_fall nothing changes', () => {
      for (const t of [0.1, 0.1000001, 0.2, 0.5, 1, 2]) expect(withFall.D(t)).toBe(noFall.D(t));
    });

    it('dD/dθ from eval matches central differences away from the kinks', () => {
      const out = new Float64Array(2);
      for (const t of [0.01, 0.05, 0.085, 0.0905, 0.093, 0.095, 0.0985, 0.0995, 0.101, 0.2, 0.6, 0.95]) {
        withFall.eval(t, out);
        expect(out[0]).toBe(withFall.D(t));
        expectClose(out[1], fdSlope(withFall.D, t, 1e-8), 1e-5);
      }
    });
  });

  describe('table model', () => {
    const model: DModel = { model: 'table', theta: [0.1, 0.5, 1], D_m2s: [1e-22, 1e-20, 1e-19], nref: 'stageStart', nref_floor: 0.01 };
    const d = makeDiffusivity(model, T);

    it('passes through the table points', () => {
      expectClose(d.D(0.1), 1e-22, 1e-12);
      expectClose(d.D(0.5), 1e-20, 1e-12);
      expectClose(d.D(1), 1e-19, 1e-12);
      expectClose(d.D1, 1e-19, 1e-12);
      expect(d.nref).toBe('stageStart');
    });

    it('interpolates linearly in ln D: midpoints are geometric means', () => {
      expectClose(d.D(0.3), Math.sqrt(1e-22 * 1e-20), 1e-12);
      expectClose(d.D(0.75), Math.sqrt(1e-20 * 1e-19), 1e-12);
      // a quarter of the way: D0^(3/4) D1^(1/4)
      expectClose(d.D(0.2), Math.pow(1e-22, 0.75) * Math.pow(1e-20, 0.25), 1e-12);
    });

    it('is clamped outside the table with zero slope', () => {
      const out = new Float64Array(2);
      for (const t of [0, 0.05, 0.1]) {
        d.eval(t, out);
        expectClose(out[0], 1e-22, 1e-12);
        expect(out[1]).toBe(0);
      }
      for (const t of [1, 1.5, 10]) {
        d.eval(t, out);
        expectClose(out[0], 1e-19, 1e-12);
        expect(out[1]).toBe(0);
      }
    });

    it('dD/dθ from eval matches central differences inside the segments', () => {
      const out = new Float64Array(2);
      for (const t of [0.12, 0.3, 0.45, 0.55, 0.8, 0.97]) {
        d.eval(t, out);
        expectClose(out[1], fdSlope(d.D, t), 1e-5);
      }
    });
  });
});

// ---------------------------------------------------------------------------
describe('solver/banded', () => {
  /** dense Gaussian elimination with partial pivoting (row-major copy of A) */
  function denseSolve(A: number[][], b: number[]): number[] {
    const n = b.length;
    const M = A.map((r) => r.slice());
    const x = b.slice();
    for (let k = 0; k < n; k++) {
      let p = k;
      for (let i = k + 1; i < n; i++) if (Math.abs(M[i][k]) > Math.abs(M[p][k])) p = i;
      [M[k], M[p]] = [M[p], M[k]];
      [x[k], x[p]] = [x[p], x[k]];
      for (let i = k + 1; i < n; i++) {
        const l = M[i][k] / M[k][k];
        if (l === 0) continue;
        for (let j = k; j < n; j++) M[i][j] -= l * M[k][j];
        x[i] -= l * x[k];
      }
    }
    for (let k = n - 1; k >= 0; k--) {
      let s = x[k];
      for (let j = k + 1; j < n; j++) s -= M[k][j] * x[j];
      x[k] = s / M[k][k];
    }
    return x;
  }

  /** random banded A (dense copy + BandMatrix) with small diagonals when `pivot` */
  function randomBand(rand: () => number, n: number, kl: number, ku: number, pivot: boolean) {
    const A: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    const m = new BandMatrix(n, kl, ku);
    m.zero();
    for (let j = 0; j < n; j++) {
      for (let i = Math.max(0, j - ku); i <= Math.min(n - 1, j + kl); i++) {
        let v = 2 * rand() - 1;
        if (i === j) {
          const dominant = v + (kl + ku + 1) * Math.sign(v || 1);
          // tiny diagonals force row swaps; a triangular matrix (kl = 0 or ku = 0) has det = Π diag, so there
          // only a few small ones keep it far from numerically singular (and kl = 0 cannot pivot at all)
          if (!pivot) v = dominant;
          else if (ku > 0 && kl > 0) v = 1e-9 * v;
          else v = j % 20 === 3 ? 1e-2 * v : dominant;
        }
        A[i][j] = v;
        m.add(i, j, v);
      }
    }
    return { A, m };
  }

  const normInf = (v: ArrayLike<number>) => Array.from(v).reduce((s, a) => Math.max(s, Math.abs(a)), 0);
  const matNormInf = (A: number[][]) => A.reduce((s, r) => Math.max(s, r.reduce((t, a) => t + Math.abs(a), 0)), 0);

  /** ‖A‖∞ ‖A⁻¹‖∞ with A⁻¹ from denseSolve */
  function condInf(A: number[][]): number {
    const n = A.length;
    const rowSums = new Array<number>(n).fill(0);
    for (let j = 0; j < n; j++) {
      const e = new Array<number>(n).fill(0);
      e[j] = 1;
      const col = denseSolve(A, e);
      for (let i = 0; i < n; i++) rowSums[i] += Math.abs(col[i]);
    }
    return matNormInf(A) * Math.max(...rowSums);
  }

  const shapes: Array<[number, number]> = [
    [1, 1],
    [4, 7],
    [3, 0],
    [0, 2],
  ];
  for (const [kl, ku] of shapes) {
    for (const n of [1, 5, 50]) {
      for (const pivot of [false, true]) {
        it(`kl=${kl} ku=${ku} n=${n}${pivot ? ' (small diagonal, needs pivoting)' : ''}: solves like dense GE`, () => {
          const rand = mulberry32(1000 * kl + 100 * ku + n + (pivot ? 7 : 0));
          let pivoted = false;
          for (let trial = 0; trial < 5; trial++) {
            const { A, m } = randomBand(rand, n, kl, ku, pivot);
            const b = Array.from({ length: n }, () => 2 * rand() - 1);
            expect(m.factor()).toBe(-1);
            const x = Float64Array.from(b);
            m.solve(x);
            // residual
            const r = A.map((row, i) => row.reduce((s, a, j) => s + a * x[j], 0) - b[i]);
            expect(normInf(r) / (matNormInf(A) * normInf(x))).toBeLessThan(1e-12);
            // agrees with dense elimination within what the conditioning allows (forward error ≤ κ · backward error)
            const xd = denseSolve(A, b);
            const kappa = condInf(A);
            if (Number.isFinite(kappa)) {
              const diff = xd.map((v, i) => v - x[i]);
              expect(normInf(diff) / normInf(xd)).toBeLessThan(Math.max(1e-13, 1e-13 * n * kappa));
            }
            if (pivot && kl > 0 && n > 1) pivoted ||= Array.from(m.ipiv).some((p, j) => p !== j);
          }
          if (pivot && kl > 0 && n > 1) expect(pivoted).toBe(true);
        });
      }
    }
  }

  it('factor() reports a zero column as singular (returns its index)', () => {
    const rand = mulberry32(42);
    for (const [kl, ku] of shapes) {
      for (const n of [1, 5, 50]) {
        for (const zc of [0, Math.floor(n / 2), n - 1]) {
          const { m } = randomBand(rand, n, kl, ku, false);
          for (let i = Math.max(0, zc - ku); i <= Math.min(n - 1, zc + kl); i++) m.ab[m.idx(i, zc)] = 0;
          expect(m.factor()).toBe(zc);
        }
      }
    }
  });
});

// ---------------------------------------------------------------------------
describe('solver/grid', () => {
  const oracle = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'paper-oracle.json'), 'utf8')) as {
    grid: { N: number; ratio_max_used: number; h_fine_nm: number; x_fine_nm: number; ratio_max: number };
    parameters: { L_m: number };
    stages: Array<{ depth_nm: number[] }>;
  };
  const L = oracle.parameters.L_m * 1e9;
  const g = makeGrid(L, oracle.grid.h_fine_nm, oracle.grid.x_fine_nm, oracle.grid.ratio_max);

  it('paper grid: the fixture inputs are those of the brief', () => {
    expectClose(L, 2.325e6, 1e-15);
    expect([oracle.grid.h_fine_nm, oracle.grid.x_fine_nm, oracle.grid.ratio_max]).toEqual([0.25, 150, 1.06]);
  });

  it('paper grid has the reference solver’s N and ratio', () => {
    expect(g.N).toBe(oracle.grid.N);
    expect(g.N).toBe(827);
    expectClose(g.ratio, oracle.grid.ratio_max_used, 1e-9);
    expect(g.ratio).toBeLessThanOrEqual(1.06);
    expect(g.L_nm).toBe(L);
  });

  it('faces run from 0 to exactly L; widths positive; centres inside their cells', () => {
    expect(g.faces.length).toBe(g.N + 1);
    expect(g.faces[0]).toBe(0);
    expect(g.faces[g.N]).toBe(L);
    for (let i = 0; i < g.N; i++) {
      expect(g.h[i]).toBeGreaterThanOrEqual(oracle.grid.h_fine_nm * (1 - 1e-12)); // no cell finer than the fine zone's
      expect(g.faces[i + 1]).toBeGreaterThan(g.faces[i]);
      expect(g.x[i]).toBeGreaterThan(g.faces[i]);
      expect(g.x[i]).toBeLessThan(g.faces[i + 1]);
      expectClose(g.faces[i + 1] - g.faces[i], g.h[i], 1e-9);
    }
    expect(g.d[0]).toBe(g.x[0]);
    expectClose(g.d[g.N], L - g.x[g.N - 1], 1e-15);
  });

  it('fine zone uniform at h_fine; neighbour ratios ≤ growth (last cell absorbs rounding)', () => {
    for (let i = 0; i < 600; i++) expectClose(g.h[i], 0.25, 1e-15);
    for (let i = 0; i < g.N - 2; i++) expect(g.h[i + 1] / g.h[i]).toBeLessThanOrEqual(1.06 + 1e-12);
    // the last cell differs from the geometric sequence only by rounding
    expectClose(g.h[g.N - 1] / g.h[g.N - 2], g.ratio, 1e-6);
  });

  it('cell centres equal the reference solver’s depths', () => {
    const ref = oracle.stages[0].depth_nm;
    expect(ref.length).toBe(g.N);
    // the fixture stores 10 significant digits: 1e-6 nm absolute, or the fixture's rounding (5e-10 relative) at depth
    for (let i = 0; i < g.N; i++) expectClose(g.x[i], ref[i], 5e-10, 1e-6);
  });

  it('impossible grids throw an InputError mentioning "grid"', () => {
    const bad: Array<[number, number, number, number]> = [
      [1000, 2, 1, 1.06], // h_fine > x_fine
      [100, 0.25, 100, 1.06], // x_fine = L
      [100, 0.25, 150, 1.06], // x_fine > L
      [1000, 0.25, 150, 1], // growth = 1
      [1000, 0.25, 150, 0.9], // growth < 1
      [0, 0.25, 150, 1.06], // L = 0
      [-5, 0.25, 150, 1.06], // L < 0
    ];
    for (const args of bad) {
      let err: unknown;
      try {
        makeGrid(...args);
      } catch (e) {
        err = e;
      }
      expect(err, `makeGrid(${args.join(', ')})`).toBeInstanceOf(InputError);
      expect((err as Error).message).toContain('grid');
    }
  });
});

// ---------------------------------------------------------------------------
describe('analysis/profiles', () => {
  /** Φ(z) by a composite Simpson integral of the Gaussian density (independent of src/physics/special). */
  function simpsonPhi(z: number): number {
    // Φ(z) = 1/2 + ∫_0^z φ(t) dt, composite Simpson with 20000 panels
    const n = 20000;
    const h = z / n;
    let s = 0;
    for (let k = 0; k <= n; k++) {
      const t = k * h;
      const w = k === 0 || k === n ? 1 : k % 2 ? 4 : 2;
      s += w * Math.exp(-0.5 * t * t);
    }
    return 0.5 + (s * h) / 3 / Math.sqrt(2 * Math.PI);
  }

  const uniformFaces = (n: number, h: number) => Float64Array.from({ length: n + 1 }, (_, i) => i * h);

  it('facesFromCentres inverts centres of a non-uniform grid', () => {
    const g = makeGrid(1e4, 0.5, 20, 1.1);
    const f = facesFromCentres(g.x);
    for (let i = 0; i <= g.N; i++) expectClose(f[i], g.faces[i], 1e-12, 1e-9);
  });

  it('blur preserves a constant profile, also next to the surface (mirror)', () => {
    const faces = uniformFaces(400, 0.25);
    const c = 0.37;
    const values = new Float64Array(400).fill(c);
    const at = [0, 0.01, 0.3, 1, 2, 5, 20, 50, 80];
    const out = blurProfile(faces, values, 1, at);
    for (const v of out) expectClose(v, c, 1e-12);
    // non-uniform cells too
    const g = makeGrid(1e4, 0.5, 20, 1.1);
    const out2 = blurProfile(g.faces, new Float64Array(g.N).fill(c), 1.5, [0, 0.7, 3, 19, 25, 100]);
    for (const v of out2) expectClose(v, c, 1e-12);
  });

  it('blur of a cell-aligned step far from the surface is 0.5 erfc((x − a)/(σ√2))', () => {
    const h = 0.25;
    const faces = uniformFaces(800, h);
    const a = 60; // a face (240 h)
    const values = Float64Array.from({ length: 800 }, (_, i) => (faces[i + 1] <= a ? 1 : 0));
    for (const sigma of [1, 2.5]) {
      const at: number[] = [];
      for (let x = 40; x <= 80; x += 0.37) at.push(x);
      const out = blurProfile(faces, values, sigma, at);
      for (let j = 0; j < at.length; j++) {
        const z = (at[j] - a) / sigma;
        const want = 0.5 * erfcRef(z / Math.SQRT2);
        expectClose(out[j], want, 0, 1e-9);
      }
    }
    /** erfc from an independent Simpson integral (valid to ~1e-13 here) */
    function erfcRef(u: number): number {
      return 2 * (1 - simpsonPhi(u * Math.SQRT2));
    }
  });

  it('risingFront / fallingFront interpolate linearly between centres', () => {
    const depth = [0, 1, 2, 3, 4];
    expectClose(risingFront(depth, [0, 0.2, 0.8, 1, 1]), 1.5, 1e-15);
    expectClose(risingFront(depth, [0, 0.1, 0.2, 0.6, 1], 0.3), 2.25, 1e-15);
    expectClose(fallingFront(depth, [1, 1, 0.9, 0.1, 0]), 2.5, 1e-15);
    expectClose(fallingFront([0, 2, 6], [1, 0.8, 0.0], 0.6), 3, 1e-15);
    // the first crossing wins
    expectClose(risingFront(depth, [0, 1, 0, 1, 1]), 0.5, 1e-15);
    // non-uniform depths
    expectClose(risingFront([0.5, 1.5, 4.5], [0.1, 0.3, 0.9]), 1.5 + (0.2 / 0.6) * 3, 1e-15);
  });

  it('fronts are NaN when there is no crossing', () => {
    const depth = [0, 1, 2, 3];
    expect(risingFront(depth, [0.6, 0.7, 0.9, 1])).toBeNaN();
    expect(risingFront(depth, [1, 0.7, 0.3, 0.1])).toBeNaN();
    expect(risingFront(depth, [0, 0.1, 0.2, 0.4])).toBeNaN();
    expect(fallingFront(depth, [0, 0.2, 0.6, 1])).toBeNaN();
    expect(fallingFront(depth, [1, 0.9, 0.8, 0.7])).toBeNaN();
    expect(risingFront([], [])).toBeNaN();
  });

  describe('compareProfiles', () => {
    const lambda = 2;
    const logistic = (x: number, xf: number) => 1 / (1 + Math.exp(-(x - xf) / lambda));
    const h = 0.1;
    const n = 2000; // 0 … 200 nm
    const depth = Float64Array.from({ length: n }, (_, i) => (i + 0.5) * h);
    const mk = (xf: number) => ({
      depth_nm: depth,
      density: {
        Li: Float64Array.from(depth, (x) => logistic(x, xf)),
        Rb: Float64Array.from(depth, (x) => 1 - logistic(x, xf)),
      },
    });

    it('a set compared with itself differs by 0', () => {
      const a = mk(40.03);
      const c = compareProfiles(a, a);
      expect(c.worst).toBe(0);
      expect(c.maxDiff.Li).toBe(0);
      expect(c.maxDiff.Rb).toBe(0);
      expect(c.front.diff).toBe(0);
      // linear interpolation of the logistic between centres 0.1 nm apart: error ≪ 1e-5 nm
      expectClose(c.front.a, 40.03, 0, 1e-5);
    });

    it('two shifted logistic profiles: front difference = shift, blurred max diff as integrated independently', () => {
      const a = mk(40.03);
      const b = mk(43.03);
      const c = compareProfiles(a, b);
      expect(c.front.species).toBe('Li');
      expectClose(c.front.a, 40.03, 0, 1e-5);
      expectClose(c.front.b, 43.03, 0, 1e-5);
      expectClose(c.front.diff, 3, 0, 1e-5);
      // independent: blurred logistic by direct Simpson quadrature of ∫ φ(u) f(|x − σu|) du (σ = 1)
      const blurred = (x: number, xf: number) => {
        const m = 4000;
        const U = 10;
        const du = (2 * U) / m;
        let s = 0;
        for (let k = 0; k <= m; k++) {
          const u = -U + k * du;
          const w = k === 0 || k === m ? 1 : k % 2 ? 4 : 2;
          s += w * Math.exp(-0.5 * u * u) * logistic(Math.abs(x - u), xf);
        }
        return (s * du) / 3 / Math.sqrt(2 * Math.PI);
      };
      let want = 0;
      for (let x = 2; x <= 150 + 1e-9; x += 0.1) want = Math.max(want, Math.abs(blurred(x, 40.03) - blurred(x, 43.03)));
      // cell-wise constant sampling (h = 0.1) vs the smooth profile: O(h² f'') ≈ 1e-4
      expectClose(c.maxDiff.Li, want, 0, 1e-3);
      expectClose(c.maxDiff.Rb, want, 0, 1e-3);
      expectClose(c.worst, Math.max(c.maxDiff.Li, c.maxDiff.Rb), 0, 0);
      // blurring (an average) cannot exceed the unblurred max difference tanh(shift / 4λ)
      expect(c.maxDiff.Li).toBeLessThan(Math.tanh(3 / (4 * lambda)) + 1e-12);
      // the largest difference sits between the two fronts
      expect(c.atDepth.Li).toBeGreaterThan(40);
      expect(c.atDepth.Li).toBeLessThan(43.1);
    });
  });
});

describe('numbers with units on the command line (src/config/units.ts)', () => {
  it('lengths in nm and sputter rates in nm/s, with or without a unit; anything else is NaN', async () => {
    const { lengthNm, rateNmPerS } = await import('../src/config/units.js');
    expect(lengthNm('250')).toBe(250);
    expect(lengthNm('250nm')).toBe(250);
    expect(lengthNm(' 0.25 um')).toBe(250);
    expect(lengthNm('0.25µm')).toBe(250);
    expect(lengthNm('25Å')).toBeCloseTo(2.5, 12);
    expect(lengthNm('2.5e2nm')).toBe(250);
    for (const bad of ['', 'nm', '250 parsec', '1,5', '250nmm']) expect(lengthNm(bad)).toBeNaN();
    expect(rateNmPerS('0.5')).toBe(0.5);
    expect(rateNmPerS('30nm/min')).toBeCloseTo(0.5, 12);
    expect(rateNmPerS('0.5 nm/s')).toBe(0.5);
    expect(rateNmPerS('0.5nm')).toBeNaN();
  });
});
