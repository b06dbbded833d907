/**
 * A small seeded PRNG, so that the same seed gives the same numbers on any
 * machine (32-bit integer arithmetic only): Latin hypercube designs
 * (src/sweep/lhs.ts) and the counting noise of synthetic SIMS data
 * (src/sims/synthetic.ts) draw from it.
 */

/**
 * mulberry32 (Tommy Ettinger, public domain): a 32-bit-state generator
 * returning uniform numbers in [0, 1) with 32 random bits each. Fast and
 * good enough for stratified sampling and noise; not for cryptography.
 *
 * @example
 * const rand = mulberry32(42);
 * rand(); // 0.6011037519201636, the same for every run with seed 42
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
