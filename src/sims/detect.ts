/**
 * Format detection by content (never by file name):
 *  - a `*** DATA START ***` line → cameca;
 *  - leading `#` lines, tab separated, one of them with column titles such as
 *    `Sputter Time (s)` / `Intensity` → iontof;
 *  - a first non-comment line with a comma, semicolon or tab separated header
 *    that is not all numbers → csv;
 *  - anything else: an InputError naming the line.
 */
import { InputError } from '../config/validate.js';
import type { SimsFormat } from './types.js';
import { splitLines } from './util.js';

export function detectFormat(text: string, where = 'input'): SimsFormat {
  const lines = splitLines(text);
  if (lines.some((l) => /\*\*\*\s*DATA START\s*\*\*\*/i.test(l))) return 'cameca';
  let i = 0;
  while (i < lines.length && lines[i].trim() === '') i++;
  if (i >= lines.length) throw new InputError(`${where}: unknown format: the file is empty`);
  let sawHashTitles = false;
  let j = i;
  for (; j < lines.length && (lines[j].trim() === '' || lines[j].trimStart().startsWith('#')); j++) {
    const l = lines[j];
    if (l.includes('\t') && /(sputter\s*time|time\s*\(s\)|depth)/i.test(l) && /(intensity|counts)/i.test(l)) sawHashTitles = true;
  }
  if (sawHashTitles) return 'iontof';
  if (j < lines.length) {
    const h = lines[j];
    const cells = h.split(/[,;\t]/).map((s) => s.trim());
    if (cells.length >= 2 && cells.some((c) => c !== '' && !Number.isFinite(Number(c)))) return 'csv';
  }
  const line = j < lines.length ? j + 1 : i + 1;
  throw new InputError(
    `${where}: line ${line}, column 1: unknown format (not a CSV/TSV with a header, an IONTOF export with "#" column titles, or a Cameca file with "*** DATA START ***")`,
  );
}
