/**
 * From a base protocol and what to vary to the members of an ensemble:
 * a full grid (cartesian product) or a Latin hypercube sample.
 */
import type { z } from 'zod';
import { protocolSchema, type Protocol } from '../config/schema.js';
import { issuePath } from '../config/validate.js';
import { InputError } from '../core/errors.js';
import { latinHypercube } from './lhs.js';
import { getAtPath, requireNumericPath } from './paths.js';
import { MAX_MEMBERS, checkSpecs, type RangeSpec, type SampleSpec, type VarySpec } from './spec.js';

/** An ensemble: which paths vary, their value per member, and the validated member protocols. */
export interface SweepGrid {
  /** the varied paths, in the order the specs were given */
  parameters: string[];
  /** values[i][j]: member i's value of parameters[j] */
  values: number[][];
  /** member i: the base with values[i] set at the paths, validated */
  members: Protocol[];
  /** `grid` (cartesian product) or `lhs` (Latin hypercube) */
  design: 'grid' | 'lhs';
  /** the PRNG seed of an LHS design */
  seed?: number;
}

/**
 * The values of one grid axis: a list as given, or a range's N points from
 * lo to hi (both included, lo first; geometric for `log`). N = 1 gives lo.
 *
 * @example
 * axisValues(parseVary('x=1:3:3'));             // [1, 2, 3]
 * axisValues(parseVary('x=1e-23:1e-21:3:log')); // [1e-23, 1e-22 (to rounding), 1e-21]
 */
export function axisValues(spec: VarySpec): number[] {
  if (spec.kind === 'list') return [...spec.values];
  const { lo, hi } = spec;
  const n = spec.n ?? 1;
  if (n === 1) return [lo];
  const out = new Array<number>(n);
  if (spec.scale === 'log') {
    const a = Math.log(lo);
    const b = Math.log(hi);
    for (let i = 0; i < n; i++) out[i] = Math.exp((a * (n - 1 - i) + b * i) / (n - 1));
  } else {
    for (let i = 0; i < n; i++) out[i] = (lo * (n - 1 - i) + hi * i) / (n - 1);
  }
  out[0] = lo;
  out[n - 1] = hi;
  return out;
}

/**
 * Map u in [0, 1] onto a range, uniformly or log-uniformly (u = 0 and u = 1
 * give lo and hi exactly).
 *
 * @example
 * fromUnit({ lo: 1e-23, hi: 1e-21, scale: 'log' }, 0.5); // 1e-22 (to rounding)
 */
export function fromUnit(spec: Pick<RangeSpec, 'lo' | 'hi' | 'scale'>, u: number): number {
  if (u === 0) return spec.lo;
  if (u === 1) return spec.hi;
  if (spec.scale === 'log') return Math.exp(Math.log(spec.lo) + (Math.log(spec.hi) - Math.log(spec.lo)) * u);
  return spec.lo + (spec.hi - spec.lo) * u;
}

/**
 * The design alone (no protocols): the varied paths and the member × parameter
 * table of values. In a grid the last parameter varies fastest (like nested
 * loops with the first spec outermost). An LHS design is
 * {@link latinHypercube} mapped onto each range (log ranges are stratified
 * in log space). More than {@link MAX_MEMBERS} members is an InputError.
 *
 * @example
 * designValues([parseVary('a=1,2'), parseVary('b=10,20,30')]).values;
 * // [[1,10],[1,20],[1,30],[2,10],[2,20],[2,30]]
 */
export function designValues(specs: readonly VarySpec[], sample?: SampleSpec): { parameters: string[]; values: number[][] } {
  checkSpecs(specs, sample);
  const parameters = specs.map((s) => s.path);
  if (sample) {
    const ranges = specs as RangeSpec[];
    const u = latinHypercube(sample.n, ranges.length, sample.seed);
    return { parameters, values: u.map((row) => row.map((x, j) => fromUnit(ranges[j], x))) };
  }
  const sizes = specs.map((s) => (s.kind === 'list' ? s.values.length : (s.n ?? 1)));
  const total = sizes.reduce((p, n) => p * n, 1);
  if (total > MAX_MEMBERS)
    throw new InputError(
      `the grid has ${total} members (${specs.map((s, j) => `${s.path}: ${sizes[j]}`).join(' × ')}), more than ${MAX_MEMBERS}; use fewer points or --sample lhs:N`,
    );
  const axes = specs.map(axisValues);
  const values: number[][] = [];
  for (let i = 0; i < total; i++) {
    const row = new Array<number>(axes.length);
    let rest = i;
    for (let j = axes.length - 1; j >= 0; j--) {
      row[j] = axes[j][rest % sizes[j]];
      rest = Math.floor(rest / sizes[j]);
    }
    values.push(row);
  }
  return { parameters, values };
}

/** Write `value` at `path` into `obj` in place (the path is known to lead to a number). */
function writeAtPath(obj: unknown, path: string, value: number): void {
  const segs = path.split('.');
  const last = segs.pop()!;
  const holder = segs.length ? getAtPath(obj, segs.join('.')) : obj;
  if (Array.isArray(holder)) holder[Number(last)] = value;
  else (holder as Record<string, unknown>)[last] = value;
}

/** The first issue, without its path when it is the varied path itself. */
function firstIssue(err: z.ZodError, path?: string): string {
  const iss = err.issues[0];
  const at = issuePath(iss.path);
  return at === path ? iss.message : `${at}: ${iss.message}`;
}

/**
 * One member: a deep copy of `base` with `row[j]` at `parameters[j]`,
 * validated like any protocol. A value that is invalid on its own is an
 * InputError naming its spec and value
 * (`--vary stages.1.D.Cs.D_m2s: value -1e-23 is invalid: D must be > 0`);
 * values valid alone but not together name the member and all its values.
 * `sources[j]` labels parameter j in messages (default: the path).
 *
 * @example
 * const m = makeMember(getPreset('paper'), ['stages.1.D.Cs.D_m2s'], [3.8e-23]);
 * m.stages[1].D.Cs; // { model: 'constant', D_m2s: 3.8e-23 }
 */
export function makeMember(
  base: Protocol,
  parameters: readonly string[],
  row: readonly number[],
  sources: readonly string[] = parameters,
  index = 0,
): Protocol {
  parameters.forEach((p, j) => requireNumericPath(base, p, sources[j]));
  const m = structuredClone(base);
  parameters.forEach((p, j) => writeAtPath(m, p, row[j]));
  const r = protocolSchema.safeParse(m);
  if (r.success) return r.data;
  // find the culprit: a value invalid on its own, else the combination
  for (let j = 0; j < parameters.length; j++) {
    const single = structuredClone(base);
    writeAtPath(single, parameters[j], row[j]);
    const rs = protocolSchema.safeParse(single);
    if (!rs.success)
      throw new InputError(`${sources[j]}: value ${row[j]} is invalid: ${firstIssue(rs.error, parameters[j])}`);
  }
  const assignment = parameters.map((p, j) => `${p}=${row[j]}`).join(', ');
  throw new InputError(`member ${index} (${assignment}) is invalid: ${firstIssue(r.error)}`);
}

/**
 * Build the ensemble of a sweep. Without `sample`, the cartesian product of
 * all specs; the last spec varies fastest (member order = nested loops with
 * the first spec outermost). With `sample` (LHS), `sample.n` members over the
 * ranges, reproducible from `sample.seed` (see {@link latinHypercube}).
 * No specs gives one member, the base. Each member is validated; paths that
 * are not numeric fields of `base`, invalid values and more than
 * {@link MAX_MEMBERS} members are InputErrors naming the path.
 *
 * @example
 * const g = buildGrid(getPreset('paper'), [parseVary('stages.1.D.Cs.D_m2s=2.4e-23,3.1e-23,3.8e-23')]);
 * g.parameters; // ['stages.1.D.Cs.D_m2s']
 * g.values;     // [[2.4e-23], [3.1e-23], [3.8e-23]]
 * g.members[2].stages[1].D.Cs; // { model: 'constant', D_m2s: 3.8e-23 }
 *
 * const { specs, sample } = parseSweepArgs({ vary: ['stages.1.D.Cs.D_m2s=2e-23:5e-23:log'], sample: 'lhs:100', seed: 7 });
 * buildGrid(getPreset('paper'), specs, sample).members.length; // 100
 */
export function buildGrid(base: Protocol, specs: readonly VarySpec[], sample?: SampleSpec): SweepGrid {
  checkSpecs(specs, sample);
  for (const s of specs) requireNumericPath(base, s.path, s.source);
  const { parameters, values } = designValues(specs, sample);
  const sources = specs.map((s) => s.source);
  const members = values.map((row, i) => makeMember(base, parameters, row, sources, i));
  return sample ? { parameters, values, members, design: 'lhs', seed: sample.seed } : { parameters, values, members, design: 'grid' };
}
