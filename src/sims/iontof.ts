/**
 * IONTOF SurfaceLab ASCII depth-profile export: tab-separated, CRLF, trailing
 * tabs, `#` header lines — free comments (compression, smoothing), a line of
 * ion labels with or without mass numbers (7Li+, 133Cs+, Mo+, Na+, and
 * clusters such as CsMo+, kept as their own channels), a line of their
 * masses, and a line of column titles (`Sputter Time (s)` or `Depth (nm)`,
 * `Intensity(Background Corrected)`, raw `Intensity` or `Counts`) — then
 * data rows. A label sits above its intensity column or above the time
 * column of its (time, intensity) pair; the first time or depth column that
 * holds values is the axis (empty Depth columns are passed over), further
 * ones are ignored. A header line that starts `#<TAB>` has a placeholder
 * first cell: its second cell is above the first data column; `#Sputter Time
 * (s)` (no tab) starts with the first column.
 */
import { InputError } from '../core/errors.js';
import type { RawChannel, RawProfile } from './types.js';
import { axisOf, elementOf, isIonLabel, linesOf, readDataRows, type Lines, type SimsText } from './util.js';

function tabCells(line: string): string[] {
  const c = line.split('\t').map((s) => s.trim());
  while (c.length > 0 && c[c.length - 1] === '') c.pop();
  return c;
}

/** The cells of a `#` line, the first cell without its `#`. */
function headerCells(line: string): string[] {
  const c = tabCells(line);
  if (c.length) c[0] = c[0].replace(/^#\s*/, '');
  return c;
}

const INTENSITY = /(intensity|counts|cnts|signal)/i;

export function parseIontof(text: SimsText | Lines, where = 'input'): RawProfile {
  const lines = linesOf(text, where);
  let labelsLine = -1;
  let titlesLine = -1;
  let i = 0;
  const header: string[] = [];
  for (let l: string | undefined; (l = lines.at(i)) !== undefined; i++) {
    header.push(l);
    if (l.trim() === '') continue;
    if (!l.trimStart().startsWith('#')) break;
    const c = headerCells(l);
    const nonEmpty = c.filter((s) => s !== '');
    // a line of ion labels (7Li+, Mo+, CsMo+); a line of masses (all numbers) is skipped
    if (nonEmpty.length && nonEmpty.every(isIonLabel)) labelsLine = i;
    else if (c.some((s) => axisOf(s) !== undefined) && c.some((s) => INTENSITY.test(s))) titlesLine = i;
  }
  if (titlesLine < 0) throw new InputError(`${where}: missing column titles: no "#" line with "Sputter Time (s)" (or a depth) and "Intensity" columns`);
  if (labelsLine < 0) throw new InputError(`${where}: missing ion labels: no "#" line of ion labels such as 7Li+, Mo+ or CsMo+`);
  let titles = headerCells(header[titlesLine]);
  let labels = headerCells(header[labelsLine]);
  // `#<TAB>Sputter Time (s)<TAB>…`: the `#` cell is a placeholder, not a data column
  if (titles[0] === '') {
    titles = titles.slice(1);
    if (labels[0] === '') labels = labels.slice(1);
  }
  // the axis: the first time or depth column that holds values (an export may carry empty Depth columns)
  let firstRow: string | undefined;
  for (let k = i, l: string | undefined; firstRow === undefined && (l = lines.at(k)) !== undefined; k++) if (l.trim() !== '' && !l.trimStart().startsWith('#')) firstRow = l;
  const firstCells = firstRow === undefined ? [] : tabCells(firstRow);
  let axisCol = -1;
  let axis: ReturnType<typeof axisOf>;
  for (let j = 0; j < titles.length && axisCol < 0; j++) {
    const a = axisOf(titles[j]);
    if (a && (firstRow === undefined || (firstCells[j] ?? '') !== '')) {
      axisCol = j;
      axis = a;
    }
  }
  if (!axis) throw new InputError(`${where}: line ${titlesLine + 1}: missing column: no sputter-time or depth column${firstRow === undefined ? '' : ' with values'}`);
  const warnings: string[] = [];
  const channels: RawChannel[] = [];
  for (let j = 0; j < titles.length; j++) {
    if (!INTENSITY.test(titles[j])) continue;
    const label = labels[j] || (j > 0 ? labels[j - 1] : '') || '';
    if (!label) throw new InputError(`${where}: line ${labelsLine + 1}, column ${j + 1}: missing column label: no ion label above intensity column ${j + 1}`);
    channels.push({ label, column: j + 1, values: [] });
  }
  if (!channels.some((c) => elementOf(c.label) !== undefined))
    throw new InputError(`${where}: line ${titlesLine + 1}: missing column: no intensity column of a single-element ion (labels: ${channels.map((c) => c.label).join(', ') || 'none'})`);
  const need = Math.max(axisCol, ...channels.map((c) => c.column - 1)) + 1;
  const { axisVals, rowLines } = readDataRows({
    lines,
    start: i,
    split: tabCells,
    titles,
    need,
    needText: `need ${need}`,
    axisCol,
    axisFactor: axis.factor,
    channels,
    where,
    noRowsDetail: '',
    maxCells: titles.length,
  });
  return {
    format: 'iontof',
    axis: { kind: axis.kind, values: axisVals, title: titles[axisCol] },
    channels,
    lines: rowLines,
    normalized: false,
    params: {},
    warnings,
  };
}
