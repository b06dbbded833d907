/**
 * The Sobol' low-discrepancy sequence (Bratley & Fox's Gray-code
 * construction) with Joe & Kuo's direction numbers (joe-kuo.ts), in up to
 * {@link JOE_KUO_DIMS} dimensions, optionally scrambled: a random linear
 * matrix scramble plus a random digital shift (Matoušek's scheme, as scipy's
 * `qmc.Sobol(scramble=True)` does it), reproducible from a seed. Scrambling
 * keeps the net structure (each block of 2^m points is balanced in every
 * dyadic box) while removing the point at the origin and making repeated
 * designs with different seeds independent randomisations.
 *
 * Points come in Gray-code order, the order of scipy's unscrambled
 * sequence (tests/gsa.test.ts compares them point for point). 32 bits per
 * coordinate; platform-neutral.
 *
 * @example
 * sobolPoints(4, 2, { scramble: false }); // [[0, 0], [0.5, 0.5], [0.75, 0.25], [0.25, 0.75]]
 * sobolPoints(1024, 6, { seed: 7 });      // 1024 scrambled points in [0, 1)^6
 */
import { InputError } from '../core/errors.js';
import { mulberry32 } from '../core/random.js';
import { JOE_KUO, JOE_KUO_DIMS } from './joe-kuo.js';

export { JOE_KUO_DIMS };

const BITS = 32;
const TWO32 = 4294967296;

export interface SobolOptions {
  /** linear matrix scramble + digital shift (default true) */
  scramble?: boolean;
  /** seed of the scramble, an integer in [0, 2^32) (default 1) */
  seed?: number;
  /** start at this index of the sequence (default 0) */
  skip?: number;
}

/** The 32 direction numbers v_0..v_31 (as uint32, v_j = m_{j+1} / 2^{j+1} scaled by 2^32) of each dimension. */
export function directionNumbers(dims: number): Uint32Array[] {
  if (!(Number.isInteger(dims) && dims >= 1 && dims <= JOE_KUO_DIMS))
    throw new InputError(`Sobol' sequence: ${dims} dimensions; the direction numbers cover 1 to ${JOE_KUO_DIMS}`);
  const out: Uint32Array[] = [];
  for (let d = 0; d < dims; d++) {
    const v = new Uint32Array(BITS);
    if (d === 0) {
      for (let j = 0; j < BITS; j++) v[j] = (1 << (BITS - 1 - j)) >>> 0;
    } else {
      const row = JOE_KUO[d - 1];
      const poly = row[0];
      const s = Math.floor(Math.log2(poly));
      const a = (poly >> 1) & ((1 << (s - 1)) - 1);
      for (let j = 0; j < s && j < BITS; j++) v[j] = (row[1 + j] << (BITS - 1 - j)) >>> 0;
      for (let j = s; j < BITS; j++) {
        let x = v[j - s] ^ (v[j - s] >>> s);
        for (let k = 1; k < s; k++) if ((a >> (s - 1 - k)) & 1) x ^= v[j - k];
        v[j] = x >>> 0;
      }
    }
    out.push(v);
  }
  return out;
}

/** Number of 1 bits of a 32-bit integer, mod 2. */
function parity(x: number): number {
  x ^= x >>> 16;
  x ^= x >>> 8;
  x ^= x >>> 4;
  x ^= x >>> 2;
  x ^= x >>> 1;
  return x & 1;
}

/**
 * Scramble the direction numbers in place and return the digital shifts:
 * per dimension a random lower-triangular binary matrix with a unit
 * diagonal acts on the binary digits (most significant first), so digit k
 * of a point depends on its digits 1..k only, then a random 32-bit XOR.
 */
function scramble(v: Uint32Array[], seed: number): Uint32Array {
  const rand = mulberry32(seed);
  const bits = () => Math.floor(rand() * TWO32) >>> 0;
  const shift = new Uint32Array(v.length);
  for (let d = 0; d < v.length; d++) {
    // row k (output digit k, bit 31 − k): input digits 0..k, digit k always
    const masks = new Uint32Array(BITS);
    for (let k = 0; k < BITS; k++) {
      const upper = k === 0 ? 0 : (bits() & ~((1 << (BITS - k)) - 1)) >>> 0; // random digits 0..k−1
      masks[k] = (upper | (1 << (BITS - 1 - k))) >>> 0;
    }
    for (let j = 0; j < BITS; j++) {
      let y = 0;
      for (let k = 0; k < BITS; k++) if (parity(v[d][j] & masks[k])) y |= 1 << (BITS - 1 - k);
      v[d][j] = y >>> 0;
    }
    shift[d] = bits();
  }
  return shift;
}

/**
 * `n` points of the (scrambled) Sobol' sequence in [0, 1)^dims, from index
 * `skip` on, as rows. Balanced designs take n a power of 2 (and skip a
 * multiple of it).
 */
export function sobolPoints(n: number, dims: number, opts: SobolOptions = {}): Float64Array[] {
  const skip = opts.skip ?? 0;
  if (!(Number.isInteger(n) && n >= 0)) throw new InputError(`Sobol' sequence: ${n} points is not a count`);
  if (!(Number.isInteger(skip) && skip >= 0 && skip + n <= TWO32)) throw new InputError(`Sobol' sequence: cannot skip ${skip} points`);
  const v = directionNumbers(dims);
  const shift = opts.scramble === false ? new Uint32Array(dims) : scramble(v, opts.seed ?? 1);
  // the state at index `skip`: XOR of v_j over the bits j of gray(skip)
  const x = new Uint32Array(dims);
  const g = (skip ^ (skip >>> 1)) >>> 0;
  for (let d = 0; d < dims; d++) {
    let s = shift[d];
    for (let j = 0; j < BITS; j++) if ((g >>> j) & 1) s ^= v[d][j];
    x[d] = s >>> 0;
  }
  const out: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    const row = new Float64Array(dims);
    for (let d = 0; d < dims; d++) row[d] = x[d] / TWO32;
    out.push(row);
    // next index: flip the direction number of the lowest zero bit of the current index
    let c = 0;
    let idx = skip + i;
    while (idx & 1) {
      idx = Math.floor(idx / 2);
      c++;
    }
    if (c >= BITS) break;
    for (let d = 0; d < dims; d++) x[d] = (x[d] ^ v[d][c]) >>> 0;
  }
  return out;
}
