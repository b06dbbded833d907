/**
 * The fit result file `cait-fit/1` as a zod schema, the one definition of its
 * shape (docs/formats.md §4.1): written by `cait fit` and `cait sensitivity`
 * (output.ts buildFitFile, src/cli/fit.ts), checked with it by the browser
 * explorer when it loads one (src/web/data.ts). The types are inferred from
 * it. Platform-neutral.
 *
 * Conventions: parameters are dotted protocol paths (`stages.1.D.Cs.D_m2s`),
 * values in the units of the field's name; a residual is the weighted sum of
 * squares Σ_obs Σ_species w_s Σ_points (model − measured)² (src/observe/observe.ts),
 * `null` for a failed member. Grid members are the cartesian product of
 * `grid.axes` (the last parameter varies fastest), listed first in `members`
 * in that order; `residual[i]` is grid member i's. NaN is written as null
 * (src/core/json.ts): `noise.s2` (no degrees of freedom left) and the ends
 * of the intervals that need it read back as NaN.
 */
import { z } from 'zod';
import { protocolSchema } from '../config/schema.js';
import type { Assert, Equal } from '../core/types.js';
import type { DepthResolution } from '../observe/observe.js';
import { executorRecordSchema } from '../ensemble/schema.js';
import { numberList as nums } from '../io/schema.js';

export const FIT_SCHEMA = 'cait-fit/1';

const num = z.number();
const count = z.number().int().min(0);
/** a number the writer may have written as null (NaN): reads back as NaN */
const numOrNaN = z.union([num, z.null().transform(() => NaN)]);
const pair = z.tuple([num, num]);
/** an interval the writer may have written as [null, null] (its width needs s2, NaN without degrees of freedom) */
const interval = z.tuple([numOrNaN, numOrNaN]);

/** Per species: values at the observation's measured depths (`measured.observations[k].depth_nm`). */
export const speciesSeriesSchema = z.record(z.string(), nums);

export const fitProvenanceSchema = z.object({
  software: z.string(),
  version: z.string(),
  date: z.string(),
  config_sha256: z.string(),
  engine: z.string(),
  adapter: z.string(),
  node: z.string().optional(),
  platform: z.string().optional(),
  /** the command line that made the file */
  command: z.string().optional(),
  wall_s: num,
  /** --executor slurm: the job arrays that ran the fit's batches */
  executor: executorRecordSchema.optional(),
});

/** The depth resolution of a measurement (src/observe/observe.ts). */
export const depthResolutionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('gauss'), sigma_nm: num }),
  z.object({ kind: z.literal('mri'), w_nm: num, sigma_nm: num, lambda_nm: num }),
]);

export const fitObservationSchema = z.object({
  /** 0-based stage after which it was measured */
  stage: count,
  /** file name as given */
  label: z.string(),
  species: z.array(z.string()),
  weights: nums,
  window_nm: pair,
  resolution: depthResolutionSchema,
  /** measured depths inside the window, nm */
  depth_nm: nums,
  /** measured normalized densities at depth_nm */
  target: speciesSeriesSchema,
});

export const fitMemberSchema = z.object({
  values: nums,
  status: z.enum(['ok', 'failed']),
  reason: z.string().optional(),
  /** total weighted SSR, null when failed */
  residual: num.nullable(),
  /**
   * where the member came from: the grid, a refinement round of the grid (--refine), the local
   * optimiser (its trial points and finite-difference members), the members placed around the best
   * to measure the Δχ² = 1 surface, or the sensitivity members
   */
  source: z.enum(['grid', 'refine', 'local', 'interval', 'sensitivity']),
  /** per observation: species → weighted SSR part */
  parts: z.array(z.record(z.string(), num)).optional(),
  /** per observation: the model at the measured depths (omitted with --member-profiles none) */
  model: z.array(speciesSeriesSchema).optional(),
});

export const fitSensitivitySchema = z.object({
  path: z.string(),
  /** relative step of the central difference (e.g. 0.05 = ±5 %) */
  step: num,
  /** one-number summary: RMS over species and points of d model / d ln p (n/n0 per e-fold) */
  rms: num,
  /** per observation: d model / d ln p at the measured depths */
  derivative: z.array(speciesSeriesSchema),
  /** per observation: the model with this parameter at best × 0.8 and × 1.2 (others at best) */
  minus20: z.array(speciesSeriesSchema),
  plus20: z.array(speciesSeriesSchema),
  /** residuals of the ±20 % members */
  residual_minus20: num.nullable(),
  residual_plus20: num.nullable(),
});

/**
 * Whether a fit found its minimum and reports it consistently: the local optimiser converged
 * (its Gauss–Newton step predicts a χ² decrease below 0.01), the best lies inside each of its
 * Δχ² = 1 intervals, the quadratic model's minimum agrees with the best, the members placed at
 * the expected Δχ² = 1 surface show Δχ² near 1, and no optimum lies on a bound of the grid.
 */
export const fitConvergenceSchema = z.object({
  /** all of the above hold */
  converged: z.boolean(),
  optimizer: z.enum(['levenberg-marquardt', 'none']),
  /** optimiser iterations (one engine batch each) */
  iterations: count,
  /** the χ² decrease a Gauss–Newton step from the best still predicts (null: unknown) */
  predicted_dchi2: num.nullable(),
  /** why the optimiser stopped */
  reason: z.string(),
  /** per parameter: the best lies inside its Δχ² = 1 interval */
  best_inside_interval: z.array(z.boolean()),
  /** Δχ² of the best above the quadratic model's minimum (null: no model) */
  quadratic_dchi2: num.nullable(),
  /** Δχ² above the best of the members placed where the model expected Δχ² = 1 */
  interval_members_dchi2: nums,
  /** parameters whose optimum lies on a bound of the grid's range */
  at_bound: z.array(z.string()),
});

export const fitFileSchema = z
  .object({
    schema: z.literal(FIT_SCHEMA),
    provenance: fitProvenanceSchema,
    base: protocolSchema,
    parameters: z.array(z.string()).min(1),
    /** per parameter: how its axis is spaced (log for D, linear otherwise unless asked) */
    scale: z.array(z.enum(['log', 'linear'])),
    grid: z.object({ axes: z.array(nums), size: count }),
    /** per grid member (grid order) */
    residual: z.array(num.min(0).nullable()),
    /** every evaluated member: the grid (in grid order), then refinement and sensitivity members */
    members: z.array(fitMemberSchema),
    /** noise estimate from the best residual: s2 = residual / (points − parameters) (NaN, written null: no degrees of freedom) */
    noise: z.object({ s2: numOrNaN, points: count, dof: z.number().int() }),
    best: z.object({
      values: nums,
      residual: num,
      /** Δχ² = 1 (χ² = SSR / s2) profile-likelihood interval per parameter */
      interval: z.array(interval),
      /** per observation: the best member's model at the measured depths */
      model: z.array(speciesSeriesSchema),
      /** index into members */
      member: count,
      /** the discrete profile's Δχ² = 1 interval over the evaluated members (null: it does not close inside the evaluated range) */
      interval_profile: z.array(pair.nullable()).optional(),
      /** the Gauss–Newton (linearised) interval from the sensitivity derivatives */
      interval_linearized: z.array(interval).optional(),
      /** the sandwich (cluster-robust, clusters = measured depth points) interval */
      interval_robust: z.array(interval).optional(),
      /** the local quadratic model of the residual the intervals come from (free: the parameters it spans; Hessian in scaled coordinates, ln p on log axes) */
      quadratic: z
        .object({ centre: nums, residual: num.optional(), points: count, free: z.array(z.string()), hessian_scaled: z.array(nums) })
        .optional(),
    }),
    /** the k best members (ascending residual) */
    top: z.array(z.object({ values: nums, residual: num, member: count })),
    measured: z.object({ observations: z.array(fitObservationSchema) }),
    sensitivity: z.array(fitSensitivitySchema).optional(),
    /** whether the fit converged and reports itself consistently (cait fit; absent from cait sensitivity) */
    convergence: fitConvergenceSchema.optional(),
    /** what the fit warns about (no convergence, a best outside its interval, a bound reached, a non-quadratic residual, an open interval, failed members, …) */
    warnings: z.array(z.string()).optional(),
    /** the engine batches: grid, refinement rounds, optimiser iterations, interval rounds, sensitivity */
    phases: z.array(z.object({ phase: z.string(), members: count, failed: count, wall_s: num })).optional(),
    /** who computed the residuals: the engine itself, or the fit from the members' final profiles */
    residuals_source: z.enum(['engine', 'final profiles']).optional(),
  })
  .superRefine((f, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    const P = f.parameters.length;
    if (f.grid.axes.length !== P) issue(['grid', 'axes'], `expected ${P} axes (one per parameter), got ${f.grid.axes.length}`);
    f.grid.axes.forEach((a, j) => {
      if (a.length === 0) issue(['grid', 'axes', j], 'expected at least one value');
    });
    const size = f.grid.axes.reduce((s, a) => s * a.length, 1);
    if (f.grid.size !== size) issue(['grid', 'size'], `${f.grid.size} is not the product of the axis lengths (${size})`);
    if (f.scale.length !== P) issue(['scale'], `expected ${P} entries (one per parameter), got ${f.scale.length}`);
    if (f.residual.length !== f.grid.size) issue(['residual'], `expected ${f.grid.size} entries (one per grid member), got ${f.residual.length}`);
    if (f.members.length < f.grid.size) issue(['members'], `expected at least the ${f.grid.size} grid members, got ${f.members.length}`);
    f.members.forEach((m, i) => {
      if (m.values.length !== P) issue(['members', i, 'values'], `expected ${P} values (one per parameter), got ${m.values.length}`);
    });
    if (f.best.values.length !== P) issue(['best', 'values'], `expected ${P} values (one per parameter), got ${f.best.values.length}`);
    if (f.best.member >= f.members.length) issue(['best', 'member'], `${f.best.member} is not an index into members (${f.members.length})`);
    f.measured.observations.forEach((o, k) => {
      for (const sp of o.species) {
        const t = o.target[sp];
        if (t?.length !== o.depth_nm.length) issue(['measured', 'observations', k, 'target', sp], `expected ${o.depth_nm.length} numbers (one per depth), got ${t ? t.length : 'none'}`);
      }
    });
  });

export type SpeciesSeries = z.infer<typeof speciesSeriesSchema>;
export type FitProvenance = z.infer<typeof fitProvenanceSchema>;
export type FitObservation = z.infer<typeof fitObservationSchema>;
export type FitMember = z.infer<typeof fitMemberSchema>;
export type FitSensitivity = z.infer<typeof fitSensitivitySchema>;
export type FitConvergence = z.infer<typeof fitConvergenceSchema>;
export type FitFile = z.infer<typeof fitFileSchema>;

export type DepthResolutionAgrees = Assert<Equal<z.infer<typeof depthResolutionSchema>, DepthResolution>>;
