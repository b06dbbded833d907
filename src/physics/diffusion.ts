/**
 * Concentration-dependent diffusion coefficients (docs/model.md §4), f64.
 *
 * θ = n / n_ref. Every model is compiled into a `Diffusivity` that returns
 * D(θ) in m²/s and dD/dθ (for the Newton Jacobian). The WGSL engine gets
 * the same function as a table sampled from `Diffusivity.D`.
 */
import type { DModel } from '../config/schema.js';
import { kT_eV } from './constants.js';
import { normInv, normPdf } from './special.js';

/** Smallest θ at which the SED is evaluated; below it D(θ) = D(THETA_FLOOR). */
export const THETA_FLOOR = 1e-30;

export interface Diffusivity {
  /** D(θ), m²/s */
  D(theta: number): number;
  /** D(θ) into out[0] and dD/dθ into out[1] */
  eval(theta: number, out: Float64Array): void;
  /** reference density of θ: n0 (`bulk`) or the local density at the stage start (`stageStart`) */
  readonly nref: 'bulk' | 'stageStart';
  /** with `stageStart`: the smallest reference density (n/n0) */
  readonly nrefFloor: number;
  /** D at θ = 1, m²/s */
  readonly D1: number;
  /** true if D does not depend on θ */
  readonly constant: boolean;
}

/** SED standard deviation σ (eV) from a width given with its convention and the filling f. */
export function sedSigma(width: { convention: 'sigma' | 'gamma' | 'fwhmPopulated'; value_eV: number }, f: number): number {
  switch (width.convention) {
    case 'sigma':
      return width.value_eV;
    case 'gamma':
      return width.value_eV / Math.SQRT2;
    case 'fwhmPopulated': {
      const s = Math.sqrt(2 * Math.LN2) + normInv(f);
      if (!(s > 0)) throw new RangeError('fwhmPopulated needs Φ⁻¹(f) > -√(2 ln 2)');
      return width.value_eV / s;
    }
  }
}

/** FWHM (eV) of the populated part of a Gaussian SED of width σ cut at the Fermi level (f filled). */
export function populatedFwhm(sigma_eV: number, f: number): number {
  const xf = normInv(f);
  const h = Math.sqrt(2 * Math.LN2);
  // populated part: energies below E_F, E_F at Φ⁻¹(f) σ above the centre; half maximum at ±h σ
  return xf < h ? sigma_eV * (h + xf) : 2 * h * sigma_eV;
}

/** D_bulk (m²/s) of an SED model's bulk spec at temperature T. */
export function bulkD(bulk: { D_m2s: number } | { D0_m2s: number; Ea_eV: number }, T_K: number): number {
  return 'D_m2s' in bulk ? bulk.D_m2s : bulk.D0_m2s * Math.exp(-bulk.Ea_eV / kT_eV(T_K));
}

function constantD(D: number): Diffusivity {
  return {
    D: () => D,
    eval: (_t, out) => {
      out[0] = D;
      out[1] = 0;
    },
    nref: 'bulk',
    nrefFloor: 1,
    D1: D,
    constant: true,
  };
}

/** Compile a D model at temperature T_K. */
export function makeDiffusivity(model: DModel, T_K: number): Diffusivity {
  switch (model.model) {
    case 'constant':
      return constantD(model.D_m2s);
    case 'arrhenius':
      return constantD(model.D0_m2s * Math.exp(-model.Ea_eV / kT_eV(T_K)));
    case 'sed':
      return sedDiffusivity(model, T_K);
    case 'table':
      return tableDiffusivity(model.theta, model.D_m2s, model.nref, model.nref_floor);
  }
}

function sedDiffusivity(model: Extract<DModel, { model: 'sed' }>, T_K: number): Diffusivity {
  const kT = kT_eV(T_K);
  const Db = bulkD(model.bulk, T_K);
  const sigma = sedSigma(model.width, model.f);
  const f = model.f;
  const xf = normInv(f);
  const s = sigma / kT;
  const dD1 = (Db * s * f) / normPdf(xf);
  const fall = model.fall;
  const thF = fall ? fall.theta : 0;
  const kLn = fall ? fall.decades * Math.LN10 : 0;
  const w = fall ? fall.width : 1;
  const evalInto = (theta: number, out: Float64Array) => {
    let t = Math.max(theta, THETA_FLOOR);
    let D: number;
    let dD: number;
    if (t >= 1) {
      // D(θ ≥ 1) = D_bulk; the slope returned is the left one at θ = 1. Only the Newton Jacobian uses
      // dD/dθ, and bulk cells sit at θ = 1 ± roundoff: a slope jumping to 0 there makes Newton 2-cycle.
      t = 1;
      D = Db;
      dD = dD1;
    } else {
      const x = normInv(f * t);
      // ΔE = σ (x_f − x);  D = D_b exp(−ΔE/kT);  dD/dθ = D σ f / (φ(x) kT)
      D = Db * Math.exp(-s * (xf - x));
      const pdf = normPdf(x);
      dD = pdf > 0 ? (D * s * f) / pdf : 0;
    }
    if (theta < THETA_FLOOR) dD = 0;
    if (fall && t < thF) {
      const u = (thF - t) / w;
      if (u >= 1) {
        const F = Math.exp(-kLn);
        D *= F;
        dD *= F;
      } else {
        const F = Math.exp(-kLn * u);
        // d/dθ [D_sed F] = dD_sed F + D_sed F (kLn / w)
        dD = dD * F + D * F * (kLn / w);
        D *= F;
      }
    }
    out[0] = D;
    out[1] = dD;
  };
  const tmp = new Float64Array(2);
  return {
    D: (theta) => {
      evalInto(theta, tmp);
      return tmp[0];
    },
    eval: evalInto,
    nref: model.nref,
    nrefFloor: model.nref_floor,
    D1: Db,
    constant: false,
  };
}

function tableDiffusivity(theta: number[], Ds: number[], nref: 'bulk' | 'stageStart', nrefFloor: number): Diffusivity {
  const th = Float64Array.from(theta);
  const lnD = Float64Array.from(Ds, Math.log);
  const n = th.length;
  const evalInto = (t: number, out: Float64Array) => {
    if (t <= th[0]) {
      out[0] = Math.exp(lnD[0]);
      out[1] = 0;
      return;
    }
    if (t >= th[n - 1]) {
      out[0] = Math.exp(lnD[n - 1]);
      out[1] = 0;
      return;
    }
    let lo = 0;
    let hi = n - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (th[mid] <= t) lo = mid;
      else hi = mid;
    }
    const slope = (lnD[hi] - lnD[lo]) / (th[hi] - th[lo]);
    const D = Math.exp(lnD[lo] + slope * (t - th[lo]));
    out[0] = D;
    out[1] = D * slope;
  };
  const tmp = new Float64Array(2);
  const D1 = (() => {
    evalInto(1, tmp);
    return tmp[0];
  })();
  return {
    D: (t) => {
      evalInto(t, tmp);
      return tmp[0];
    },
    eval: evalInto,
    nref,
    nrefFloor,
    D1,
    constant: false,
  };
}
