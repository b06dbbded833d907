/**
 * The non-uniform finite-volume grid: uniform cells of h_fine over the first
 * x_fine, then cells growing geometrically (ratio ≤ growth) to the back
 * electrode. Lengths in nm.
 */
import { InputError } from '../core/errors.js';

export interface Grid {
  /** number of cells */
  N: number;
  /** cell widths, nm */
  h: Float64Array;
  /** cell centres, nm */
  x: Float64Array;
  /** faces, nm (N + 1: 0 … L) */
  faces: Float64Array;
  /** centre-to-centre distances, nm (N + 1): d[0] = x[0] (front face to first centre), d[N] = L − x[N−1] */
  d: Float64Array;
  /** the geometric ratio actually used */
  ratio: number;
  L_nm: number;
}

export const MAX_CELLS = 200000;

export function makeGrid(L_nm: number, h_fine_nm: number, x_fine_nm: number, growth: number): Grid {
  if (!(L_nm > 0) || !(h_fine_nm > 0) || !(x_fine_nm >= h_fine_nm) || !(x_fine_nm < L_nm) || !(growth > 1))
    throw new InputError(`grid: impossible grid (L = ${L_nm} nm, h_fine = ${h_fine_nm} nm, x_fine = ${x_fine_nm} nm, growth = ${growth})`);
  const nFine = Math.round(x_fine_nm / h_fine_nm);
  const hF = x_fine_nm / nFine;
  const rest = L_nm - x_fine_nm;
  // smallest M with hF (r + … + r^M) ≥ rest at r = growth
  const sumGeom = (r: number, M: number) => (hF * r * (Math.pow(r, M) - 1)) / (r - 1);
  let M = Math.max(1, Math.ceil(Math.log(1 + (rest * (growth - 1)) / (hF * growth)) / Math.log(growth)));
  while (sumGeom(growth, M) < rest) M++;
  if (nFine + M > MAX_CELLS) throw new InputError(`grid: ${nFine + M} cells is more than the ${MAX_CELLS} allowed`);
  // r in (1, growth] with hF (r + … + r^M) = rest (bisection; the sum is increasing in r)
  let lo = 1 + 1e-15;
  let hi = growth;
  if (hF * M >= rest) {
    // the coarse zone is no longer than M fine cells: uniform split
    lo = hi = 1;
  } else {
    for (let it = 0; it < 200; it++) {
      const mid = 0.5 * (lo + hi);
      if (sumGeom(mid, M) < rest) lo = mid;
      else hi = mid;
    }
  }
  const r = 0.5 * (lo + hi);
  const N = nFine + M;
  const h = new Float64Array(N);
  for (let i = 0; i < nFine; i++) h[i] = hF;
  if (r === 1) for (let k = 0; k < M; k++) h[nFine + k] = rest / M;
  else for (let k = 0; k < M; k++) h[nFine + k] = hF * Math.pow(r, k + 1);
  // absorb rounding into the last cell so the faces end exactly at L
  let s = 0;
  for (let i = 0; i < N - 1; i++) s += h[i];
  h[N - 1] = L_nm - s;
  const faces = new Float64Array(N + 1);
  const x = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    faces[i + 1] = faces[i] + h[i];
    x[i] = faces[i] + 0.5 * h[i];
  }
  faces[N] = L_nm;
  const d = new Float64Array(N + 1);
  d[0] = x[0];
  for (let i = 1; i < N; i++) d[i] = x[i] - x[i - 1];
  d[N] = L_nm - x[N - 1];
  return { N, h, x, faces, d, ratio: r, L_nm };
}
