/**
 * Numbers with an optional unit, as users type them on the command line:
 * `250`, `250nm`, `0.25 um`, `0.25µm` for lengths in nm; `0.5`, `0.5nm/s`,
 * `30nm/min` for sputter rates in nm/s. NaN when the text is not one.
 */
const LENGTH_NM: Record<string, number> = { '': 1, nm: 1, 'Å': 0.1, A: 0.1, um: 1e3, 'µm': 1e3, 'μm': 1e3 };
const RATE_NM_S: Record<string, number> = { '': 1, 'nm/s': 1, 'nm/min': 1 / 60, 'Å/s': 0.1, 'A/s': 0.1 };

function withUnit(text: string, units: Record<string, number>): number {
  const m = /^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S*)\s*$/.exec(text);
  if (!m || !(m[2] in units)) return NaN;
  return Number(m[1]) * units[m[2]];
}

/** A length in nm from `250`, `250nm`, `0.25um`, `25Å`; NaN otherwise. */
export function lengthNm(text: string): number {
  return withUnit(text, LENGTH_NM);
}

/** A sputter rate in nm/s from `0.5`, `0.5nm/s`, `30nm/min`; NaN otherwise. */
export function rateNmPerS(text: string): number {
  return withUnit(text, RATE_NM_S);
}
