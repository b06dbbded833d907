/**
 * Format detection by content (never by file name):
 *  - a `*** DATA START ***` line → cameca;
 *  - leading `#` lines, tab separated, one of them with column titles such as
 *    `Sputter Time (s)` / `Intensity` → iontof;
 *  - a first non-comment line with a comma, semicolon or tab separated header
 *    that is not all numbers → csv;
 *  - anything else: an InputError naming the line.
 */
import { InputError } from '../core/errors.js';
import type { SimsFormat } from './types.js';
import { linesOf, type Lines, type SimsText } from './util.js';

/** Lines looked at for a `*** DATA START ***` (a Cameca header is a few dozen lines). */
const CAMECA_HEADER_LINES = 5000;

export function detectFormat(text: SimsText | Lines, where = 'input'): SimsFormat {
  const lines = linesOf(text, where);
  for (let k = 0; k < CAMECA_HEADER_LINES; k++) {
    const l = lines.at(k);
    if (l === undefined) break;
    if (/\*\*\*\s*DATA START\s*\*\*\*/i.test(l)) return 'cameca';
  }
  let i = 0;
  while (lines.at(i) !== undefined && lines.at(i)!.trim() === '') i++;
  if (lines.at(i) === undefined) throw new InputError(`${where}: unknown format: the file is empty`);
  let sawHashTitles = false;
  let j = i;
  for (let l: string | undefined; (l = lines.at(j)) !== undefined && (l.trim() === '' || l.trimStart().startsWith('#')); j++) {
    if (l.includes('\t') && /(sputter\s*time|time\s*\(s\)|depth)/i.test(l) && /(intensity|counts)/i.test(l)) sawHashTitles = true;
  }
  if (sawHashTitles) return 'iontof';
  const h = lines.at(j);
  if (h !== undefined) {
    const cells = h.split(/[,;\t]/).map((s) => s.trim());
    if (cells.length >= 2 && cells.some((c) => c !== '' && !Number.isFinite(Number(c)))) return 'csv';
  }
  const line = h !== undefined ? j + 1 : i + 1;
  throw new InputError(
    `${where}: line ${line}, column 1: unknown format (not a CSV/TSV with a header, an IONTOF export with "#" column titles, or a Cameca file with "*** DATA START ***")`,
  );
}
