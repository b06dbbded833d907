/**
 * What a sweep varies, as the CLI spells it:
 *
 *   --vary PATH=a,b,c           a list of values (a single value is a list of one)
 *   --vary PATH=lo:hi:N         N points from lo to hi, evenly spaced, both ends included
 *   --vary PATH=lo:hi:N:log     N points from lo to hi, geometric (lo, hi > 0)
 *   --sample lhs:N [--seed S]   a Latin hypercube of N members over ranges given as
 *   --vary PATH=lo:hi[:log]     (uniform, or log-uniform with :log; no point count)
 *
 * Numbers are decimal and may carry an exponent (3.1e-23). A range runs
 * upwards: lo > hi (10:0:5) is refused, as a likely slip, rather than
 * silently run in reverse. With N = 1 a range is the single value lo;
 * lo = hi with N > 1 is refused (equal members). `:linear` may be written for
 * the default scale. Several `--vary` form a cartesian product, the last one
 * varying fastest (see grid.ts).
 */
import { InputError } from '../core/errors.js';
import { PATH_PATTERN } from './paths.js';

/** The largest sweep, in members (and the largest N of one range). */
export const MAX_MEMBERS = 1_000_000;

/** The seed of `--sample lhs:N` when `--seed` is not given. */
export const DEFAULT_SEED = 1;

export type Scale = 'linear' | 'log';

/** A parameter that takes the listed values, in order. */
export interface ListSpec {
  kind: 'list';
  /** dotted path into the protocol */
  path: string;
  values: number[];
  /** how the user wrote it, for error messages (`--vary stages.1.D.Cs.D_m2s`) */
  source: string;
}

/** A parameter that spans lo..hi: N grid points, or an LHS range when `n` is absent. */
export interface RangeSpec {
  kind: 'range';
  path: string;
  lo: number;
  hi: number;
  /** number of grid points; absent for an LHS range */
  n?: number;
  scale: Scale;
  source: string;
}

export type VarySpec = ListSpec | RangeSpec;

/** A sampled design instead of a full grid. */
export interface SampleSpec {
  method: 'lhs';
  /** number of members */
  n: number;
  /** PRNG seed, an integer in [0, 2^32) */
  seed: number;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * A finite decimal number (exponent allowed), else an InputError `label: "x" is not a number`.
 *
 * @example
 * parseNumber('3.1e-23', '--vary x'); // 3.1e-23
 * parseNumber('abc', '--vary x');     // InputError: --vary x: "abc" is not a number
 */
export function parseNumber(text: string, label: string): number {
  const t = text.trim();
  if (!NUMBER.test(t)) throw new InputError(`${label}: "${t}" is not a number`);
  const v = Number(t);
  if (!Number.isFinite(v)) throw new InputError(`${label}: "${t}" is out of range (not a finite number)`);
  return v;
}

function parseCount(text: string, label: string, what: string): number {
  const t = text.trim();
  const v = /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isInteger(v) || v < 1) throw new InputError(`${label}: ${what} must be an integer >= 1 (got "${t}")`);
  if (v > MAX_MEMBERS) throw new InputError(`${label}: ${what} = ${t} is more than ${MAX_MEMBERS}`);
  return v;
}

function checkLogBounds(lo: number, hi: number, label: string): void {
  if (!(lo > 0 && hi > 0)) throw new InputError(`${label}: a log range needs lo > 0 and hi > 0 (got lo=${lo}, hi=${hi})`);
}

/**
 * A spec as `--vary` spells it (the inverse of parseVary): `PATH=a,b,c`,
 * `PATH=lo:hi:N[:log]`, `PATH=lo:hi[:log]` (an LHS range). Values in their
 * shortest exact form, so parseVary(specText(s)) gives s back.
 */
export function specText(s: VarySpec): string {
  if (s.kind === 'list') return `${s.path}=${s.values.map(String).join(',')}`;
  return `${s.path}=${s.lo}:${s.hi}${s.n !== undefined ? `:${s.n}` : ''}${s.scale === 'log' ? ':log' : ''}`;
}

/** A range must run upwards (lo <= hi): 10:0:5 is a likely slip for 0:10:5, not a request to sweep in reverse. */
export function checkAscending(lo: number, hi: number, source: string, text = `${lo}:${hi}`): void {
  if (lo > hi) throw new InputError(`${source}: the range "${text}" runs downwards (lo ${lo} > hi ${hi}); write it from low to high`);
}

/**
 * Parse one `--vary` argument. The path's syntax is checked here; whether it
 * names a number of the protocol is checked when the grid is built.
 *
 * @example
 * parseVary('stages.1.D.Cs.D_m2s=2.4e-23,3.1e-23,3.8e-23');
 * // { kind: 'list', path: 'stages.1.D.Cs.D_m2s', values: [2.4e-23, 3.1e-23, 3.8e-23], source: '--vary stages.1.D.Cs.D_m2s' }
 * parseVary('sample.epsr=4:16:3:log');
 * // { kind: 'range', path: 'sample.epsr', lo: 4, hi: 16, n: 3, scale: 'log', source: '--vary sample.epsr' }
 * parseVary('sample.epsr=4:16'); // an LHS range (n absent)
 */
export function parseVary(text: string): VarySpec {
  const eq = text.indexOf('=');
  if (eq < 0)
    throw new InputError(
      `--vary "${text}": expected PATH=VALUES, a list (PATH=a,b,c) or a range (PATH=lo:hi:N, PATH=lo:hi:N:log)`,
    );
  const path = text.slice(0, eq).trim();
  const rhs = text.slice(eq + 1).trim();
  if (!path) throw new InputError(`--vary "${text}": the path before "=" is missing`);
  const source = `--vary ${path}`;
  if (!PATH_PATTERN.test(path))
    throw new InputError(`${source}: a path is dotted segments of letters, digits and _, like stages.1.D.Cs.D_m2s`);
  if (!rhs) throw new InputError(`${source}: no values after "="`);

  if (rhs.includes(':')) {
    if (rhs.includes(',')) throw new InputError(`${source}: "${rhs}" mixes a list (,) and a range (:)`);
    const parts = rhs.split(':').map((s) => s.trim());
    let scale: Scale = 'linear';
    const lastPart = parts[parts.length - 1];
    if (lastPart === 'log' || lastPart === 'linear') {
      scale = lastPart;
      parts.pop();
    }
    if (parts.length < 2 || parts.length > 3)
      throw new InputError(`${source}: a range is lo:hi:N or lo:hi:N:log (or lo:hi[:log] with --sample lhs:N); got "${rhs}"`);
    const lo = parseNumber(parts[0], source);
    const hi = parseNumber(parts[1], source);
    const n = parts.length === 3 ? parseCount(parts[2], source, 'the number of points N') : undefined;
    if (scale === 'log') checkLogBounds(lo, hi, source);
    checkAscending(lo, hi, source, rhs);
    if (n !== undefined && n > 1 && lo === hi)
      throw new InputError(`${source}: lo equals hi (${lo}), so the ${n} points would all be equal; give a single value`);
    return n === undefined ? { kind: 'range', path, lo, hi, scale, source } : { kind: 'range', path, lo, hi, n, scale, source };
  }

  const items = rhs.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new InputError(`${source}: empty value in the list "${rhs}"`);
  if (items.length > MAX_MEMBERS) throw new InputError(`${source}: more than ${MAX_MEMBERS} values`);
  return { kind: 'list', path, values: items.map((s) => parseNumber(s, source)), source };
}

/**
 * A seed: an integer in [0, 2^32). Absent (undefined or '') gives {@link DEFAULT_SEED}.
 *
 * @example
 * parseSeed('42'); // 42
 * parseSeed(undefined); // 1
 */
export function parseSeed(seed: string | number | undefined): number {
  if (seed === undefined || seed === '') return DEFAULT_SEED;
  const t = String(seed).trim();
  const v = /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isInteger(v) || v > 0xffffffff)
    throw new InputError(`--seed: the seed must be an integer from 0 to 4294967295 (got "${t}")`);
  return v;
}

/**
 * Parse `--sample METHOD:N` (only `lhs` so far) and its `--seed`.
 *
 * @example
 * parseSample('lhs:200', '7'); // { method: 'lhs', n: 200, seed: 7 }
 * parseSample('lhs:200');      // { method: 'lhs', n: 200, seed: 1 }
 */
export function parseSample(text: string, seed?: string | number): SampleSpec {
  const label = `--sample ${text}`;
  const m = /^([A-Za-z]+):(.*)$/.exec(text.trim());
  if (!m) throw new InputError(`${label}: expected lhs:N (a Latin hypercube of N members)`);
  if (m[1] !== 'lhs') throw new InputError(`${label}: unknown sampling method "${m[1]}" (known: lhs)`);
  return { method: 'lhs', n: parseCount(m[2], label, 'the number of members N'), seed: parseSeed(seed) };
}

/**
 * Check a set of specs together: no path twice; in a grid every range has
 * a point count; with LHS every spec is a range without one and there is
 * at least one.
 *
 * @example
 * checkSpecs([parseVary('sample.epsr=4,8'), parseVary('sample.epsr=16')]);
 * // InputError: --vary sample.epsr: path sample.epsr is given twice
 */
export function checkSpecs(specs: readonly VarySpec[], sample?: SampleSpec): void {
  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.path)) throw new InputError(`${s.source}: path ${s.path} is given twice`);
    seen.add(s.path);
  }
  if (sample) {
    if (specs.length === 0) throw new InputError(`--sample lhs:${sample.n}: nothing to sample; give ranges with --vary PATH=lo:hi`);
    for (const s of specs) {
      if (s.kind === 'list')
        throw new InputError(
          `${s.source}: a list of values cannot be sampled by a Latin hypercube; give a range PATH=lo:hi or PATH=lo:hi:log`,
        );
      if (s.n !== undefined)
        throw new InputError(
          `${s.source}: with --sample lhs:N a range has no point count of its own; write PATH=lo:hi or PATH=lo:hi:log`,
        );
    }
  } else {
    for (const s of specs)
      if (s.kind === 'range' && s.n === undefined)
        throw new InputError(`${s.source}: a grid range needs a number of points, PATH=lo:hi:N (or sample with --sample lhs:N)`);
  }
}

/**
 * The CLI form in one call: every `--vary`, plus `--sample` and `--seed`
 * when given; checked together with {@link checkSpecs}.
 *
 * @example
 * parseSweepArgs({ vary: ['stages.1.D.Cs.D_m2s=2.4e-23,3.1e-23,3.8e-23'] });
 * parseSweepArgs({ vary: ['sample.epsr=4:16:log'], sample: 'lhs:50', seed: '3' });
 */
export function parseSweepArgs(args: { vary: readonly string[]; sample?: string; seed?: string | number }): {
  specs: VarySpec[];
  sample?: SampleSpec;
} {
  if (args.seed !== undefined && args.sample === undefined)
    throw new InputError('--seed: only used with --sample lhs:N');
  const specs = args.vary.map(parseVary);
  const sample = args.sample === undefined ? undefined : parseSample(args.sample, args.seed);
  checkSpecs(specs, sample);
  return sample ? { specs, sample } : { specs };
}
