/**
 * The sensitivity-study file `cait-gsa/1` (`DIR/gsa.json` of `cait gsa`),
 * as a zod schema: `cait gsa` builds it, the explorer page checks a loaded
 * file with it. Platform-neutral.
 *
 * ```
 * { schema: "cait-gsa/1", version,
 *   provenance: { version, date, config_sha256?, node?, platform?, engine, adapter, wall_s, command?, executor? },
 *   model: { kind: "protocol", base: <protocol>, observations: [{label, stage, species, points}] }
 *        | { kind: "function", name: "ishigami" | "sobol-g", constants },
 *   method: "sobol" | "morris",
 *   parameters: [{ path, lo, hi, scale: "linear" | "log" }],
 *   N: base samples (sobol) or trajectories (morris), runs: model runs, seed,
 *   design: { sequence, scramble, second_order, blocks } | { levels, delta },
 *   bootstrap: { resamples, level },
 *   members: { ok, failed, reasons: [{ run, reason }] (the first 20) },
 *   outputs: { <name>: { unit, description, rows, mean, variance, S1, S1_conf, ST, ST_conf, [S2, S2_conf] } }
 *         or { <name>: { unit, description, effects, mu, mu_star, mu_star_conf, sigma } },
 *   depth?: { blur_nm, depth_nm, maps: [{ stage, species, mean, sd, S1, S1_conf, ST, ST_conf }
 *                                      | { stage, species, mean, sd, mu_star, mu_star_conf, sigma }] },
 *   analytic?: { S1, ST, S2 },            (test functions: the exact indices)
 *   warnings: [...] }
 * ```
 * Index arrays run over `parameters`; depth maps are [parameter][depth];
 * `stage` counts from 1. A `_conf` is the half-width of the bootstrap
 * interval at `bootstrap.level` (estimate ± conf). null: not defined (an
 * output that does not vary, too few finite runs).
 */
import { z } from 'zod';
import type { Protocol } from '../config/schema.js';
import { executorRecordSchema } from '../ensemble/schema.js';

export const GSA_SCHEMA = 'cait-gsa/1';

const num = z.number();
const nnum = z.number().nullable();
const vec = z.array(nnum);
const mat = z.array(z.array(nnum));
const count = z.number().int().min(0);

export const gsaParameterSchema = z.object({
  path: z.string(),
  lo: num,
  hi: num,
  scale: z.enum(['linear', 'log']),
});

const outputHead = { unit: z.string(), description: z.string() };

export const sobolOutputSchema = z.object({
  ...outputHead,
  rows: count,
  mean: nnum,
  variance: nnum,
  S1: vec,
  S1_conf: vec,
  ST: vec,
  ST_conf: vec,
  S2: mat.optional(),
  S2_conf: mat.optional(),
});

export const morrisOutputSchema = z.object({
  ...outputHead,
  effects: z.array(count),
  mu: vec,
  mu_star: vec,
  mu_star_conf: vec,
  sigma: vec,
});

const mapHead = { stage: z.number().int().min(1), species: z.string(), mean: vec, sd: vec };

export const depthMapSchema = z.union([
  z.object({ ...mapHead, S1: mat, S1_conf: mat, ST: mat, ST_conf: mat }),
  z.object({ ...mapHead, mu_star: mat, mu_star_conf: mat, sigma: mat }),
]);

export const gsaFileSchema = z
  .object({
    schema: z.literal(GSA_SCHEMA),
    version: z.string(),
    provenance: z.object({
      version: z.string(),
      date: z.string(),
      config_sha256: z.string().optional(),
      node: z.string().optional(),
      platform: z.string().optional(),
      engine: z.string(),
      adapter: z.string(),
      wall_s: num,
      command: z.string().optional(),
      /** --executor slurm: the job arrays that ran the batches (src/ensemble/schema.ts) */
      executor: executorRecordSchema.optional(),
    }),
    model: z.discriminatedUnion('kind', [
      z.object({
        kind: z.literal('protocol'),
        base: z.custom<Protocol>((v) => typeof v === 'object' && v !== null && Array.isArray((v as { stages?: unknown }).stages), 'expected a protocol'),
        observations: z.array(z.object({ label: z.string(), stage: z.number().int().min(1), species: z.array(z.string()), points: count })),
      }),
      z.object({ kind: z.literal('function'), name: z.string(), constants: z.record(z.string(), z.union([num, z.array(num)])) }),
    ]),
    method: z.enum(['sobol', 'morris']),
    parameters: z.array(gsaParameterSchema).min(1),
    N: count,
    runs: count,
    seed: count,
    design: z.union([
      z.object({ sequence: z.string(), scramble: z.boolean(), second_order: z.boolean(), blocks: count }),
      z.object({ levels: count, delta: num }),
    ]),
    bootstrap: z.object({ resamples: count, level: num }),
    members: z.object({ ok: count, failed: count, reasons: z.array(z.object({ run: count, reason: z.string() })) }),
    outputs: z.record(z.string(), z.union([sobolOutputSchema, morrisOutputSchema])),
    depth: z.object({ blur_nm: num, depth_nm: z.array(num), maps: z.array(depthMapSchema) }).optional(),
    analytic: z.object({ S1: z.array(num), ST: z.array(num), S2: mat }).optional(),
    warnings: z.array(z.string()),
  })
  .superRefine((f, ctx) => {
    const k = f.parameters.length;
    for (const [name, o] of Object.entries(f.outputs)) {
      const lists = 'S1' in o ? { S1: o.S1, S1_conf: o.S1_conf, ST: o.ST, ST_conf: o.ST_conf } : { mu: o.mu, mu_star: o.mu_star, mu_star_conf: o.mu_star_conf, sigma: o.sigma };
      for (const [key, v] of Object.entries(lists))
        if (v.length !== k) ctx.addIssue({ code: 'custom', path: ['outputs', name, key], message: `expected ${k} values (one per parameter), got ${v.length}` });
      if (('S1' in o) !== (f.method === 'sobol')) ctx.addIssue({ code: 'custom', path: ['outputs', name], message: `not the indices of method ${f.method}` });
    }
    f.depth?.maps.forEach((m, i) => {
      const rows = 'S1' in m ? m.S1 : m.mu_star;
      if (rows.length !== k) ctx.addIssue({ code: 'custom', path: ['depth', 'maps', i], message: `expected ${k} rows (one per parameter), got ${rows.length}` });
      rows.forEach((r, j) => {
        if (r.length !== f.depth!.depth_nm.length)
          ctx.addIssue({ code: 'custom', path: ['depth', 'maps', i, j], message: `expected ${f.depth!.depth_nm.length} values (one per depth), got ${r.length}` });
      });
    });
  });

export type GsaFile = z.infer<typeof gsaFileSchema>;
export type GsaParameter = z.infer<typeof gsaParameterSchema>;
export type SobolOutput = z.infer<typeof sobolOutputSchema>;
export type MorrisOutput = z.infer<typeof morrisOutputSchema>;
export type DepthMap = z.infer<typeof depthMapSchema>;
