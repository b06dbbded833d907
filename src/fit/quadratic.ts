/**
 * The local quadratic model of a residual surface and the Δχ² = 1 intervals
 * it gives (platform-neutral, no Node imports).
 *
 * Coordinates are *scaled*: t = ln p on a log axis, t = p on a linear one,
 * and inside the fit further divided by a per-parameter length (the grid
 * spacing) so that the normal equations are well conditioned. With
 * SSR(t) ≈ c + gᵀu + ½ uᵀ A u (u = t − t0) and χ² = SSR / s², the profile
 * likelihood of parameter j (the others minimised) is
 * Δχ²(t_j) = (t_j − t*_j)² / (2 s² (A⁻¹)_jj), so Δχ² = 1 gives
 * t*_j ± √(2 s² (A⁻¹)_jj), t* = t0 − A⁻¹ g the minimum of the model.
 *
 * @example
 * const q = fitQuadratic(points, ssr, [0.1, 0.1]);       // points in scaled coordinates
 * const iv = quadraticIntervals(q, s2);                   // [[lo, hi], …] in scaled coordinates
 */
import { leastSquares, spdInverse } from '../core/linalg.js';

/** A fitted quadratic SSR(t) = c + gᵀ(t − t0) + ½ (t − t0)ᵀ A (t − t0) in scaled coordinates. */
export interface QuadraticModel {
  /** expansion point (scaled coordinates) */
  t0: number[];
  c: number;
  g: number[];
  /** Hessian of SSR in scaled coordinates (symmetric) */
  A: number[][];
  /** A is positive definite (a minimum) */
  positive: boolean;
  /** minimum t* = t0 − A⁻¹ g (only when positive) */
  tMin?: number[];
  /** SSR at t* (only when positive) */
  ssrMin?: number;
  /** A⁻¹ (only when positive) */
  Ainv?: number[][];
  /** points used and the weighted RMS misfit of the model to them (SSR units) */
  points: number;
  rms: number;
}

/**
 * Fit SSR(t) = c + gᵀu + ½ uᵀ A u, u = t − t0, to points (scaled coordinates)
 * by weighted least squares. `lengths` scale each coordinate inside the fit
 * (the grid spacing); `t0` defaults to the point of lowest SSR. Needs at
 * least 1 + d + d(d+1)/2 points in general position; returns undefined
 * otherwise.
 */
export function fitQuadratic(
  points: number[][],
  ssr: number[],
  lengths: number[],
  opts: { t0?: number[]; weights?: number[] } = {},
): QuadraticModel | undefined {
  const d = lengths.length;
  if (points.length === 0) return undefined;
  let iBest = 0;
  for (let i = 1; i < ssr.length; i++) if (ssr[i] < ssr[iBest]) iBest = i;
  const t0 = opts.t0 ?? points[iBest].slice();
  const pairs: [number, number][] = [];
  for (let a = 0; a < d; a++) for (let b = a; b < d; b++) pairs.push([a, b]);
  const X = points.map((t) => {
    const z = t.map((v, j) => (v - t0[j]) / lengths[j]);
    return [1, ...z, ...pairs.map(([a, b]) => (a === b ? 0.5 * z[a] * z[a] : z[a] * z[b]))];
  });
  const beta = leastSquares(X, ssr, opts.weights);
  if (!beta) return undefined;
  const c = beta[0];
  const g = lengths.map((L, j) => beta[1 + j] / L);
  const A = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  pairs.forEach(([a, b], k) => {
    const v = beta[1 + d + k] / (lengths[a] * lengths[b]);
    A[a][b] = v;
    A[b][a] = v;
  });
  let se = 0;
  let sw = 0;
  X.forEach((row, i) => {
    let f = 0;
    row.forEach((x, k) => (f += x * beta[k]));
    const w = opts.weights ? opts.weights[i] : 1;
    se += w * (f - ssr[i]) ** 2;
    sw += w;
  });
  const model: QuadraticModel = { t0, c, g, A, positive: false, points: points.length, rms: Math.sqrt(se / sw) };
  const Ainv = spdInverse(A);
  if (Ainv) {
    const step = Ainv.map((row) => -row.reduce((s, v, k) => s + v * g[k], 0));
    model.positive = true;
    model.Ainv = Ainv;
    model.tMin = t0.map((v, j) => v + step[j]);
    let q = 0;
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) q += step[a] * A[a][b] * step[b];
    let lin = 0;
    for (let a = 0; a < d; a++) lin += g[a] * step[a];
    model.ssrMin = c + lin + 0.5 * q;
  }
  return model;
}

/** Half-widths √(2 s² (A⁻¹)_jj) of the Δχ² = 1 profile intervals (scaled coordinates). */
export function quadraticHalfWidths(q: QuadraticModel, s2: number): number[] | undefined {
  if (!q.positive || !q.Ainv) return undefined;
  return q.Ainv.map((row, j) => Math.sqrt(2 * s2 * row[j]));
}

/** The Δχ² = 1 profile intervals [t*_j − δ_j, t*_j + δ_j] in scaled coordinates. */
export function quadraticIntervals(q: QuadraticModel, s2: number): [number, number][] | undefined {
  const h = quadraticHalfWidths(q, s2);
  if (!h || !q.tMin) return undefined;
  return h.map((d, j) => [q.tMin![j] - d, q.tMin![j] + d]);
}

/**
 * Where the profile of parameter j reaches Δχ² = 1 on the quadratic: the
 * point t* ± δ_j A⁻¹e_j / (A⁻¹)_jj (the others at their conditional minimum).
 */
export function profileEndpoints(q: QuadraticModel, s2: number, j: number): [number[], number[]] | undefined {
  const h = quadraticHalfWidths(q, s2);
  if (!h || !q.tMin || !q.Ainv) return undefined;
  const col = q.Ainv.map((row) => row[j] / q.Ainv![j][j]);
  const lo = q.tMin.map((v, k) => v - h[j] * col[k]);
  const hi = q.tMin.map((v, k) => v + h[j] * col[k]);
  return [lo, hi];
}

/**
 * The discrete profile of parameter j over evaluated points: per distinct
 * value of t_j (within `tol`), the minimum χ² over the others; the Δχ² = 1
 * crossings on each side of the lowest, linearly interpolated in t_j, or
 * null where the evaluated values never reach Δχ² = 1 on that side.
 */
export function discreteProfileInterval(
  points: number[][],
  chi2: number[],
  j: number,
  tol: number,
): { lo: number | null; hi: number | null; profile: { t: number; chi2: number }[] } {
  const order = points.map((_, i) => i).sort((a, b) => points[a][j] - points[b][j]);
  const profile: { t: number; chi2: number }[] = [];
  for (const i of order) {
    const t = points[i][j];
    const last = profile[profile.length - 1];
    if (last && Math.abs(t - last.t) <= tol) last.chi2 = Math.min(last.chi2, chi2[i]);
    else profile.push({ t, chi2: chi2[i] });
  }
  if (profile.length === 0) return { lo: null, hi: null, profile };
  let k0 = 0;
  for (let k = 1; k < profile.length; k++) if (profile[k].chi2 < profile[k0].chi2) k0 = k;
  const target = profile[k0].chi2 + 1;
  const cross = (a: { t: number; chi2: number }, b: { t: number; chi2: number }) =>
    a.t + ((target - a.chi2) / (b.chi2 - a.chi2)) * (b.t - a.t);
  let lo: number | null = null;
  for (let k = k0 - 1; k >= 0; k--)
    if (profile[k].chi2 >= target) {
      lo = cross(profile[k + 1], profile[k]);
      break;
    }
  let hi: number | null = null;
  for (let k = k0 + 1; k < profile.length; k++)
    if (profile[k].chi2 >= target) {
      hi = cross(profile[k - 1], profile[k]);
      break;
    }
  return { lo, hi, profile };
}
