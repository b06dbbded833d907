/** Shared helpers of the SIMS parsers: line splitting, number cells, axis titles, channel labels, data rows. */
import { InputError } from '../core/errors.js';
import type { RawChannel } from './types.js';

/** The text of a SIMS file: a string, or its pieces in order (a large file read chunk by chunk, never whole). */
export type SimsText = string | Iterable<string>;

/** Columns of a tabular export at most (a SIMS export has tens to hundreds). */
export const MAX_COLUMNS = 10_000;

/** Lines longer than this are refused: a SIMS export's header or row is a few kB; a 50 MB "line" is not a profile. */
export const MAX_LINE_CHARS = 1 << 20;

/**
 * The lines of a text (LF or CRLF ends, a leading byte-order mark dropped),
 * read forwards as the parsers ask for them: `at(i)` is line i + 1 (0-based
 * index), reading ahead as needed; `release(i)` forgets the lines before i.
 * A parser keeps only the lines it still looks at, so a file given in pieces
 * is parsed with memory proportional to what is kept, not to its size; a
 * line longer than MAX_LINE_CHARS is an InputError (before it is split).
 */
export class Lines {
  private readonly pieces: Iterator<string>;
  private rest = '';
  private done = false;
  private buf: string[] = [];
  /** index of buf[0] */
  private base = 0;
  private first = true;

  constructor(
    text: SimsText,
    private readonly where = 'input',
  ) {
    this.pieces = (typeof text === 'string' ? [text] : text)[Symbol.iterator]();
  }

  /** Read one more line into the buffer; false at the end. */
  private fill(): boolean {
    for (;;) {
      const nl = this.rest.indexOf('\n');
      if (nl >= 0 || this.done) {
        if (nl < 0 && this.rest === '') return false;
        let line = nl >= 0 ? this.rest.slice(0, nl) : this.rest;
        this.rest = nl >= 0 ? this.rest.slice(nl + 1) : '';
        if (nl < 0) this.done = true;
        if (line.endsWith('\r')) line = line.slice(0, -1);
        if (line.length > MAX_LINE_CHARS)
          throw new InputError(`${this.where}: line ${this.base + this.buf.length + 1} is longer than ${MAX_LINE_CHARS} characters: not a SIMS depth profile`);
        if (this.first) {
          if (line.charCodeAt(0) === 0xfeff) line = line.slice(1);
          this.first = false;
        }
        this.buf.push(line);
        return true;
      }
      if (this.rest.length > MAX_LINE_CHARS)
        throw new InputError(`${this.where}: line ${this.base + this.buf.length + 1} is longer than ${MAX_LINE_CHARS} characters: not a SIMS depth profile`);
      const next = this.pieces.next();
      if (next.done) this.done = true;
      else this.rest += next.value;
    }
  }

  /** Line i + 1 (0-based i), or undefined past the end. */
  at(i: number): string | undefined {
    if (i < this.base) throw new Error(`line ${i + 1} was already released`);
    while (i - this.base >= this.buf.length) if (!this.fill()) return undefined;
    return this.buf[i - this.base];
  }

  /** Lines held now (read ahead and not released). */
  get buffered(): number {
    return this.buf.length;
  }

  /** Forget the lines before index i (they are not looked at again). */
  release(i: number): void {
    const k = Math.min(i - this.base, this.buf.length);
    if (k > 0) {
      this.buf.splice(0, k);
      this.base += k;
    }
  }

  /** The lines from index i to the end (the tail of a file: a few parameter lines). */
  from(i: number): string[] {
    const out: string[] = [];
    for (let k = i; this.at(k) !== undefined; k++) out.push(this.at(k)!);
    return out;
  }
}

/** A Lines reader of a text (a given Lines is passed through). */
export function linesOf(text: SimsText | Lines, where = 'input'): Lines {
  return text instanceof Lines ? text : new Lines(text, where);
}

/** A cell as a finite number, or an InputError naming the line and column. */
export function numberCell(cell: string | undefined, where: string, line: number, column: number, title: string): number {
  const s = (cell ?? '').trim();
  if (s === '') throw new InputError(`${where}: line ${line}, column ${column} (${title}): empty cell`);
  const x = Number(s);
  if (!Number.isFinite(x)) throw new InputError(`${where}: line ${line}, column ${column} (${title}): "${s}" is not a number`);
  return x;
}

/** The chemical element symbols (Z = 1 … 118). */
const ELEMENTS = new Set(
  (
    'H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr ' +
    'Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu ' +
    'Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr ' +
    'Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og'
  ).split(' '),
);

/** A single-element ion: optional mass number, an element symbol, optional charge (7Li+, 133Cs, Li, 85Rb-, Mo+). */
const SINGLE = /^(\d+)?([A-Z][a-z]?)([+-]\d*)?$/;

/**
 * Any ion a SIMS channel can name: optional mass number, one or more element
 * symbols with counts, optional charge (7Li+, CsMo+, Li2O+, 133Cs2+, 16O133Cs2, C2H3-).
 */
const ION = /^(\d+)?((?:[A-Z][a-z]?\d*)+)([+-]\d*)?$/;

/** The element of a channel label (7Li+ → Li, 133Cs → Cs, Mo+ → Mo), or undefined when it names no known element alone (CsO+, Li2O, Xx+). */
export function elementOf(label: string): string | undefined {
  const m = SINGLE.exec(label.trim());
  return m && ELEMENTS.has(m[2]) ? m[2] : undefined;
}

/** True when the label is an ion formula a SIMS export can carry as a channel (an element or a cluster such as CsMo+). */
export function isIonLabel(label: string): boolean {
  const t = label.trim();
  return ION.test(t) && !/^\d+$/.test(t);
}

/**
 * The channel a label feeds: its element (isotopes are summed into it), or —
 * for a label that names no known element alone (a cluster such as CsMo+) —
 * the label itself without its charge, kept as its own channel.
 */
export function channelOf(label: string): { key: string; element: boolean } | undefined {
  const t = label.trim();
  const el = elementOf(t);
  if (el !== undefined) return { key: el, element: true };
  const m = ION.exec(t);
  return m && !/^\d+$/.test(t) ? { key: `${m[1] ?? ''}${m[2]}`, element: false } : undefined;
}

/** True when the label carries a mass number or a charge (a mass channel: 7Li, Li+, CsMo+), not a bare element column (Li). */
export function hasMass(label: string): boolean {
  const m = ION.exec(label.trim());
  return !!m && (m[1] !== undefined || m[3] !== undefined);
}

/** Axis kind and factor to s or nm from a column title, or undefined when it is no axis. */
export function axisOf(title: string): { kind: 'time_s' | 'depth_nm'; factor: number } | undefined {
  const t = title.trim().toLowerCase();
  if (/depth/.test(t)) {
    if (/(µm|μm|um\b|_um$|\[um\]|\(um\))/.test(t)) return { kind: 'depth_nm', factor: 1000 };
    if (/(å|angstrom)/.test(t)) return { kind: 'depth_nm', factor: 0.1 };
    return { kind: 'depth_nm', factor: 1 };
  }
  if (/time/.test(t) || t === 't' || t === 't_s' || t === 't (s)') {
    if (/(min|\[mn\]|\(mn\))/.test(t)) return { kind: 'time_s', factor: 60 };
    if (/(\bh\b|hour)/.test(t)) return { kind: 'time_s', factor: 3600 };
    return { kind: 'time_s', factor: 1 };
  }
  return undefined;
}

/** Strictly increasing axis, else an InputError naming the line and column. */
export function checkIncreasing(values: number[], lines: number[], where: string, column: number, title: string): void {
  for (let i = 1; i < values.length; i++) {
    if (!(values[i] > values[i - 1]))
      throw new InputError(
        `${where}: line ${lines[i]}, column ${column} (${title}): not increasing (${values[i]} after ${values[i - 1]} on line ${lines[i - 1]})`,
      );
  }
}

/** Counts must be >= 0. */
export function checkNonNegative(x: number, where: string, line: number, column: number, title: string): void {
  if (x < 0) throw new InputError(`${where}: line ${line}, column ${column} (${title}): negative counts (${x})`);
}

/**
 * How far below 0 a normalized density (n/n0) may lie and still be read, as 0:
 * a solver's own profile (the CSV of `cait simulate`) holds round-off values
 * such as −5.7e-26 where a species is absent. Counts stay strictly >= 0.
 */
export const NORMALIZED_NEGATIVE_TOLERANCE = 1e-6;

/** A normalized density must be >= −NORMALIZED_NEGATIVE_TOLERANCE; returns it clamped at 0. */
export function normalizedValue(x: number, where: string, line: number, column: number, title: string): number {
  if (x < -NORMALIZED_NEGATIVE_TOLERANCE)
    throw new InputError(`${where}: line ${line}, column ${column} (${title}): negative density (${x}; normalized values may dip below 0 by ${NORMALIZED_NEGATIVE_TOLERANCE} at most)`);
  return Math.max(x, 0);
}

/**
 * The data rows of a tabular export, from line index `start` on (blank and
 * `#` lines skipped): each row split by `split`, at least `need` cells
 * (else "missing column", `needText` saying what was expected), the axis
 * value (times `axisFactor`), every channel's count (a number ≥ 0, appended
 * to `ch.values`), and the axis strictly increasing. Returns the axis values
 * and the 1-based line of each row.
 */
export function readDataRows(opts: {
  lines: Lines;
  start: number;
  /** the cells of a data line (1-based line number for messages) */
  split: (line: string, lineNo: number) => string[];
  titles: string[];
  need: number;
  needText: string;
  axisCol: number;
  axisFactor: number;
  channels: RawChannel[];
  where: string;
  /** what follows "no data rows after the header" in the error */
  noRowsDetail: string;
  /** the cells are normalized densities (n/n0), not counts: round-off below 0 is read as 0 */
  normalized?: boolean;
  /** a row with more cells than this is an error (an extra cell shifts nothing silently) */
  maxCells?: number;
}): { axisVals: number[]; rowLines: number[]; clamped: number } {
  const { lines, split, titles, need, axisCol, channels, where } = opts;
  const axisVals: number[] = [];
  const rowLines: number[] = [];
  let clamped = 0;
  for (let i = opts.start, raw: string | undefined; (raw = lines.at(i)) !== undefined; i++) {
    lines.release(i);
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) continue;
    const line = i + 1;
    const row = split(raw, line);
    if (row.length < need)
      throw new InputError(`${where}: line ${line}, column ${row.length + 1} (${titles[row.length]}): missing column (${row.length} cells, ${opts.needText})`);
    if (opts.maxCells !== undefined && row.length > opts.maxCells)
      throw new InputError(`${where}: line ${line}, column ${opts.maxCells + 1}: an extra cell (${row.length} cells, the header has ${opts.maxCells} columns)`);
    axisVals.push(numberCell(row[axisCol], where, line, axisCol + 1, titles[axisCol]) * opts.axisFactor);
    for (const ch of channels) {
      const x = numberCell(row[ch.column - 1], where, line, ch.column, ch.label);
      if (opts.normalized) {
        const v = normalizedValue(x, where, line, ch.column, ch.label);
        if (v !== x) clamped++;
        ch.values.push(v);
      } else {
        checkNonNegative(x, where, line, ch.column, ch.label);
        ch.values.push(x);
      }
    }
    rowLines.push(line);
  }
  if (axisVals.length === 0) throw new InputError(`${where}: no data rows after the header${opts.noRowsDetail}`);
  checkIncreasing(axisVals, rowLines, where, axisCol + 1, titles[axisCol]);
  return { axisVals, rowLines, clamped };
}
