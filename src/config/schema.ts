/**
 * The protocol format: one JSON document describes a sample, its mobile
 * species, the grid, the front boundary, the solver tolerances and a list
 * of CAIT stages. `cait config --preset paper` prints it; a dotted path into
 * it (`stages.1.D.Cs.D_m2s`) names a parameter for sweeps.
 *
 * Units are SI and appear in the field names (`_m`, `_m2s`, `_eV`, `_K`, ...),
 * except grid lengths, which are in nanometres (`_nm`).
 */
import { z } from 'zod';

const positive = (what: string) =>
  z.number({ error: `${what} must be a number` }).finite(`${what} must be finite`).positive(`${what} must be > 0`);
const nonNegative = (what: string) =>
  z.number({ error: `${what} must be a number` }).finite(`${what} must be finite`).nonnegative(`${what} must be >= 0`);

/** A species name: letters and digits, starting with a capital (Li, Rb, Cs, Na, K, H3O). */
export const speciesName = z.string().regex(/^[A-Z][A-Za-z0-9]{0,15}$/, 'species names are like Li, Rb, Cs');

export const sampleSchema = z.strictObject({
  thickness_m: positive('thickness'),
  area_m2: positive('area'),
  n0_m3: positive('native density n0'),
  epsr: positive('relative permittivity'),
});

export const speciesSchema = z.strictObject({
  /** charge number z (non-zero integer) */
  z: z.number().int('z must be an integer').refine((v) => v !== 0, 'z must not be 0'),
  /** initial density in units of n0 (uniform) */
  initial: nonNegative('initial density'),
});

/** SED width with its convention (docs/model.md §4.1). */
export const widthSchema = z.strictObject({
  convention: z.enum(['sigma', 'gamma', 'fwhmPopulated']),
  value_eV: positive('SED width'),
});

export const fallSchema = z.strictObject({
  /** threshold θ_fall below which D falls off */
  theta: z.number().finite().gt(0, 'fall-off threshold must be in (0,1]').lte(1, 'fall-off threshold must be in (0,1]'),
  /** decades k_fall */
  decades: nonNegative('fall-off decades'),
  /** width w_fall in θ */
  width: positive('fall-off width'),
});

/** D_bulk given directly or by Arrhenius. */
export const bulkSchema = z.union([
  z.strictObject({ D_m2s: positive('D') }),
  z.strictObject({ D0_m2s: positive('D0'), Ea_eV: nonNegative('activation energy') }),
]);

export const dModelSchema = z.discriminatedUnion('model', [
  z.strictObject({ model: z.literal('constant'), D_m2s: positive('D') }),
  z.strictObject({ model: z.literal('arrhenius'), D0_m2s: positive('D0'), Ea_eV: nonNegative('activation energy') }),
  z.strictObject({
    model: z.literal('sed'),
    bulk: bulkSchema,
    width: widthSchema,
    /** fraction of sites filled at θ = 1 */
    f: z.number().finite().gt(0, 'f must be in (0,1)').lt(1, 'f must be in (0,1)'),
    fall: fallSchema.optional(),
    nref: z.enum(['bulk', 'stageStart']).default('bulk'),
    /** with nref = stageStart: smallest reference density (n/n0); where the species was (almost) absent at the start, θ = n / nref_floor */
    nref_floor: z.number().finite().gt(0, 'nref_floor must be in (0,1]').lte(1, 'nref_floor must be in (0,1]').default(0.01),
  }),
  z.strictObject({
    model: z.literal('table'),
    /** θ points, strictly increasing */
    theta: z.array(nonNegative('theta')).min(2, 'a table needs at least 2 points'),
    D_m2s: z.array(positive('D')).min(2, 'a table needs at least 2 points'),
    nref: z.enum(['bulk', 'stageStart']).default('bulk'),
    nref_floor: z.number().finite().gt(0, 'nref_floor must be in (0,1]').lte(1, 'nref_floor must be in (0,1]').default(0.01),
  }),
]);

export const stopSchema = z.union([z.strictObject({ charge_C: positive('charge') }), z.strictObject({ duration_s: positive('duration') })], {
  // both, neither or an unknown key: say what a stop is instead of zod's "Invalid input"
  error: (iss) => (iss.code === 'invalid_union' ? 'a stop is exactly one of {"charge_C": C} (stop when this charge is delivered) or {"duration_s": s} (stop after this time), not both' : undefined),
});

export const stageSchema = z.strictObject({
  name: z.string().min(1),
  beam: speciesName,
  U_V: z.number().finite(),
  T_K: positive('temperature'),
  stop: stopSchema,
  /** upper bound on the stage's duration when stopping on charge (a stage that cannot deliver its charge fails here) */
  max_duration_s: positive('max duration').default(1e8),
  /** extra profile snapshots */
  record: z
    .strictObject({
      times_s: z.array(positive('record time')).default([]),
      charges_C: z.array(positive('record charge')).default([]),
    })
    .default({ times_s: [], charges_C: [] }),
  /** D model per species present in this stage */
  D: z.record(speciesName, dModelSchema),
});

export const gridSchema = z.strictObject({
  /** fine cell size near the surface, nm */
  h_fine_nm: positive('fine cell size'),
  /** depth of the fine zone, nm */
  x_fine_nm: positive('fine zone depth'),
  /** maximum growth ratio between neighbouring cells beyond the fine zone */
  growth: z.number().finite().gt(1, 'growth must be > 1').lte(2, 'growth must be <= 2'),
});

export const frontSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('clamped'), c_res: positive('reservoir density').default(1) }),
  z.strictObject({
    type: z.literal('aperture'),
    c_res: positive('reservoir density').default(1),
    /** vacuum gap between the grounded aperture and the surface, m */
    gap_m: positive('aperture gap').default(8e-3),
  }),
]);

export const solverSchema = z.strictObject({
  /** relative tolerance of the local error estimate (on n/n0) */
  rtol: positive('rtol').default(1e-3),
  /** absolute tolerance (n/n0 units) */
  atol: positive('atol').default(1e-4),
  /** first step of each stage, s */
  dt0_s: positive('first step').default(1e-6),
  /** largest step, s */
  dt_max_s: positive('largest step').default(1e4),
  max_steps: z.number().int().positive().default(200000),
  /** face average of D between neighbouring cells */
  face_D: z.enum(['arithmetic', 'harmonic', 'geometric']).default('arithmetic'),
  /**
   * `poisson`: full Poisson (the reference). `quasineutral`: the limit of a vanishing Debye length,
   * Σ z n = 1 with the potential from current continuity (what float32 engines can carry).
   */
  formulation: z.enum(['poisson', 'quasineutral']).default('poisson'),
});

export const protocolSchema = z
  .strictObject({
    schema: z.literal('cait-protocol/1').default('cait-protocol/1'),
    name: z.string().default('custom'),
    description: z.string().optional(),
    sample: sampleSchema,
    species: z.record(speciesName, speciesSchema),
    grid: gridSchema,
    front: frontSchema.default({ type: 'clamped', c_res: 1 }),
    solver: solverSchema.default({
      rtol: 1e-3,
      atol: 1e-4,
      dt0_s: 1e-6,
      dt_max_s: 1e4,
      max_steps: 200000,
      face_D: 'arithmetic',
      formulation: 'poisson',
    }),
    stages: z.array(stageSchema).min(1, 'a protocol needs at least one stage'),
  })
  .superRefine((p, ctx) => {
    const known = new Set(Object.keys(p.species));
    if (known.size === 0) ctx.addIssue({ code: 'custom', path: ['species'], message: 'no species' });
    if (known.size > 4) ctx.addIssue({ code: 'custom', path: ['species'], message: 'at most 4 mobile species' });
    if (p.grid.h_fine_nm > p.grid.x_fine_nm)
      ctx.addIssue({ code: 'custom', path: ['grid', 'h_fine_nm'], message: 'fine cell size exceeds the fine zone' });
    if (p.grid.x_fine_nm * 1e-9 >= p.sample.thickness_m)
      ctx.addIssue({ code: 'custom', path: ['grid', 'x_fine_nm'], message: 'fine zone is thicker than the sample' });
    const initialSum = Object.values(p.species).reduce((s, sp) => s + sp.z * sp.initial, 0);
    if (Math.abs(initialSum - 1) > 1e-9)
      ctx.addIssue({
        code: 'custom',
        path: ['species'],
        message: `initial charge densities must sum to 1 (the glass is neutral); they sum to ${initialSum}`,
      });
    // which species can be non-zero at the start of each stage
    const present = new Set(Object.entries(p.species).filter(([, s]) => s.initial > 0).map(([k]) => k));
    p.stages.forEach((st, k) => {
      if (!known.has(st.beam))
        ctx.addIssue({ code: 'custom', path: ['stages', k, 'beam'], message: `unknown species "${st.beam}"` });
      for (const name of Object.keys(st.D)) {
        if (!known.has(name))
          ctx.addIssue({ code: 'custom', path: ['stages', k, 'D', name], message: `unknown species "${name}"` });
      }
      present.add(st.beam);
      for (const name of present) {
        if (known.has(name) && !(name in st.D))
          ctx.addIssue({
            code: 'custom',
            path: ['stages', k, 'D'],
            message: `species "${name}" is present in this stage but has no D model`,
          });
      }
      for (const [name, m] of Object.entries(st.D)) {
        if (m.model === 'table') {
          if (m.theta.length !== m.D_m2s.length)
            ctx.addIssue({
              code: 'custom',
              path: ['stages', k, 'D', name, 'D_m2s'],
              message: 'theta and D_m2s must have the same length',
            });
          for (let i = 1; i < m.theta.length; i++)
            if (!(m.theta[i] > m.theta[i - 1])) {
              ctx.addIssue({
                code: 'custom',
                path: ['stages', k, 'D', name, 'theta', i],
                message: 'theta must be strictly increasing',
              });
              break;
            }
        }
        if (m.model === 'sed' && m.width.convention === 'fwhmPopulated') {
          // w_p = σ (√(2 ln 2) + Φ⁻¹(f)) only while Φ⁻¹(f) < √(2 ln 2), i.e. f < Φ(1.17741) ≈ 0.8805
          if (m.f >= 0.88049)
            ctx.addIssue({
              code: 'custom',
              path: ['stages', k, 'D', name, 'f'],
              message: 'fwhmPopulated needs f < 0.8805 (the Fermi level must lie below the half-maximum)',
            });
        }
      }
    });
  });

export type ProtocolInput = z.input<typeof protocolSchema>;
export type Protocol = z.output<typeof protocolSchema>;
export type Stage = Protocol['stages'][number];
export type DModel = z.output<typeof dModelSchema>;
export type SedModel = Extract<DModel, { model: 'sed' }>;
export type Front = Protocol['front'];
