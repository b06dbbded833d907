/**
 * Plain CSV/TSV (comma, semicolon or tab): optional `#` comment lines, a
 * header, then data rows. One column is the axis (a sputter time — `time_s`,
 * `Sputter Time (s)`, `time (min)` — or a depth — `depth_nm`, `Depth (um)`);
 * the others are mass channels (6Li, 7Li, 85Rb, 133Cs+, Li+: a mass number
 * or a charge) or bare elements (Li, Rb, Cs: an already normalized profile);
 * a channel that names no single element (CsMo+, or CsMo in a normalized
 * file) is kept as its own. Other columns are ignored with a warning.
 */
// the browser build of csv-parse (its own Buffer shim): the same module runs in Node and in the page
import { parse } from 'csv-parse/browser/esm/sync';
import { InputError } from '../core/errors.js';
import type { RawChannel, RawProfile } from './types.js';
import { axisOf, elementOf, hasMass, isIonLabel, linesOf, MAX_COLUMNS, NORMALIZED_NEGATIVE_TOLERANCE, readDataRows, type Lines, type SimsText } from './util.js';

export function delimiterOf(header: string): string {
  if (header.includes('\t')) return '\t';
  if (header.includes(';') && !header.includes(',')) return ';';
  return ',';
}

/**
 * The cells of one line, split by csv-parse (a quoted cell may hold the
 * delimiter: "time, s"), trimmed, trailing empty cells dropped. A malformed
 * line (an unclosed quote) is an InputError naming line and column.
 */
function cells(line: string, delim: string, where: string, lineNo: number): string[] {
  if (!line.includes('"')) {
    // no quotes: a plain split (csv-parse per line would cost ~30× more on a file of millions of rows)
    const c = line.split(delim).map((x) => x.trim());
    while (c.length > 0 && c[c.length - 1] === '') c.pop();
    return c;
  }
  let rec: string[][];
  try {
    rec = parse(line, { delimiter: delim, trim: true, relax_column_count: true, relax_quotes: true }) as string[][];
  } catch (e) {
    const col = (e as { column?: number }).column;
    throw new InputError(`${where}: line ${lineNo}${col !== undefined ? `, column ${col + 1}` : ''}: ${(e as Error).message.replace(/ at line \d+$/, '')}`);
  }
  const c = rec[0] ?? [];
  while (c.length > 0 && c[c.length - 1] === '') c.pop();
  return c;
}

export function parseCsv(text: SimsText | Lines, where = 'input'): RawProfile {
  const lines = linesOf(text, where);
  let h = 0;
  for (let l: string | undefined; (l = lines.at(h)) !== undefined && (l.trim() === '' || l.trimStart().startsWith('#')); h++) lines.release(h);
  const header = lines.at(h);
  if (header === undefined) throw new InputError(`${where}: no header line (the file has only comments or is empty)`);
  const delim = delimiterOf(header);
  const columns = header.split(delim).length;
  if (columns > MAX_COLUMNS) throw new InputError(`${where}: line ${h + 1}: ${columns} columns, more than ${MAX_COLUMNS}: not a SIMS depth profile`);
  const titles = cells(header, delim, where, h + 1);
  const headerLine = h + 1;
  const warnings: string[] = [];
  let axisCol = -1;
  let axis: { kind: 'time_s' | 'depth_nm'; factor: number } | undefined;
  for (let j = 0; j < titles.length; j++) {
    const a = axisOf(titles[j]);
    if (a && !isIonLabel(titles[j])) {
      axisCol = j;
      axis = a;
      break;
    }
  }
  if (!axis) throw new InputError(`${where}: line ${headerLine}: missing column: no sputter-time or depth column (e.g. time_s, "Sputter Time (s)", depth_nm) among ${titles.join(', ')}`);
  const chanCols: number[] = [];
  const ignored: number[] = [];
  for (let j = 0; j < titles.length; j++) {
    if (j === axisCol) continue;
    if (isIonLabel(titles[j])) chanCols.push(j);
    else ignored.push(j);
  }
  if (ignored.length)
    warnings.push(
      `${ignored.length === 1 ? 'column' : `${ignored.length} columns`} ${ignored
        .slice(0, 10)
        .map((j) => `${j + 1} (${titles[j] || 'untitled'})`)
        .join(', ')}${ignored.length > 10 ? ', …' : ''} ${ignored.length === 1 ? 'is' : 'are'} not a mass channel or element; ignored`,
    );
  if (!chanCols.some((j) => elementOf(titles[j]) !== undefined))
    throw new InputError(`${where}: line ${headerLine}: missing column: no mass-channel (7Li, 133Cs+) or element (Li, Cs) column`);
  const masses = chanCols.filter((j) => hasMass(titles[j])).length;
  if (masses !== 0 && masses !== chanCols.length)
    throw new InputError(`${where}: line ${headerLine}: mixes mass channels and element columns (${chanCols.map((j) => titles[j]).join(', ')})`);
  const normalized = masses === 0;
  const channels: RawChannel[] = chanCols.map((j) => ({ label: titles[j], column: j + 1, values: [] }));
  const { axisVals, rowLines, clamped } = readDataRows({
    lines,
    start: h + 1,
    split: (raw, line) => cells(raw, delim, where, line),
    titles,
    need: titles.length,
    needText: `header has ${titles.length}`,
    axisCol,
    axisFactor: axis.factor,
    channels,
    where,
    noRowsDetail: ` (line ${headerLine})`,
    normalized,
    maxCells: titles.length,
  });
  if (clamped > 0) warnings.push(`${clamped} normalized value(s) slightly below 0 (round-off, ≥ −${NORMALIZED_NEGATIVE_TOLERANCE}) read as 0`);
  return {
    format: 'csv',
    axis: { kind: axis.kind, values: axisVals, title: titles[axisCol] },
    channels,
    lines: rowLines,
    normalized,
    params: {},
    warnings,
  };
}
