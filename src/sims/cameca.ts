/**
 * Cameca IMS `.dp_rpc_asc` export: header lines, then a
 * `*** DATA START ***` … `*** DATA END ***` block holding a line of species
 * (7Li, 133Cs, …) over column triplets `Time[mn]  Depth  I[cnt/s]` (each
 * species with its own time column), then parameter sections (EM dead time,
 * total sputtering time, mean sputter rate, crater depth) as `key : value`
 * or tab-separated lines.
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
import { InputError } from '../config/validate.js';
import type { FileParams, RawChannel, RawProfile } from './types.js';
import { checkIncreasing, checkNonNegative, elementOf, numberCell, splitLines } from './util.js';

const START = /\*\*\*\s*DATA START\s*\*\*\*/i;
const END = /\*\*\*\s*DATA END\s*\*\*\*/i;

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

export function parseCameca(text: string, where = 'input'): RawProfile {
  const lines = splitLines(text);
  const s = lines.findIndex((l) => START.test(l));
  if (s < 0) throw new InputError(`${where}: no "*** DATA START ***" line`);
  const e = lines.findIndex((l, k) => k > s && END.test(l));
  if (e < 0) throw new InputError(`${where}: line ${s + 1}: "*** DATA START ***" without "*** DATA END ***"`);
  let k = s + 1;
  while (k < e && lines[k].trim() === '') k++;
  const speciesLine = k + 1;
  const species = ws(lines[k] ?? '');
  k++;
  while (k < e && lines[k].trim() === '') k++;
  const titlesLine = k + 1;
  const titles = ws(lines[k] ?? '');
  k++;
  if (species.length === 0 || species.some((x) => /^[-+]?\d*\.?\d+(e[-+]?\d+)?$/i.test(x)))
    throw new InputError(`${where}: line ${speciesLine}: missing column: expected a line of species (7Li 133Cs …) after DATA START`);
  for (let j = 0; j < species.length; j++) {
    for (let m = 0; m < 3; m++) {
      const col = 3 * j + m;
      const t = titles[col];
      const ok = t !== undefined && (m === 0 ? /^time/i.test(t) : m === 1 ? /^depth/i.test(t) : /^i\b|^i\[|intens/i.test(t));
      if (!ok)
        throw new InputError(
          `${where}: line ${titlesLine}, column ${col + 1}: missing column: expected ${['Time[mn]', 'Depth', 'I[cnt/s]'][m]} for ${species[j]}, found ${t ?? 'nothing'}`,
        );
    }
  }
  const timeFactor = /\[(mn|min)\]/i.test(titles[0]) ? 60 : 1;
  const times: number[][] = species.map(() => []);
  const vals: number[][] = species.map(() => []);
  const rowLines: number[] = [];
  for (; k < e; k++) {
    if (lines[k].trim() === '') continue;
    const row = ws(lines[k]);
    const line = k + 1;
    if (row.length < 3 * species.length)
      throw new InputError(`${where}: line ${line}, column ${row.length + 1} (${titles[row.length]}): missing column (${row.length} cells, need ${3 * species.length})`);
    for (let j = 0; j < species.length; j++) {
      times[j].push(numberCell(row[3 * j], where, line, 3 * j + 1, `${titles[3 * j]} ${species[j]}`) * timeFactor);
      numberCell(row[3 * j + 1], where, line, 3 * j + 2, `Depth ${species[j]}`);
      const x = numberCell(row[3 * j + 2], where, line, 3 * j + 3, `${titles[3 * j + 2]} ${species[j]}`);
      checkNonNegative(x, where, line, 3 * j + 3, `${species[j]}`);
      vals[j].push(x);
    }
    rowLines.push(line);
  }
  if (rowLines.length === 0) throw new InputError(`${where}: no data rows between DATA START (line ${s + 1}) and DATA END (line ${e + 1})`);
  for (let j = 0; j < species.length; j++) checkIncreasing(times[j], rowLines, where, 3 * j + 1, `${titles[3 * j]} ${species[j]}`);
  const warnings: string[] = [];
  const t0 = times[0];
  const channels: RawChannel[] = [];
  for (let j = 0; j < species.length; j++) {
    if (elementOf(species[j]) === undefined) {
      warnings.push(`species ${species[j]} (column ${3 * j + 3}) is not a single element; ignored`);
      continue;
    }
    let outside = 0;
    const v = j === 0 ? vals[0].slice() : t0.map((t) => {
      if (t < times[j][0] || t > times[j][times[j].length - 1]) outside++;
      return interpLinear(times[j], vals[j], t);
    });
    if (outside > 0) warnings.push(`${species[j]}: ${outside} point(s) outside its own time range, end value held`);
    channels.push({ label: species[j], column: 3 * j + 3, values: v });
  }
  if (channels.length === 0) throw new InputError(`${where}: line ${speciesLine}: missing column: no species of a single element`);
  const params = parseParams(lines.slice(e + 1).concat(lines.slice(0, s)));
  return {
    format: 'cameca',
    axis: { kind: 'time_s', values: t0, title: `${titles[0]} ${species[0]}` },
    channels,
    lines: rowLines,
    normalized: false,
    params,
    warnings,
  };
}
