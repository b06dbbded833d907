/**
 * Sweep files: the `--vary`/`--sample` form as one JSON document, e.g.
 *
 * ```json
 * {
 *   "schema": "cait-sweep/1",
 *   "base": { "preset": "paper" },
 *   "vary": [
 *     { "path": "stages.1.D.Cs.D_m2s", "values": [2.4e-23, 3.1e-23, 3.8e-23] },
 *     { "path": "stages.0.D.Rb.D_m2s", "lo": 1e-22, "hi": 1e-21, "n": 5, "scale": "log" }
 *   ]
 * }
 * ```
 *
 * `base` is a preset name or a whole protocol (`{"config": {...}}`). With
 * `"sample": {"method": "lhs", "n": N, "seed": S}` the ranges have no `n`
 * and are sampled by a Latin hypercube. Same meaning as the CLI form
 * (see spec.ts); `schema` may be left out, `scale` defaults to `linear`, `seed` to 1.
 */
import { z } from 'zod';
import { getPreset } from '../config/presets.js';
import type { Protocol } from '../config/schema.js';
import { formatZodError, parseJson, parseProtocol } from '../config/validate.js';
import { InputError } from '../core/errors.js';
import { PATH_PATTERN } from './paths.js';
import { DEFAULT_SEED, MAX_MEMBERS, checkAscending, checkSpecs, type SampleSpec, type VarySpec } from './spec.js';

const finite = (what: string) => z.number({ error: `${what} must be a number` }).finite(`${what} must be finite`);
const count = (what: string) =>
  z
    .number({ error: `${what} must be a number` })
    .int(`${what} must be an integer`)
    .min(1, `${what} must be >= 1`)
    .max(MAX_MEMBERS, `${what} must be <= ${MAX_MEMBERS}`);

const varyItemSchema = z
  .strictObject({
    path: z
      .string({ error: 'path must be a string' })
      .regex(PATH_PATTERN, 'path is dotted segments of letters, digits and _, like stages.1.D.Cs.D_m2s'),
    values: z.array(finite('each value'), { error: 'values must be a list of numbers' }).min(1, 'values must not be empty').optional(),
    lo: finite('lo').optional(),
    hi: finite('hi').optional(),
    n: count('n').optional(),
    scale: z.enum(['linear', 'log'], { error: 'scale must be "linear" or "log"' }).optional(),
  })
  .superRefine((v, ctx) => {
    const rangeKeys = (['lo', 'hi', 'n', 'scale'] as const).filter((k) => v[k] !== undefined);
    if (v.values !== undefined) {
      if (rangeKeys.length)
        ctx.addIssue({ code: 'custom', path: [rangeKeys[0]], message: 'give either values or a range (lo, hi, n, scale), not both' });
      return;
    }
    if (v.lo === undefined) ctx.addIssue({ code: 'custom', path: ['lo'], message: 'give values, or a range with lo and hi' });
    if (v.hi === undefined) ctx.addIssue({ code: 'custom', path: ['hi'], message: 'give values, or a range with lo and hi' });
    if (v.lo === undefined || v.hi === undefined) return;
    if (v.scale === 'log' && !(v.lo > 0 && v.hi > 0))
      ctx.addIssue({ code: 'custom', path: ['lo'], message: `a log range needs lo > 0 and hi > 0 (got lo=${v.lo}, hi=${v.hi})` });
    if (v.n !== undefined && v.n > 1 && v.lo === v.hi)
      ctx.addIssue({ code: 'custom', path: ['hi'], message: `lo equals hi (${v.lo}), so the ${v.n} points would all be equal` });
  });

/** The zod schema of a sweep file (`cait-sweep/1`). */
export const sweepFileSchema = z.strictObject({
  schema: z.literal('cait-sweep/1', { error: 'schema must be "cait-sweep/1"' }).default('cait-sweep/1'),
  base: z
    .strictObject({ preset: z.string({ error: 'preset must be a name' }).optional(), config: z.unknown().optional() })
    .superRefine((b, ctx) => {
      const n = Number(b.preset !== undefined) + Number(b.config !== undefined);
      if (n !== 1) ctx.addIssue({ code: 'custom', message: 'give exactly one of {"preset": NAME} or {"config": {...}}' });
    }),
  vary: z.array(varyItemSchema, { error: 'vary must be a list' }),
  sample: z
    .strictObject({
      method: z.literal('lhs', { error: 'method must be "lhs"' }),
      n: count('n'),
      seed: z
        .number({ error: 'seed must be a number' })
        .int('seed must be an integer')
        .min(0, 'seed must be >= 0')
        .max(0xffffffff, 'seed must be < 2^32')
        .default(DEFAULT_SEED),
    })
    .optional(),
});

/** A parsed sweep: what {@link buildGrid} needs. */
export interface SweepDefinition {
  base: Protocol;
  specs: VarySpec[];
  sample?: SampleSpec;
}

/**
 * Parse and check a sweep file. Errors are InputErrors naming the file and
 * the field (`sweep.json: vary.1.n: n must be an integer`); errors found when
 * the grid is built name the entry as `sweep.json: vary.1 (PATH)`.
 *
 * @example
 * const def = parseSweepFile(fs.readFileSync('sweep.json', 'utf8'), 'sweep.json');
 * const grid = buildGrid(def.base, def.specs, def.sample);
 */
export function parseSweepFile(text: string, where = 'sweep'): SweepDefinition {
  const value = parseJson(text, where);
  const r = sweepFileSchema.safeParse(value);
  if (!r.success) throw new InputError(formatZodError(r.error, where));
  const doc = r.data;
  const base =
    doc.base.preset !== undefined ? getPreset(doc.base.preset) : parseProtocol(doc.base.config, `${where}: base.config`);
  const specs: VarySpec[] = doc.vary.map((v, i) => {
    const source = `${where}: vary.${i} (${v.path})`;
    if (v.values !== undefined) return { kind: 'list', path: v.path, values: v.values, source };
    checkAscending(v.lo!, v.hi!, source);
    const spec: VarySpec = { kind: 'range', path: v.path, lo: v.lo!, hi: v.hi!, scale: v.scale ?? 'linear', source };
    if (v.n !== undefined) spec.n = v.n;
    return spec;
  });
  const sample: SampleSpec | undefined = doc.sample && { method: 'lhs', n: doc.sample.n, seed: doc.sample.seed };
  checkSpecs(specs, sample);
  return sample ? { base, specs, sample } : { base, specs };
}
