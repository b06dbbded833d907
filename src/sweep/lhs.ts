/**
 * Latin hypercube designs with a small seeded PRNG, so that the same seed
 * always gives the same design (on any machine: the generator uses 32-bit
 * integer arithmetic only: src/core/random.ts).
 */
import { mulberry32 } from '../core/random.js';

/**
 * A Latin hypercube of `n` points in the unit cube [0,1)^`dims`: along every
 * dimension each of the n strata [k/n, (k+1)/n) holds exactly one point.
 * Returned as rows (points) × columns (dimensions).
 *
 * Draw order (fixed, so designs are reproducible): for each dimension in
 * turn, a Fisher–Yates shuffle of the strata 0..n-1 (n-1 draws, from the
 * end), then one uniform offset within its stratum per point (n draws);
 * point i of dimension j is (perm_j[i] + offset) / n.
 *
 * @example
 * const u = latinHypercube(4, 2, 1);
 * u.map((row) => Math.floor(row[0] * 4)).sort(); // [0, 1, 2, 3]
 */
export function latinHypercube(n: number, dims: number, seed: number): number[][] {
  const rand = mulberry32(seed);
  const out = Array.from({ length: n }, () => new Array<number>(dims));
  for (let j = 0; j < dims; j++) {
    const perm = Array.from({ length: n }, (_, k) => k);
    for (let k = n - 1; k > 0; k--) {
      const r = Math.floor(rand() * (k + 1));
      [perm[k], perm[r]] = [perm[r], perm[k]];
    }
    for (let i = 0; i < n; i++) out[i][j] = (perm[i] + rand()) / n;
  }
  return out;
}
