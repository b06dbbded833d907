/**
 * Bootstrap helpers of the sensitivity estimators: seeded resampling with
 * replacement, the sample standard deviation, and the half-width of a
 * normal confidence interval. An index's `_conf` is z · SD of its bootstrap
 * replicates, z = Φ⁻¹(1/2 + level/2) (1.96 for 95 %): the estimate ± conf
 * is the interval (the convention of SALib, so numbers compare directly).
 * Platform-neutral.
 */
import { InputError } from '../core/errors.js';
import { normInv } from '../physics/special.js';
import { mulberry32 } from '../core/random.js';

/** Default number of bootstrap resamples. */
export const DEFAULT_BOOTSTRAP = 1000;
/** Default confidence level of the intervals. */
export const DEFAULT_CONF_LEVEL = 0.95;

/** The seed of the resampling derived from a study's seed (its design uses the seed itself). */
export function bootstrapSeed(seed: number): number {
  return (seed ^ 0x5bd1e995) >>> 0;
}

/** z of a two-sided normal interval of `level` (0.95 → 1.96). */
export function zOfLevel(level: number): number {
  if (!(level > 0 && level < 1)) throw new InputError(`confidence level ${level}: must be between 0 and 1 (e.g. 0.95)`);
  return normInv(0.5 + level / 2);
}

/**
 * `count` resamples of `n` indices drawn with replacement from 0..n−1,
 * reproducible from `seed`.
 */
export function resamples(n: number, count: number, seed: number): Int32Array[] {
  const rand = mulberry32(seed);
  const out: Int32Array[] = [];
  for (let b = 0; b < count; b++) {
    const idx = new Int32Array(n);
    for (let t = 0; t < n; t++) idx[t] = Math.floor(rand() * n);
    out.push(idx);
  }
  return out;
}

/** Sample standard deviation (n − 1 in the denominator) of the finite values; NaN with fewer than 2. */
export function sampleSd(values: ArrayLike<number>): number {
  let n = 0;
  let mean = 0;
  let m2 = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    n++;
    const d = v - mean;
    mean += d / n;
    m2 += d * (v - mean);
  }
  return n >= 2 ? Math.sqrt(m2 / (n - 1)) : NaN;
}

/** A number, or null when it is not finite (JSON has no NaN). */
export function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
