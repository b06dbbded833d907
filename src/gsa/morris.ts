/**
 * Morris elementary effects (Morris 1991; μ* of Campolongo et al. 2007):
 * a screening of many parameters with r (k + 1) runs.
 *
 * Design. The unit cube is cut into p levels {0, 1/(p−1), …, 1} (p even,
 * default 4) and the step is Δ = p / (2 (p − 1)) (2/3 for p = 4). A
 * trajectory starts at a random grid point x* with every coordinate ≤ 1 − Δ,
 * then moves each parameter once, in a random order, by +Δ, or — for the
 * parameters given a random direction −1 — starts at x* + Δ and moves by −Δ.
 * Runs are ordered trajectory by trajectory, k + 1 each.
 *
 * Analysis. The elementary effect of parameter i on one step is
 * EE = (f(after) − f(before)) / (x_i(after) − x_i(before)), in units of the
 * output per unit of the parameter's range (the whole range = 1; a log
 * range counts in ln p). Per parameter over the r trajectories:
 * μ = mean EE, μ* = mean |EE|, σ = standard deviation of EE (n − 1); a step
 * with a non-finite value at either end is left out. μ*'s interval: the
 * effects resampled with replacement (bootstrap.ts). Platform-neutral.
 *
 * @example
 * const d = morrisDesign(8, 40, { seed: 3 });
 * const g = sobolG();
 * const m = morrisIndices(d, d.unit.map((u) => g.evaluate(u)));
 * m.mu_star; // decreasing with a_i: x1 (a = 0) first
 */
import { InputError } from '../core/errors.js';
import { mulberry32 } from '../core/random.js';
import { bootstrapSeed, DEFAULT_BOOTSTRAP, DEFAULT_CONF_LEVEL, finiteOrNull, resamples, sampleSd, zOfLevel } from './bootstrap.js';

/** Default number of grid levels. */
export const DEFAULT_LEVELS = 4;

export interface MorrisOptions {
  /** grid levels p, even, ≥ 2 (default 4) */
  levels?: number;
  /** seed of the trajectories (default 1) */
  seed?: number;
}

export interface MorrisDesign {
  method: 'morris';
  k: number;
  /** trajectories */
  r: number;
  levels: number;
  /** the step in the unit cube, p / (2 (p − 1)) */
  delta: number;
  seed: number;
  /** the runs' points in the unit cube, r (k + 1) rows of k */
  unit: Float64Array[];
  /** step s of trajectory t (t·k + s): the parameter that moved between runs t(k+1)+s and t(k+1)+s+1 */
  moved: Int32Array;
}

/** r Morris trajectories in k parameters (see the file comment). */
export function morrisDesign(k: number, r: number, opts: MorrisOptions = {}): MorrisDesign {
  const p = opts.levels ?? DEFAULT_LEVELS;
  const seed = opts.seed ?? 1;
  if (!(Number.isInteger(k) && k >= 1)) throw new InputError(`Morris screening needs at least one parameter (got ${k})`);
  if (!(Number.isInteger(r) && r >= 2)) throw new InputError(`--samples ${r}: Morris screening needs r >= 2 trajectories`);
  if (!(Number.isInteger(p) && p >= 2 && p % 2 === 0)) throw new InputError(`--levels ${p}: the number of Morris levels must be an even integer >= 2`);
  const delta = p / (2 * (p - 1));
  const rand = mulberry32(seed);
  const unit: Float64Array[] = [];
  const moved = new Int32Array(r * k);
  for (let t = 0; t < r; t++) {
    const x = new Float64Array(k);
    const dir = new Int8Array(k);
    for (let i = 0; i < k; i++) {
      const level = Math.floor(rand() * (p / 2)); // 0 .. p/2 − 1: x* ≤ 1 − Δ
      dir[i] = rand() < 0.5 ? -1 : 1;
      x[i] = level / (p - 1) + (dir[i] < 0 ? delta : 0);
    }
    const order = Array.from({ length: k }, (_, i) => i);
    for (let i = k - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    unit.push(Float64Array.from(x));
    order.forEach((i, s) => {
      x[i] += dir[i] * delta;
      // land exactly on the grid (no drift from the sums)
      x[i] = Math.round(x[i] * (p - 1)) / (p - 1);
      moved[t * k + s] = i;
      unit.push(Float64Array.from(x));
    });
  }
  return { method: 'morris', k, r, levels: p, delta, seed, unit, moved };
}

export interface MorrisIndices {
  /** elementary effects used per parameter (steps with finite values at both ends) */
  effects: number[];
  mu: (number | null)[];
  mu_star: (number | null)[];
  mu_star_conf: (number | null)[];
  sigma: (number | null)[];
}

/** The elementary effects of one output, per parameter (one per trajectory with both ends finite). */
export function elementaryEffects(d: MorrisDesign, y: ArrayLike<number>): number[][] {
  if (y.length !== d.r * (d.k + 1)) throw new Error(`morrisIndices: ${y.length} outputs for a design of ${d.r * (d.k + 1)} runs`);
  const ee: number[][] = Array.from({ length: d.k }, () => []);
  for (let t = 0; t < d.r; t++)
    for (let s = 0; s < d.k; s++) {
      const a = t * (d.k + 1) + s;
      const i = d.moved[t * d.k + s];
      const dx = d.unit[a + 1][i] - d.unit[a][i];
      const e = (y[a + 1] - y[a]) / dx;
      if (Number.isFinite(e)) ee[i].push(e);
    }
  return ee;
}

/** μ, μ*, σ and μ*'s bootstrap interval of one output `y` (one value per run of `d`, NaN where a run failed). */
export function morrisIndices(d: MorrisDesign, y: ArrayLike<number>, opts: { bootstrap?: number; level?: number; seed?: number } = {}): MorrisIndices {
  const ee = elementaryEffects(d, y);
  const B = opts.bootstrap ?? DEFAULT_BOOTSTRAP;
  const z = B >= 2 ? zOfLevel(opts.level ?? DEFAULT_CONF_LEVEL) : NaN;
  const meanAbs = (e: number[], idx?: Int32Array) => {
    const n = idx ? idx.length : e.length;
    let s = 0;
    for (let t = 0; t < n; t++) s += Math.abs(e[idx ? idx[t] : t]);
    return s / n;
  };
  const out: MorrisIndices = { effects: [], mu: [], mu_star: [], mu_star_conf: [], sigma: [] };
  ee.forEach((e, i) => {
    out.effects.push(e.length);
    out.mu.push(e.length ? finiteOrNull(e.reduce((s, v) => s + v, 0) / e.length) : null);
    out.mu_star.push(e.length ? finiteOrNull(meanAbs(e)) : null);
    out.sigma.push(finiteOrNull(sampleSd(e)));
    if (e.length >= 2 && B >= 2) {
      const reps = resamples(e.length, B, (bootstrapSeed(opts.seed ?? 1) + 7919 * (i + 1)) >>> 0).map((idx) => meanAbs(e, idx));
      out.mu_star_conf.push(finiteOrNull(z * sampleSd(reps)));
    } else out.mu_star_conf.push(null);
  });
  return out;
}
