/**
 * docs/model.md §6.4, analytic checks of the f64 solver: erfc diffusion (with its
 * convergence order), Ohm's law, the binary travelling-wave front.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { BOLTZMANN, ELEMENTARY_CHARGE } from '../src/physics/constants.js';
import { erfc } from '../src/physics/special.js';
import { simulate } from '../src/solver/simulate.js';
import { parseProtocol } from '../src/config/validate.js';
import { binaryExchange, inventoryNm, layerNm, T_50C } from './helpers/protocols.js';

describe('pure diffusion from a reservoir (equal D, no field): erfc', () => {
  // Rb diffuses in from the reservoir. To isolate diffusion from the electric coupling (Rb entering
  // would otherwise have to push Li out through the back), εr is made huge: the space charge then
  // costs no potential, ψ stays 0 at U = 0 and Rb obeys ∂n/∂t = D ∂²n/∂x², n(0,t) = c_res = 1:
  // n = erfc(x / 2√(Dt)).
  const D = 1e-20; // m²/s = 0.01 nm²/s
  const t = 2500; // s → 2√(Dt) = 10 nm
  const run = (h: number) => {
    const p = binaryExchange({
      D_Li: D,
      D_Rb: D,
      U_V: 0,
      stop: { duration_s: t },
      thickness_m: 1e-6,
      grid: { h_fine_nm: h, x_fine_nm: 80, growth: 1.1 },
      rtol: 1e-7,
      atol: 1e-9,
    });
    p.sample.epsr = 1e12;
    const r = simulate(p);
    const s = r.stages[0];
    const Ldiff = 2 * Math.sqrt(D * 1e18 * t);
    let err = 0;
    s.depth_nm.forEach((x, i) => {
      if (x < 60) err = Math.max(err, Math.abs(s.density.Rb[i] - erfc(x / Ldiff)));
    });
    return { err, s, r, p };
  };
  let coarse: ReturnType<typeof run>;
  let fine: ReturnType<typeof run>;
  beforeAll(() => {
    coarse = run(0.5);
    fine = run(0.25);
    console.log(`erfc: max error ${coarse.err.toExponential(2)} (0.5 nm), ${fine.err.toExponential(2)} (0.25 nm)`);
  });

  it('matches erfc and converges at second order in the cell size', () => {
    expect(fine.err).toBeLessThan(2e-4);
    const order = Math.log2(coarse.err / fine.err);
    expect(order).toBeGreaterThan(1.8);
    expect(order).toBeLessThan(2.3);
  });

  it('stops at the requested duration and the inventory is 2√(Dt/π)', () => {
    expect(fine.s.duration_s).toBeCloseTo(t, 6);
    const inv = inventoryNm(fine.s, fine.r.grid.faces_nm, 'Rb');
    expect(Math.abs(inv / (2 * Math.sqrt((D * 1e18 * t) / Math.PI)) - 1)).toBeLessThan(1e-3);
    // Li feels no field and no gradient: it stays at 1
    const worst = Math.max(...fine.s.density.Li.map((v) => Math.abs(v - 1)));
    expect(worst).toBeLessThan(1e-6);
  });
});

describe("uniform slab with one species: Ohm's law", () => {
  it('I = σ U A / L once the dielectric transient has relaxed', () => {
    const D = 5.7e-19;
    const p = parseProtocol({
      sample: { thickness_m: 2.325e-3, area_m2: 28.26e-6, n0_m3: 1.38e28, epsr: 8 },
      species: { Li: { z: 1, initial: 1 } },
      grid: { h_fine_nm: 1, x_fine_nm: 20, growth: 1.2 },
      solver: { rtol: 1e-6, atol: 1e-8 },
      stages: [{ name: 'ohm', beam: 'Li', U_V: 15, T_K: T_50C, stop: { duration_s: 1 }, D: { Li: { model: 'constant', D_m2s: D } } }],
    });
    const s = simulate(p).stages[0];
    const sigma = (ELEMENTARY_CHARGE * ELEMENTARY_CHARGE * 1.38e28 * D) / (BOLTZMANN * T_50C);
    const I = (sigma * 15 * 28.26e-6) / 2.325e-3;
    expect(Math.abs(s.final_current_A / I - 1)).toBeLessThan(1e-4);
    const Iback = s.current.I_back_A[s.current.I_back_A.length - 1];
    expect(Math.abs(Iback / I - 1)).toBeLessThan(1e-4);
    // the density stays uniform
    expect(Math.max(...s.density.Li.map((v) => Math.abs(v - 1)))).toBeLessThan(1e-6);
  });
});

describe('binary exchange front: travelling wave (docs/model.md §6.4)', () => {
  // D_A = 2.67e-22 (Rb, entering), D_B = 5.7e-19 (Li), paper sample, 2.52 mC:
  // n_A = 1 / (1 + exp((x − x_f)/λ)), λ = D_A D_B / (v (D_B − D_A)), v = I/(e n0 A).
  const DA = 2.67e-22;
  const DB = 5.7e-19;
  const p = binaryExchange({ D_Li: DB, D_Rb: DA, U_V: 15, stop: { charge_C: 2.52e-3 } });
  let s: ReturnType<typeof simulate>['stages'][number];
  beforeAll(() => {
    s = simulate(p).stages[0];
  });

  it('has the logistic shape with λ = D_A D_B / (v (D_B − D_A)) to 2 %', () => {
    // least squares of ln(1/n − 1) = (x − x_f)/λ over 0.05 < n_Rb < 0.95
    const xs: number[] = [];
    const ys: number[] = [];
    s.depth_nm.forEach((x, i) => {
      const n = s.density.Rb[i];
      if (n > 0.05 && n < 0.95 && x > 10) {
        xs.push(x);
        ys.push(Math.log(1 / n - 1));
      }
    });
    const N = xs.length;
    const mx = xs.reduce((a, b) => a + b) / N;
    const my = ys.reduce((a, b) => a + b) / N;
    let sxy = 0;
    let sxx = 0;
    xs.forEach((x, i) => {
      sxy += (x - mx) * (ys[i] - my);
      sxx += (x - mx) ** 2;
    });
    const lambdaFit = sxx / sxy;
    const xf = mx - my * lambdaFit;
    const v = (s.final_current_A / (ELEMENTARY_CHARGE * 1.38e28 * 28.26e-6)) * 1e9; // nm/s
    const lambdaTh = (DA * DB * 1e18) / (v * (DB - DA));
    expect(lambdaTh).toBeGreaterThan(2.0); // docs/model.md §6.4: ≈ 2.10 nm
    expect(lambdaTh).toBeLessThan(2.2);
    console.log(`travelling wave: λ fit ${lambdaFit.toFixed(4)} nm, theory ${lambdaTh.toFixed(4)} nm, x_f ${xf.toFixed(3)} nm`);
    expect(Math.abs(lambdaFit / lambdaTh - 1)).toBeLessThan(0.02);
    // and the logistic itself, pointwise
    let worst = 0;
    s.depth_nm.forEach((x, i) => {
      if (x > 20 && x < 60) worst = Math.max(worst, Math.abs(s.density.Rb[i] - 1 / (1 + Math.exp((x - xf) / lambdaFit))));
    });
    expect(worst).toBeLessThan(5e-3);
    // the front sits where the delivered charge puts it (≈ 40 nm)
    expect(Math.abs(xf - layerNm(s.charge_C, p))).toBeLessThan(0.3);
  });

  it('delivers exactly the requested charge', () => {
    expect(Math.abs(s.charge_C / 2.52e-3 - 1)).toBeLessThan(1e-6);
  });
});
