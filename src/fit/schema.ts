/**
 * The fit result file `cait-fit/1`: written by `cait fit` (src/fit, src/cli/fit.ts),
 * read by the browser explorer (src/web). Types only, platform-neutral.
 *
 * Conventions: parameters are dotted protocol paths (`stages.1.D.Cs.D_m2s`),
 * values in the units of the field's name; a residual is the weighted sum of
 * squares Σ_obs Σ_species w_s Σ_points (model − measured)² (src/observe/observe.ts),
 * `null` for a failed member. Grid members are the cartesian product of
 * `grid.axes` (the last parameter varies fastest), listed first in `members`
 * in that order; `residual[i]` is grid member i's.
 */
import type { Protocol } from '../config/schema.js';
import type { DepthResolution } from '../observe/observe.js';
import type { ExecutorRecord } from '../ensemble/output.js';

export const FIT_SCHEMA = 'cait-fit/1';

/** Per species: values at the observation's measured depths (`measured.observations[k].depth_nm`). */
export type SpeciesSeries = Record<string, number[]>;

export interface FitProvenance {
  software: string;
  version: string;
  date: string;
  config_sha256: string;
  engine: string;
  adapter: string;
  node?: string;
  platform?: string;
  /** the command line that made the file */
  command?: string;
  wall_s: number;
  /** --executor slurm: the job arrays that ran the fit's batches */
  executor?: ExecutorRecord;
}

export interface FitObservation {
  /** 0-based stage after which it was measured */
  stage: number;
  /** file name as given */
  label: string;
  species: string[];
  weights: number[];
  window_nm: [number, number];
  resolution: DepthResolution;
  /** measured depths inside the window, nm */
  depth_nm: number[];
  /** measured normalized densities at depth_nm */
  target: SpeciesSeries;
}

export interface FitMember {
  values: number[];
  status: 'ok' | 'failed';
  reason?: string;
  /** total weighted SSR, null when failed */
  residual: number | null;
  /**
   * where the member came from: the grid, a refinement round of the grid (--refine), the local
   * optimiser (its trial points and finite-difference members), the members placed around the best
   * to measure the Δχ² = 1 surface, or the sensitivity members
   */
  source: 'grid' | 'refine' | 'local' | 'interval' | 'sensitivity';
  /** per observation: species → weighted SSR part */
  parts?: Record<string, number>[];
  /** per observation: the model at the measured depths (omitted with --member-profiles none) */
  model?: SpeciesSeries[];
}

export interface FitSensitivity {
  path: string;
  /** relative step of the central difference (e.g. 0.05 = ±5 %) */
  step: number;
  /** one-number summary: RMS over species and points of d model / d ln p (n/n0 per e-fold) */
  rms: number;
  /** per observation: d model / d ln p at the measured depths */
  derivative: SpeciesSeries[];
  /** per observation: the model with this parameter at best × 0.8 and × 1.2 (others at best) */
  minus20: SpeciesSeries[];
  plus20: SpeciesSeries[];
  /** residuals of the ±20 % members */
  residual_minus20: number | null;
  residual_plus20: number | null;
}

/**
 * Whether a fit found its minimum and reports it consistently: the local optimiser converged
 * (its Gauss–Newton step predicts a χ² decrease below 0.01), the best lies inside each of its
 * Δχ² = 1 intervals, the quadratic model's minimum agrees with the best, the members placed at
 * the expected Δχ² = 1 surface show Δχ² near 1, and no optimum lies on a bound of the grid.
 */
export interface FitConvergence {
  /** all of the above hold */
  converged: boolean;
  optimizer: 'levenberg-marquardt' | 'none';
  /** optimiser iterations (one engine batch each) */
  iterations: number;
  /** the χ² decrease a Gauss–Newton step from the best still predicts (null: unknown) */
  predicted_dchi2: number | null;
  /** why the optimiser stopped */
  reason: string;
  /** per parameter: the best lies inside its Δχ² = 1 interval */
  best_inside_interval: boolean[];
  /** Δχ² of the best above the quadratic model's minimum (null: no model) */
  quadratic_dchi2: number | null;
  /** Δχ² above the best of the members placed where the model expected Δχ² = 1 */
  interval_members_dchi2: number[];
  /** parameters whose optimum lies on a bound of the grid's range */
  at_bound: string[];
}

export interface FitFile {
  schema: typeof FIT_SCHEMA;
  provenance: FitProvenance;
  base: Protocol;
  parameters: string[];
  /** per parameter: how its axis is spaced (log for D, linear otherwise unless asked) */
  scale: ('log' | 'linear')[];
  grid: { axes: number[][]; size: number };
  /** per grid member (grid order) */
  residual: (number | null)[];
  /** every evaluated member: the grid (in grid order), then refinement and sensitivity members */
  members: FitMember[];
  /** noise estimate from the best residual: s2 = residual / (points − parameters) */
  noise: { s2: number; points: number; dof: number };
  best: {
    values: number[];
    residual: number;
    /** Δχ² = 1 (χ² = SSR / s2) profile-likelihood interval per parameter */
    interval: [number, number][];
    /** per observation: the best member's model at the measured depths */
    model: SpeciesSeries[];
    /** index into members */
    member: number;
    /** the discrete profile's Δχ² = 1 interval over the evaluated members (null: it does not close inside the evaluated range) */
    interval_profile?: ([number, number] | null)[];
    /** the Gauss–Newton (linearised) interval from the sensitivity derivatives */
    interval_linearized?: [number, number][];
    /** the sandwich (cluster-robust, clusters = measured depth points) interval */
    interval_robust?: [number, number][];
    /** the local quadratic model of the residual the intervals come from (free: the parameters it spans; Hessian in scaled coordinates, ln p on log axes) */
    quadratic?: { centre: number[]; residual?: number; points: number; free: string[]; hessian_scaled: number[][] };
  };
  /** the k best members (ascending residual) */
  top: { values: number[]; residual: number; member: number }[];
  measured: { observations: FitObservation[] };
  sensitivity?: FitSensitivity[];
  /** whether the fit converged and reports itself consistently (cait fit; absent from cait sensitivity) */
  convergence?: FitConvergence;
  /** what the fit warns about (no convergence, a best outside its interval, a bound reached, a non-quadratic residual, an open interval, failed members, …) */
  warnings?: string[];
  /** the engine batches: grid, refinement rounds, optimiser iterations, interval rounds, sensitivity */
  phases?: { phase: string; members: number; failed: number; wall_s: number }[];
  /** who computed the residuals: the engine itself, or the fit from the members' final profiles */
  residuals_source?: 'engine' | 'final profiles';
}
