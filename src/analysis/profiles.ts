/**
 * Comparing concentration depth profiles (docs/model.md §6.1): Gaussian blur
 * with a mirror at the surface, front depths, and the blurred max
 * difference of two solutions over a depth window.
 */
import { normCdf } from '../physics/special.js';

/** Cell faces (nm) reconstructed from cell centres (first face at 0). */
export function facesFromCentres(centres: ArrayLike<number>): Float64Array {
  const f = new Float64Array(centres.length + 1);
  for (let i = 0; i < centres.length; i++) f[i + 1] = 2 * centres[i] - f[i];
  return f;
}

/**
 * The cell-wise constant profile `values` (cells between `faces`, nm)
 * convolved with a Gaussian of standard deviation `sigma_nm`, mirrored at
 * the surface (x = 0), evaluated at the depths `at_nm`.
 */
export function blurProfile(faces: ArrayLike<number>, values: ArrayLike<number>, sigma_nm: number, at_nm: ArrayLike<number>): Float64Array {
  const out = new Float64Array(at_nm.length);
  const reach = 8 * sigma_nm;
  for (let j = 0; j < at_nm.length; j++) {
    const x = at_nm[j];
    let s = 0;
    for (let i = 0; i < values.length; i++) {
      const a = faces[i];
      const b = faces[i + 1];
      if (a > x + reach) break;
      // direct image and mirror image (−b … −a)
      let w = 0;
      if (b > x - reach) w += normCdf((b - x) / sigma_nm) - normCdf((a - x) / sigma_nm);
      if (a < reach - x) w += normCdf((b + x) / sigma_nm) - normCdf((a + x) / sigma_nm);
      s += w * values[i];
    }
    out[j] = s;
  }
  return out;
}

/**
 * Depth (nm) where a profile first rises through `level` going into the
 * sample (linear between cell centres); NaN if it never does.
 */
export function risingFront(depth: ArrayLike<number>, values: ArrayLike<number>, level = 0.5): number {
  for (let i = 1; i < values.length; i++) {
    const a = values[i - 1];
    const b = values[i];
    if (a < level && b >= level) return depth[i - 1] + ((level - a) / (b - a)) * (depth[i] - depth[i - 1]);
  }
  return NaN;
}

/** Depth (nm) where a profile first falls through `level` going into the sample; NaN if never. */
export function fallingFront(depth: ArrayLike<number>, values: ArrayLike<number>, level = 0.5): number {
  for (let i = 1; i < values.length; i++) {
    const a = values[i - 1];
    const b = values[i];
    if (a >= level && b < level) return depth[i - 1] + ((a - level) / (a - b)) * (depth[i] - depth[i - 1]);
  }
  return NaN;
}

/** Depth (nm) where a profile falls through `level` for the last time going into the sample (the deepest such crossing); NaN if never. */
export function lastFallingFront(depth: ArrayLike<number>, values: ArrayLike<number>, level: number): number {
  for (let i = values.length - 1; i >= 1; i--) {
    const a = values[i - 1];
    const b = values[i];
    if (a >= level && b < level) return depth[i - 1] + ((a - level) / (a - b)) * (depth[i] - depth[i - 1]);
  }
  return NaN;
}

export interface ProfileSet {
  depth_nm: ArrayLike<number>;
  density: Record<string, ArrayLike<number>>;
}

export interface Comparison {
  /** max |blurred a − blurred b| over the window, per species */
  maxDiff: Record<string, number>;
  /** depth of that maximum, per species */
  atDepth: Record<string, number>;
  /** the largest of maxDiff */
  worst: number;
  /** rising-front depth of `frontSpecies` in a and b, nm */
  front: { species: string; a: number; b: number; diff: number };
}

export interface CompareOptions {
  sigma_nm?: number;
  from_nm?: number;
  to_nm?: number;
  step_nm?: number;
  frontSpecies?: string;
  frontLevel?: number;
}

/** The comparison of docs/model.md §6.1: 1 nm blur, max over 2–150 nm, each species; fronts where Li rises through 0.5. */
export function compareProfiles(a: ProfileSet, b: ProfileSet, opts: CompareOptions = {}): Comparison {
  const sigma = opts.sigma_nm ?? 1;
  const from = opts.from_nm ?? 2;
  const to = opts.to_nm ?? 150;
  const step = opts.step_nm ?? 0.1;
  const at: number[] = [];
  for (let x = from; x <= to + 1e-9; x += step) at.push(x);
  const fa = facesFromCentres(a.depth_nm);
  const fb = facesFromCentres(b.depth_nm);
  const maxDiff: Record<string, number> = {};
  const atDepth: Record<string, number> = {};
  let worst = 0;
  for (const sp of Object.keys(a.density)) {
    if (!(sp in b.density)) continue;
    const ba = blurProfile(fa, a.density[sp], sigma, at);
    const bb = blurProfile(fb, b.density[sp], sigma, at);
    let m = 0;
    let where = NaN;
    for (let j = 0; j < at.length; j++) {
      const d = Math.abs(ba[j] - bb[j]);
      if (d > m) {
        m = d;
        where = at[j];
      }
    }
    maxDiff[sp] = m;
    atDepth[sp] = where;
    worst = Math.max(worst, m);
  }
  const fs = opts.frontSpecies ?? 'Li';
  const fa0 = risingFront(a.depth_nm, a.density[fs] ?? [], opts.frontLevel ?? 0.5);
  const fb0 = risingFront(b.depth_nm, b.density[fs] ?? [], opts.frontLevel ?? 0.5);
  return { maxDiff, atDepth, worst, front: { species: fs, a: fa0, b: fb0, diff: Math.abs(fa0 - fb0) } };
}
