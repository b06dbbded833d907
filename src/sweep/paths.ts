/**
 * Dotted parameter paths into a protocol: `stages.1.D.Cs.D_m2s` is the
 * `D_m2s` field of the `Cs` entry of the `D` record of the second stage.
 * Segments are object keys; a segment of digits indexes an array.
 */
import { InputError } from '../core/errors.js';

/** Syntax of a path: segments of letters, digits and `_`, joined by dots. */
export const PATH_PATTERN = /^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/;

/** Split a dotted path into its segments (no syntax check). */
function segments(path: string): string[] {
  return path.split('.');
}

function isIndex(seg: string): boolean {
  return /^(0|[1-9][0-9]*)$/.test(seg);
}

/** The child of `node` named by `seg`, or undefined (own properties and in-range indices only). */
function child(node: unknown, seg: string): unknown {
  if (Array.isArray(node)) return isIndex(seg) && Number(seg) < node.length ? node[Number(seg)] : undefined;
  if (node !== null && typeof node === 'object' && Object.hasOwn(node, seg)) return (node as Record<string, unknown>)[seg];
  return undefined;
}

/**
 * The value at a dotted path, or `undefined` where the path leads nowhere.
 * Numeric segments index arrays; only own fields are followed.
 *
 * @example
 * getAtPath(getPreset('paper'), 'stages.1.D.Cs.D_m2s'); // 3.1e-23
 * getAtPath({ a: [{ b: 2 }] }, 'a.0.b');                 // 2
 * getAtPath({ a: 1 }, 'a.x');                            // undefined
 */
export function getAtPath(obj: unknown, path: string): unknown {
  let node: unknown = obj;
  for (const seg of segments(path)) {
    node = child(node, seg);
    if (node === undefined) return undefined;
  }
  return node;
}

/**
 * Every path that leads to a number, in document order (arrays by index).
 * These are the names a sweep may vary; the CLI lists them for `--help` and
 * uses them to suggest corrections.
 *
 * @example
 * numericPaths({ a: 1, b: { c: [2, 3], d: 'x' } }); // ['a', 'b.c.0', 'b.c.1']
 * numericPaths(getPreset('paper')).includes('stages.1.D.Cs.D_m2s'); // true
 */
export function numericPaths(obj: unknown): string[] {
  const out: string[] = [];
  const walk = (node: unknown, prefix: string) => {
    if (typeof node === 'number') out.push(prefix);
    else if (Array.isArray(node)) node.forEach((v, i) => walk(v, prefix ? `${prefix}.${i}` : String(i)));
    else if (node !== null && typeof node === 'object')
      for (const [k, v] of Object.entries(node)) walk(v, prefix ? `${prefix}.${k}` : k);
  };
  walk(obj, '');
  return out;
}

/** Levenshtein distance between two strings. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** Number of leading segments two paths share. */
function sharedSegments(a: string, b: string): number {
  const x = a.split('.');
  const y = b.split('.');
  let k = 0;
  while (k < x.length && k < y.length && x[k] === y[k]) k++;
  return k;
}

/**
 * Up to `max` numeric paths of `obj` close to `path`: those below `path`
 * when it names an object, else those it is the beginning of (a truncated
 * last segment), else the nearest by edit distance (at most about a third of
 * the path's length away and at most one edit worse than the best; ties go
 * to paths sharing more leading segments).
 *
 * @example
 * suggestPaths(getPreset('paper'), 'stages.1.D.Cs.D_ms2'); // ['stages.1.D.Cs.D_m2s']
 * suggestPaths(getPreset('paper'), 'stages.1.D.Cs.D');     // ['stages.1.D.Cs.D_m2s']
 * suggestPaths(getPreset('paper'), 'sample');              // ['sample.thickness_m', 'sample.area_m2', 'sample.n0_m3']
 */
export function suggestPaths(obj: unknown, path: string, max = 3): string[] {
  const all = numericPaths(obj);
  const below = all.filter((p) => p.startsWith(`${path}.`));
  if (below.length) return below.slice(0, max);
  const extended = all.filter((p) => p.startsWith(path));
  if (extended.length) return extended.slice(0, max);
  const limit = Math.max(2, Math.floor(path.length / 3));
  const ranked = all
    .map((p) => ({ p, d: editDistance(path, p), s: sharedSegments(path, p) }))
    .filter((x) => x.d <= limit)
    .sort((x, y) => x.d - y.d || y.s - x.s);
  if (!ranked.length) return [];
  return ranked
    .filter((x) => x.d <= ranked[0].d + 1)
    .slice(0, max)
    .map((x) => x.p);
}

function describe(v: unknown): string {
  if (v === undefined) return 'there is no such field';
  if (v === null) return 'it is null';
  if (Array.isArray(v)) return 'it is a list';
  if (typeof v === 'object') return 'it is an object';
  if (typeof v === 'string') return `it is the text ${JSON.stringify(v)}`;
  return `it is a ${typeof v}`;
}

/**
 * Throw an InputError unless `path` names a number in `obj`. The message
 * starts with `label` (default: the path in quotes), says what is there
 * instead and suggests close numeric paths.
 *
 * @example
 * requireNumericPath(getPreset('paper'), 'stages.1.D.Cs.D_m2s'); // ok
 * requireNumericPath(getPreset('paper'), 'stages.1.D.Cs.D', '--vary stages.1.D.Cs.D');
 * // InputError: --vary stages.1.D.Cs.D: not a numeric field of the protocol (there is no such field); did you mean stages.1.D.Cs.D_m2s?
 */
export function requireNumericPath(obj: unknown, path: string, label = `path "${path}"`): void {
  if (!PATH_PATTERN.test(path))
    throw new InputError(`${label}: a path is dotted segments of letters, digits and _, like stages.1.D.Cs.D_m2s`);
  const v = getAtPath(obj, path);
  if (typeof v === 'number') return;
  const near = suggestPaths(obj, path);
  const hint = near.length ? `; did you mean ${near.join(', ')}?` : '';
  throw new InputError(`${label}: not a numeric field of the protocol (${describe(v)})${hint}`);
}

/**
 * A deep copy of `obj` with the number at `path` replaced by `value`; `obj`
 * itself is never changed. The path must already lead to a number (see
 * {@link requireNumericPath}) and `value` must be finite, otherwise an
 * InputError names the path.
 *
 * @example
 * const base = getPreset('paper');
 * const m = setAtPath(base, 'stages.1.D.Cs.D_m2s', 3.8e-23);
 * getAtPath(m, 'stages.1.D.Cs.D_m2s');    // 3.8e-23
 * getAtPath(base, 'stages.1.D.Cs.D_m2s'); // 3.1e-23 (unchanged)
 */
export function setAtPath<T>(obj: T, path: string, value: number): T {
  requireNumericPath(obj, path);
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new InputError(`path "${path}": value ${String(value)} is not a finite number`);
  const copy = structuredClone(obj);
  const segs = segments(path);
  const last = segs[segs.length - 1];
  const holder = segs.length === 1 ? copy : getAtPath(copy, segs.slice(0, -1).join('.'));
  if (Array.isArray(holder)) holder[Number(last)] = value;
  else (holder as Record<string, unknown>)[last] = value;
  return copy;
}

/** The unit a parameter path's name carries (`…_m2s` → m²/s, `_eV`, `_K`, `_V`, `_C`, `_nm`, `_m`, `_s`), or '' (a ratio such as epsr or f). */
export function unitOfPath(path: string): string {
  const units: [RegExp, string][] = [
    [/_m2s$/, 'm²/s'],
    [/_eV$/, 'eV'],
    [/_K$/, 'K'],
    [/_V$/, 'V'],
    [/_C$/, 'C'],
    [/_nm$/, 'nm'],
    [/_m$/, 'm'],
    [/_s$/, 's'],
  ];
  return units.find(([re]) => re.test(path))?.[1] ?? '';
}
