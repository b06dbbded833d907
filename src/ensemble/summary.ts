/**
 * The per-stage scalar summary of a member: what an ensemble keeps of a
 * stage when its profiles are dropped (`--profiles none`), and what the
 * CSV export has one column per. Computed from a StageResult with the
 * profile tools of src/analysis/profiles.ts (fronts, 1 nm Gaussian blur).
 *
 * Species roles (from the protocol): a *native* species starts in the glass
 * (`initial` > 0, Li+ in the paper preset); a *foreign* species starts at 0
 * and *has entered* by stage k when it is the beam of stage k or of an
 * earlier stage (Rb+ from stage 1 on, Cs+ in stage 2). The *native front* is
 * the rising 0.5 n0 front of the native species with the largest initial
 * density (Li+).
 *
 * @example
 * const protocol = getPreset('paper');
 * const r = simulate(protocol);
 * const s = summarizeStage(r.stages[1], protocol, 1);
 * s.front_nm.Li;      // 80.6 nm: where Li+ rises through 0.5 n0 after stage 2
 * s.max.Rb;           // { value: 0.839, depth_nm: 77.9 }: the Rb+ maximum just before the Li+ onset (1 nm blur)
 * s.mean?.density.Cs; // 0.474: mean Cs+ (n/n0) between 2 nm and (Li front − 5 nm)
 */
import type { Protocol } from '../config/schema.js';
import { blurProfile, facesFromCentres, fallingFront, risingFront } from '../analysis/profiles.js';
import type { ProtocolResult, StageResult } from '../solver/types.js';

export interface SummaryOptions {
  /** σ of the Gaussian blur applied before taking maxima, nm (default 1: half the SIMS depth resolution, docs/model.md §6.1) */
  blur_nm?: number;
  /** shallowest depth of the maxima and of the mean composition, nm (default 2) */
  from_nm?: number;
  /** deepest depth of the maxima, nm (default 150; less where the grid is shallower) */
  to_nm?: number;
  /** sampling step of the blurred profile, nm (default 0.25); the maximum is refined by a parabola through its neighbours */
  step_nm?: number;
  /** the mean composition ends this far before the native front, nm (default 5) */
  margin_nm?: number;
  /** the level of the fronts, n/n0 (default 0.5) */
  level?: number;
}

export const SUMMARY_DEFAULTS: Required<SummaryOptions> = {
  blur_nm: 1,
  from_nm: 2,
  to_nm: 150,
  step_nm: 0.25,
  margin_nm: 5,
  level: 0.5,
};

/** A maximum of a blurred profile. */
export interface SpeciesMax {
  /** the maximum of the blurred profile, n/n0 */
  value: number;
  /** its depth, nm */
  depth_nm: number;
}

/** The scalars of one stage. Units are in the names: s, C, A, nm; densities are n/n0. */
export interface StageSummary {
  /** stage name (from the protocol) */
  name: string;
  /** beam species of the stage */
  beam: string;
  /** duration of the stage, s */
  duration_s: number;
  /** delivered charge e·A·∫J_beam(0,t)dt, C */
  charge_C: number;
  /** current through the irradiated surface at the end of the stage, A */
  final_current_A: number;
  /**
   * Per species of the protocol: the depth (nm) where its profile crosses
   * 0.5 n0, scanning from the surface and interpolating linearly between
   * cell centres — *rising* through 0.5 for a native species (the exchange
   * front, Li+), *falling* through 0.5 for a foreign species that has
   * entered (the end of its zone). null where the profile never crosses
   * 0.5 n0 and for a foreign species that has not entered yet.
   */
  front_nm: Record<string, number | null>;
  /**
   * Per species: the maximum of the profile blurred by a Gaussian of σ =
   * `blur_nm` (1 nm, mirrored at the surface) over depths `from_nm`..`to_nm`
   * (2–150 nm), and its depth (the first depth within 1e-6 of the maximum,
   * refined by a parabola where that is a local maximum). For a foreign
   * species this finds its zone's peak (after stage 2 of the paper preset:
   * the Rb+ maximum just before the Li+ onset); for a native species it is
   * the bulk value and the depth where the bulk plateau begins. null for a
   * foreign species that has not entered yet.
   */
  max: Record<string, SpeciesMax | null>;
  /**
   * The mean composition of the exchanged zone: the depth average of each
   * species' (unblurred) n/n0 between `from_nm` (2 nm) and the native front
   * minus `margin_nm` (5 nm), cells cut exactly at the window's ends. null
   * when there is no native front or the window is empty (front ≤ 7 nm).
   */
  mean: { from_nm: number; to_nm: number; density: Record<string, number> } | null;
}

/** The species that start in the glass (initial > 0), in protocol order. */
export function nativeSpecies(protocol: Protocol): string[] {
  return Object.entries(protocol.species)
    .filter(([, s]) => s.initial > 0)
    .map(([k]) => k);
}

/** The native species whose rising front bounds the mean composition: the largest initial density (the first on ties). */
export function frontSpecies(protocol: Protocol): string | undefined {
  let best: string | undefined;
  let v = 0;
  for (const [k, s] of Object.entries(protocol.species))
    if (s.initial > v) {
      v = s.initial;
      best = k;
    }
  return best;
}

/** The foreign species that have entered by stage `k` (0-based): beams of stages 0..k that did not start in the glass. */
export function enteredSpecies(protocol: Protocol, k: number): Set<string> {
  const out = new Set<string>();
  for (let j = 0; j <= k && j < protocol.stages.length; j++) {
    const b = protocol.stages[j].beam;
    if (!(protocol.species[b]?.initial > 0)) out.add(b);
  }
  return out;
}

function blurredMax(faces: Float64Array, depth: ArrayLike<number>, values: ArrayLike<number>, o: Required<SummaryOptions>): SpeciesMax | null {
  const to = Math.min(o.to_nm, depth[depth.length - 1]);
  if (!(to >= o.from_nm)) return null;
  const n = Math.floor((to - o.from_nm) / o.step_nm + 1e-9) + 1;
  const at = new Float64Array(n);
  for (let j = 0; j < n; j++) at[j] = o.from_nm + j * o.step_nm;
  const b = blurProfile(faces, values, o.blur_nm, at);
  let m = -Infinity;
  for (let j = 0; j < n; j++) if (b[j] > m) m = b[j];
  const tol = 1e-6 * Math.max(1, Math.abs(m));
  let j = 0;
  while (j < n - 1 && b[j] < m - tol) j++;
  let depth_nm = at[j];
  let value = b[j];
  if (j > 0 && j < n - 1 && b[j] >= b[j - 1] && b[j] >= b[j + 1]) {
    const den = b[j - 1] - 2 * b[j] + b[j + 1];
    if (den < 0) {
      const d = (b[j - 1] - b[j + 1]) / (2 * den);
      depth_nm += d * o.step_nm;
      value -= 0.25 * (b[j - 1] - b[j + 1]) * d;
    }
  }
  return { value, depth_nm };
}

/** ∫ over [a, b] of the cell-wise constant profile, divided by (b − a). */
function windowMean(faces: Float64Array, values: ArrayLike<number>, a: number, b: number): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) {
    const lo = Math.max(a, faces[i]);
    const hi = Math.min(b, faces[i + 1]);
    if (faces[i] >= b) break;
    if (hi > lo) s += (hi - lo) * values[i];
  }
  return s / (b - a);
}

/**
 * The scalar summary of stage `k` (0-based) of a run of `protocol`.
 *
 * @example
 * summarizeStage(result.stages[0], protocol, 0).front_nm; // { Li: 44.85, Rb: 44.85, Cs: null } (paper preset)
 */
export function summarizeStage(stage: StageResult, protocol: Protocol, k: number, opts: SummaryOptions = {}): StageSummary {
  const o = { ...SUMMARY_DEFAULTS, ...opts };
  const species = Object.keys(protocol.species);
  const entered = enteredSpecies(protocol, k);
  const depth = stage.depth_nm;
  const faces = facesFromCentres(depth);
  const front_nm: StageSummary['front_nm'] = {};
  const max: StageSummary['max'] = {};
  for (const s of species) {
    const n = stage.density[s];
    const native = protocol.species[s].initial > 0;
    if (!n || (!native && !entered.has(s))) {
      front_nm[s] = null;
      max[s] = null;
      continue;
    }
    const f = native ? risingFront(depth, n, o.level) : fallingFront(depth, n, o.level);
    front_nm[s] = Number.isFinite(f) ? f : null;
    max[s] = blurredMax(faces, depth, n, o);
  }
  let mean: StageSummary['mean'] = null;
  const fs = frontSpecies(protocol);
  const xf = fs !== undefined ? front_nm[fs] : null;
  if (xf !== null && xf !== undefined && xf - o.margin_nm > o.from_nm) {
    const to = xf - o.margin_nm;
    const density: Record<string, number> = {};
    for (const s of species) density[s] = stage.density[s] ? windowMean(faces, stage.density[s], o.from_nm, to) : 0;
    mean = { from_nm: o.from_nm, to_nm: to, density };
  }
  return {
    name: stage.name,
    beam: stage.beam,
    duration_s: stage.duration_s,
    charge_C: stage.charge_C,
    final_current_A: stage.final_current_A,
    front_nm,
    max,
    mean,
  };
}

/** The summaries of every stage of a run. */
export function summarizeResult(protocol: Protocol, result: ProtocolResult, opts: SummaryOptions = {}): StageSummary[] {
  return result.stages.map((st, k) => summarizeStage(st, protocol, k, opts));
}
