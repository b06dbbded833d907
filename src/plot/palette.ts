/**
 * The one species palette of every figure: the CLI's SVGs (src/plot,
 * src/plot/ensemble.ts) and the explorer page (src/web) give a species the
 * same colour, whatever the protocol's order. Okabe–Ito colours (safe for
 * the common colour-vision deficiencies); platform-neutral, no imports.
 *
 * @example
 * speciesColor('Li'); // '#0072B2' (blue), Rb vermillion, Cs bluish green
 */

/** Okabe–Ito: blue, vermillion, bluish green, reddish purple, orange, sky blue, yellow. */
export const CATEGORICAL = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#F0E442'];

/** Fixed colours of the species a CAIT glass meets: Li blue, Rb vermillion, Cs green, Na purple, K orange, Ag sky blue. */
const FIXED: Record<string, string> = { Li: CATEGORICAL[0], Rb: CATEGORICAL[1], Cs: CATEGORICAL[2], Na: CATEGORICAL[3], K: CATEGORICAL[4], Ag: CATEGORICAL[5] };

/** The colour of a species (any other name: a stable pick from the palette by its letters). */
export function speciesColor(species: string): string {
  const c = FIXED[species];
  if (c) return c;
  let h = 0;
  for (const ch of species) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return CATEGORICAL[h % CATEGORICAL.length];
}
