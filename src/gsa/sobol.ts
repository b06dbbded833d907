/**
 * Variance-based (Sobol') sensitivity indices: Saltelli's sampling scheme
 * and the Saltelli (2010) / Jansen (1999) estimators, with bootstrap
 * confidence intervals.
 *
 * Design. Two N × k matrices A and B are the first and the last k
 * coordinates of N points of a 2k-dimensional Sobol' sequence (scrambled
 * from a seed, or plain, skipping the first N' points where N' is the power
 * of two at or above N, as SALib does). AB_i is A with column i taken from
 * B; with second-order indices also BA_i (B with column i from A). Model
 * runs are ordered per base row j: A_j, AB_1j … AB_kj, [BA_1j … BA_kj], B_j —
 * N (k + 2) runs, or N (2k + 2) with second order.
 *
 * Estimators (f centred by its mean over A and B; V the variance of the f(A)
 * and f(B) values together):
 *   S1_i  = mean(f(B) (f(AB_i) − f(A))) / V                   (Saltelli et al. 2010)
 *   ST_i  = mean((f(A) − f(AB_i))²) / (2V)                     (Jansen 1999)
 *   S2_ij = mean(f(BA_i) f(AB_j) − f(A) f(B)) / V − S1_i − S1_j (Saltelli 2002)
 * A base row with a non-finite value in any of its runs (a failed member, a
 * front that does not exist) is left out of that output's estimates; the
 * number of rows used is reported. Intervals: the base rows are resampled
 * with replacement (bootstrap.ts). Platform-neutral.
 *
 * @example
 * const d = saltelliDesign(3, 1024, { seed: 1 });
 * const f = ishigami();
 * const y = d.unit.map((u) => f.evaluate(u.map((v) => -Math.PI + 2 * Math.PI * v)));
 * sobolIndices(d, y).S1; // ≈ [0.314, 0.442, 0.000]
 */
import { InputError } from '../core/errors.js';
import { bootstrapSeed, DEFAULT_BOOTSTRAP, DEFAULT_CONF_LEVEL, finiteOrNull, resamples, sampleSd, zOfLevel } from './bootstrap.js';
import { sobolPoints } from './sobol-sequence.js';

export interface SaltelliOptions {
  /** also the BA_i blocks for second-order indices */
  secondOrder?: boolean;
  /** scramble the Sobol' points (default true) */
  scramble?: boolean;
  /** seed of the scramble (default 1) */
  seed?: number;
}

export interface SaltelliDesign {
  method: 'sobol';
  /** parameters */
  k: number;
  /** base samples (rows of A and B) */
  N: number;
  secondOrder: boolean;
  scramble: boolean;
  seed: number;
  /** runs per base row: k + 2, or 2k + 2 */
  blocks: number;
  /** the runs' points in the unit cube, N · blocks rows of k */
  unit: Float64Array[];
}

/** Smallest power of two ≥ n. */
export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Saltelli's design for k parameters and N base samples (see the file comment). */
export function saltelliDesign(k: number, N: number, opts: SaltelliOptions = {}): SaltelliDesign {
  if (!(Number.isInteger(k) && k >= 1)) throw new InputError(`Sobol' indices need at least one parameter (got ${k})`);
  if (!(Number.isInteger(N) && N >= 2)) throw new InputError(`--samples ${N}: Sobol' indices need N >= 2 base samples`);
  const secondOrder = !!opts.secondOrder;
  const scramble = opts.scramble !== false;
  const seed = opts.seed ?? 1;
  const base = sobolPoints(N, 2 * k, { scramble, seed, skip: scramble ? 0 : nextPow2(N) });
  const blocks = secondOrder ? 2 * k + 2 : k + 2;
  const unit: Float64Array[] = [];
  for (const p of base) {
    const A = p.subarray(0, k);
    const B = p.subarray(k, 2 * k);
    unit.push(Float64Array.from(A));
    for (let i = 0; i < k; i++) {
      const ab = Float64Array.from(A);
      ab[i] = B[i];
      unit.push(ab);
    }
    if (secondOrder)
      for (let i = 0; i < k; i++) {
        const ba = Float64Array.from(B);
        ba[i] = A[i];
        unit.push(ba);
      }
    unit.push(Float64Array.from(B));
  }
  return { method: 'sobol', k, N, secondOrder, scramble, seed, blocks, unit };
}

/** What run `r` of a design is: its base row, block and (for AB/BA) the parameter swapped. */
export function saltelliRun(d: SaltelliDesign, r: number): { row: number; block: 'A' | 'AB' | 'BA' | 'B'; param?: number } {
  const row = Math.floor(r / d.blocks);
  const b = r % d.blocks;
  if (b === 0) return { row, block: 'A' };
  if (b === d.blocks - 1) return { row, block: 'B' };
  if (b <= d.k) return { row, block: 'AB', param: b - 1 };
  return { row, block: 'BA', param: b - 1 - d.k };
}

export interface SobolIndices {
  /** base rows used (those with every run finite) */
  rows: number;
  /** mean and variance of the output over the A and B runs of those rows */
  mean: number | null;
  variance: number | null;
  S1: (number | null)[];
  S1_conf: (number | null)[];
  ST: (number | null)[];
  ST_conf: (number | null)[];
  /** with second order: S2[i][j] for i < j, null elsewhere */
  S2?: (number | null)[][];
  S2_conf?: (number | null)[][];
}

export interface AnalysisOptions {
  /** bootstrap resamples (default 1000; 0 = no intervals) */
  bootstrap?: number;
  /** confidence level of the intervals (default 0.95) */
  level?: number;
  /** the study's seed; the resampling uses bootstrapSeed(seed) (default 1) */
  seed?: number;
  /** resamples to reuse (from {@link resamples}), e.g. shared by many outputs with the same rows */
  shared?: Int32Array[];
}

/** Per-block values of one output, rows × (A, AB_1..k, BA_1..k, B), centred; only rows with all values finite. */
interface Blocks {
  n: number;
  fA: Float64Array;
  fB: Float64Array;
  fAB: Float64Array[];
  fBA: Float64Array[];
  mean: number;
}

function blocksOf(d: SaltelliDesign, y: ArrayLike<number>): Blocks {
  if (y.length !== d.N * d.blocks) throw new Error(`sobolIndices: ${y.length} outputs for a design of ${d.N * d.blocks} runs`);
  const keep: number[] = [];
  for (let j = 0; j < d.N; j++) {
    let ok = true;
    for (let b = 0; b < d.blocks && ok; b++) ok = Number.isFinite(y[j * d.blocks + b]);
    if (ok) keep.push(j);
  }
  const n = keep.length;
  let mean = 0;
  for (const j of keep) mean += y[j * d.blocks] + y[j * d.blocks + d.blocks - 1];
  mean = n ? mean / (2 * n) : NaN;
  const col = (b: number) => Float64Array.from(keep, (j) => y[j * d.blocks + b] - mean);
  return {
    n,
    fA: col(0),
    fB: col(d.blocks - 1),
    fAB: Array.from({ length: d.k }, (_, i) => col(1 + i)),
    fBA: d.secondOrder ? Array.from({ length: d.k }, (_, i) => col(1 + d.k + i)) : [],
    mean,
  };
}

interface Estimate {
  V: number;
  S1: Float64Array;
  ST: Float64Array;
  S2?: Float64Array[];
}

/** The estimators over the rows `idx` (all rows when absent). */
function estimate(bl: Blocks, k: number, secondOrder: boolean, idx?: Int32Array): Estimate {
  const n = idx ? idx.length : bl.n;
  const at = idx ? (t: number) => idx[t] : (t: number) => t;
  let s = 0;
  let s2 = 0;
  for (let t = 0; t < n; t++) {
    const r = at(t);
    s += bl.fA[r] + bl.fB[r];
    s2 += bl.fA[r] * bl.fA[r] + bl.fB[r] * bl.fB[r];
  }
  const m = s / (2 * n);
  const V = s2 / (2 * n) - m * m;
  const S1 = new Float64Array(k);
  const ST = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    const ab = bl.fAB[i];
    let a1 = 0;
    let aT = 0;
    for (let t = 0; t < n; t++) {
      const r = at(t);
      const d = ab[r] - bl.fA[r];
      a1 += bl.fB[r] * d;
      aT += d * d;
    }
    S1[i] = a1 / n / V;
    ST[i] = aT / (2 * n) / V;
  }
  if (!secondOrder) return { V, S1, ST };
  let ab0 = 0;
  for (let t = 0; t < n; t++) {
    const r = at(t);
    ab0 += bl.fA[r] * bl.fB[r];
  }
  const S2: Float64Array[] = [];
  for (let i = 0; i < k; i++) {
    const row = new Float64Array(k).fill(NaN);
    for (let j = i + 1; j < k; j++) {
      let v = 0;
      for (let t = 0; t < n; t++) {
        const r = at(t);
        v += bl.fBA[i][r] * bl.fAB[j][r];
      }
      row[j] = (v - ab0) / n / V - S1[i] - S1[j];
    }
    S2.push(row);
  }
  return { V, S1, ST, S2 };
}

/** Relative variance below which an output counts as constant (indices undefined). */
const CONSTANT = 1e-24;

/**
 * First-order, total and (if the design has them) second-order indices of
 * one output `y` (one value per run of `d`, NaN where a run failed), with
 * bootstrap intervals. An output that does not vary gets null indices.
 */
export function sobolIndices(d: SaltelliDesign, y: ArrayLike<number>, opts: AnalysisOptions = {}): SobolIndices {
  const bl = blocksOf(d, y);
  const k = d.k;
  const nulls = () => new Array<number | null>(k).fill(null);
  const nullMatrix = () => Array.from({ length: k }, () => new Array<number | null>(k).fill(null));
  const out: SobolIndices = { rows: bl.n, mean: finiteOrNull(bl.mean), variance: null, S1: nulls(), S1_conf: nulls(), ST: nulls(), ST_conf: nulls() };
  if (d.secondOrder) {
    out.S2 = nullMatrix();
    out.S2_conf = nullMatrix();
  }
  if (bl.n < 2) return out;
  const est = estimate(bl, k, d.secondOrder);
  out.variance = est.V;
  if (!(est.V > CONSTANT * Math.max(1, bl.mean * bl.mean))) return out;
  out.S1 = Array.from(est.S1, finiteOrNull);
  out.ST = Array.from(est.ST, finiteOrNull);
  if (est.S2) out.S2 = est.S2.map((row, i) => Array.from(row, (v, j) => (j > i ? finiteOrNull(v) : null)));
  const B = opts.bootstrap ?? DEFAULT_BOOTSTRAP;
  if (B < 2) return out;
  const z = zOfLevel(opts.level ?? DEFAULT_CONF_LEVEL);
  const idx = opts.shared?.length && opts.shared[0].length === bl.n ? opts.shared : resamples(bl.n, B, bootstrapSeed(opts.seed ?? 1));
  const reps = idx.map((r) => estimate(bl, k, d.secondOrder, r));
  const conf = (f: (e: Estimate) => number) => finiteOrNull(z * sampleSd(reps.map(f)));
  out.S1_conf = Array.from({ length: k }, (_, i) => conf((e) => e.S1[i]));
  out.ST_conf = Array.from({ length: k }, (_, i) => conf((e) => e.ST[i]));
  if (d.secondOrder) out.S2_conf = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => (j > i ? conf((e) => e.S2![i][j]) : null)));
  return out;
}
