/**
 * Cameca IMS `.dp_rpc_asc` export: header lines, then a
 * `*** DATA START ***` … `*** DATA END ***` block — blank lines, possibly the
 * name of the raw data file (`XXX.dp`), a line of species (7Li, 133Cs, …;
 * tab-separated, with empty cells over the columns of each species) — over
 * column groups `Time[mn]  Depth  I[cnt/s]` (each species with its own time
 * column; the Depth column may be absent or empty: tab-separated rows keep
 * their empty cells), then parameter sections (EM dead time, total
 * sputtering time, mean sputter rate, crater depth) as `key : value` or
 * tab-separated lines. A species that names no single element (a cluster)
 * is kept as its own channel.
 *
 * The species are measured one after another within a cycle, so their time
 * columns differ: every species is resampled onto the FIRST species' time
 * axis by linear interpolation (beyond its own first/last time, its end value
 * is held, with a warning). The Depth columns are not used: depth comes from
 * --crater-depth / --sputter-rate or the crater depth of the parameter section.
 * Intensities are count rates (cnt/s). The EM dead time is returned in
 * params; processing applies the non-paralysable correction with it unless
 * told otherwise (--dead-time 0 when the export is already corrected).
 */
import { InputError } from '../core/errors.js';
import type { FileParams, RawChannel, RawProfile } from './types.js';
import { checkIncreasing, checkNonNegative, elementOf, isIonLabel, linesOf, numberCell, type Lines, type SimsText } from './util.js';

const START = /\*\*\*\s*DATA START\s*\*\*\*/i;
const END = /\*\*\*\s*DATA END\s*\*\*\*/i;
/** A section title line: `*** ANALYTICAL PARAMETERS ***` */
const SECTION = /^\s*\*\*\*.*\*\*\*\s*$/;

function ws(line: string): string[] {
  const t = line.trim();
  return t === '' ? [] : t.split(/\s+/);
}

/** Linear interpolation of (x, y) at xi, holding the end values outside. */
export function interpLinear(x: readonly number[], y: readonly number[], xi: number): number {
  const n = x.length;
  if (xi <= x[0]) return y[0];
  if (xi >= x[n - 1]) return y[n - 1];
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (x[mid] <= xi) lo = mid;
    else hi = mid;
  }
  const f = (xi - x[lo]) / (x[hi] - x[lo]);
  return y[lo] + f * (y[hi] - y[lo]);
}

/** A parameter value after `key` (`:`, `=` or tab separated) with its unit text. */
function paramValue(line: string): { value: number; rest: string } | undefined {
  const m = /[:=\t]\s*([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)\s*(.*)$/.exec(line);
  if (!m) return undefined;
  return { value: Number(m[1]), rest: m[2] ?? '' };
}

export function parseParams(lines: string[]): FileParams {
  const p: FileParams = {};
  for (const line of lines) {
    const key = line.toLowerCase();
    const v = paramValue(line);
    if (!v || !Number.isFinite(v.value)) continue;
    const unit = `${key.split(/[:=\t]/)[0]} ${v.rest.toLowerCase()}`;
    if (/dead\s*time/.test(key)) p.deadTime_ns = v.value;
    else if (/total sputter(ing)? time/.test(key)) p.totalTime_s = v.value * (/\b(mn|min)\b/.test(unit) ? 60 : 1);
    else if (/sputter(ing)? rate/.test(key)) p.sputterRate_nm_s = v.value * (/(å|angstrom|a\/s)/.test(unit) ? 0.1 : 1);
    else if (/crater depth/.test(key)) p.craterDepth_nm = v.value * (/(µm|μm|\bum\b|micron)/.test(unit) ? 1000 : /(å|angstrom)/.test(unit) ? 0.1 : 1);
  }
  return p;
}

/** The cells of a line: tab-separated (empty cells kept: an empty Depth column) when it has tabs, else split on runs of spaces; trailing empty cells dropped. */
function cellsOf(line: string): string[] {
  const c = line.includes('\t') ? line.split('\t').map((x) => x.trim()) : ws(line);
  while (c.length > 0 && c[c.length - 1] === '') c.pop();
  return c;
}

const TIME_TITLE = /^time/i;
const DEPTH_TITLE = /^depth/i;
const INTENSITY_TITLE = /^i\b|^i\s*\[|^i$|intens|cnt|c\/s/i;

/** A line of column titles: a time title and an intensity title. */
function isTitlesLine(cells: string[]): boolean {
  return cells.some((c) => TIME_TITLE.test(c)) && cells.some((c) => INTENSITY_TITLE.test(c) && !TIME_TITLE.test(c) && !DEPTH_TITLE.test(c));
}

/** Per species, the columns of its group: time, depth (optional) and intensity, 0-based. */
interface Group {
  time: number;
  depth?: number;
  intensity: number;
}

export function parseCameca(text: SimsText | Lines, where = 'input'): RawProfile {
  const lines = linesOf(text, where);
  // the header up to DATA START (kept: its parameter lines count too)
  const header: string[] = [];
  let s = 0;
  for (let l: string | undefined; ; s++) {
    l = lines.at(s);
    if (l === undefined) throw new InputError(`${where}: no "*** DATA START ***" line`);
    if (START.test(l)) break;
    header.push(l);
  }
  // after DATA START: blank lines, possibly the raw data file's name (XXX.dp), the species line, the titles line
  let t = s + 1;
  const endAt = (k: number) => {
    const l = lines.at(k);
    if (l === undefined) throw new InputError(`${where}: line ${s + 1}: "*** DATA START ***" without "*** DATA END ***"`);
    if (END.test(l)) return true;
    if (SECTION.test(l)) throw new InputError(`${where}: line ${s + 1}: "*** DATA START ***" without "*** DATA END ***" (line ${k + 1} begins another section)`);
    return false;
  };
  const before: number[] = [];
  for (; !endAt(t) && !isTitlesLine(cellsOf(lines.at(t)!)); t++) if (lines.at(t)!.trim() !== '') before.push(t);
  const speciesAt = before.length ? before[before.length - 1] : -1;
  const species = speciesAt >= 0 ? cellsOf(lines.at(speciesAt)!).filter((c) => c !== '') : [];
  if (species.length === 0 || species.some((x) => /^[-+]?\d*\.?\d+(e[-+]?\d+)?$/i.test(x)))
    throw new InputError(`${where}: line ${(speciesAt >= 0 ? speciesAt : s) + 1}: missing column: expected a line of species (7Li 133Cs …) after DATA START`);
  if (endAt(t)) {
    const at = speciesAt + 2 <= t ? speciesAt + 2 : t + 1;
    throw new InputError(`${where}: line ${at}, column 1: missing column: expected Time[mn] for ${species[0]}, found ${cellsOf(lines.at(at - 1) ?? '')[0] ?? 'nothing'}`);
  }
  const titlesLine = t + 1;
  const titles = cellsOf(lines.at(t)!);
  // the column groups: each starts with a time title, then an optional depth title, then the intensity title
  const groups: Group[] = [];
  for (let c = 0; c < titles.length; c++) {
    if (!TIME_TITLE.test(titles[c])) continue;
    const g: Group = { time: c, intensity: -1 };
    let d = c + 1;
    if (DEPTH_TITLE.test(titles[d] ?? '')) g.depth = d++;
    if (!(INTENSITY_TITLE.test(titles[d] ?? '') && !TIME_TITLE.test(titles[d] ?? '')))
      throw new InputError(`${where}: line ${titlesLine}, column ${d + 1}: missing column: expected I[cnt/s] for ${species[groups.length] ?? `group ${groups.length + 1}`}, found ${titles[d] || 'nothing'}`);
    g.intensity = d;
    groups.push(g);
    c = d;
  }
  if (groups.length !== species.length)
    throw new InputError(`${where}: line ${titlesLine}: ${groups.length} Time/I column group(s) for ${species.length} species (${species.join(', ')}) on line ${speciesAt + 1}`);
  const timeFactor = /\[(mn|min)\]|\((mn|min)\)/i.test(titles[groups[0].time]) ? 60 : 1;
  const times: number[][] = species.map(() => []);
  const vals: number[][] = species.map(() => []);
  const rowLines: number[] = [];
  const need = groups[groups.length - 1].intensity + 1;
  let e = t + 1;
  for (; !endAt(e); e++) {
    const raw = lines.at(e)!;
    lines.release(e);
    if (raw.trim() === '') continue;
    const k = e;
    const row = cellsOf(raw);
    const line = k + 1;
    if (row.length < need)
      throw new InputError(`${where}: line ${line}, column ${row.length + 1} (${titles[row.length]}): missing column (${row.length} cells, need ${need})`);
    if (row.length > titles.length)
      throw new InputError(`${where}: line ${line}, column ${titles.length + 1}: an extra cell (${row.length} cells, the titles have ${titles.length} columns)`);
    groups.forEach((g, j) => {
      times[j].push(numberCell(row[g.time], where, line, g.time + 1, `${titles[g.time]} ${species[j]}`) * timeFactor);
      // a Depth cell may be empty (exports without a depth calibration); when present it must be a number
      if (g.depth !== undefined && row[g.depth] !== '') numberCell(row[g.depth], where, line, g.depth + 1, `Depth ${species[j]}`);
      const x = numberCell(row[g.intensity], where, line, g.intensity + 1, `${titles[g.intensity]} ${species[j]}`);
      checkNonNegative(x, where, line, g.intensity + 1, `${species[j]}`);
      vals[j].push(x);
    });
    rowLines.push(line);
  }
  if (rowLines.length === 0) throw new InputError(`${where}: no data rows between DATA START (line ${s + 1}) and DATA END (line ${e + 1})`);
  groups.forEach((g, j) => checkIncreasing(times[j], rowLines, where, g.time + 1, `${titles[g.time]} ${species[j]}`));
  const warnings: string[] = [];
  const t0 = times[0];
  const channels: RawChannel[] = [];
  for (let j = 0; j < species.length; j++) {
    if (!isIonLabel(species[j])) {
      warnings.push(`species ${species[j]} (column ${groups[j].intensity + 1}) is not an ion label; ignored`);
      continue;
    }
    let outside = 0;
    const v = j === 0 ? vals[0].slice() : t0.map((x) => {
      if (x < times[j][0] || x > times[j][times[j].length - 1]) outside++;
      return interpLinear(times[j], vals[j], x);
    });
    if (outside > 0) warnings.push(`${species[j]}: ${outside} point(s) outside its own time range, end value held`);
    channels.push({ label: species[j], column: groups[j].intensity + 1, values: v });
  }
  if (!channels.some((c) => elementOf(c.label) !== undefined))
    throw new InputError(`${where}: line ${speciesAt + 1}: missing column: no species of a single element (${species.join(', ')})`);
  const params = parseParams(lines.from(e + 1).concat(header));
  return {
    format: 'cameca',
    axis: { kind: 'time_s', values: t0, title: `${titles[groups[0].time]} ${species[0]}` },
    channels,
    lines: rowLines,
    normalized: false,
    params,
    warnings,
  };
}
