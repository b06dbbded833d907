/**
 * What the sensitivity indices of a model study are *of*: named scalar
 * outputs of each member, and depth-resolved profiles.
 *
 * Scalars (per stage k = 1..N, named like the columns of the ensemble CSV,
 * src/ensemble/output.ts; values from the stage summary, src/ensemble/summary.ts):
 *   s<k>_duration_s, s<k>_final_current_A          duration (s), final current (A)
 *   s<k>_front_<sp>_nm                             where <sp> crosses 0.5 n0 (nm): the native species
 *                                                  rising (the Li+ front), a foreign species that has
 *                                                  entered falling (the end of its zone)
 *   s<k>_max_<sp>, s<k>_max_<sp>_depth_nm          a foreign species' maximum of the 1 nm-blurred
 *                                                  profile over 2–150 nm (n/n0) and its depth (nm):
 *                                                  after stage 2 of the paper preset the Rb+ maximum
 *   s<k>_mean_<sp>                                 zone composition: mean n/n0 between 2 nm and the
 *                                                  native front − 5 nm
 *   s<k>_edge_<sp>_nm                              a foreign species' edge: the deepest depth where its
 *                                                  1 nm-blurred profile falls through half of s<k>_mean_<sp>
 *                                                  (nm). Unlike s<k>_front_<sp>_nm it stays at the end of the
 *                                                  zone when the zone holds about 0.5 n0 or less (after stage 2
 *                                                  of the paper preset Cs+ ~0.47, Rb+ ~0.49: the 0.5 crossing
 *                                                  then jumps about inside the zone)
 *   residual (and residual_<j> with several)       Σ w (model − measured)² against measured profiles
 *                                                  (src/observe/observe.ts), where they are given
 * A value that does not exist for a member (no front, a failed member) is NaN.
 *
 * Depth-resolved: each species present in a stage (the native species and
 * the foreign species that have entered) blurred by a Gaussian of σ = 1 nm
 * (mirrored at the surface, as in the profile comparisons of the README) on
 * a fixed depth grid 0, step, …, max. Platform-neutral.
 */
import type { Protocol } from '../config/schema.js';
import { blurProfile, facesFromCentres, lastFallingFront } from '../analysis/profiles.js';
import { enteredSpecies } from '../ensemble/summary.js';
import type { MemberResult } from '../ensemble/types.js';
import type { Observation } from '../observe/observe.js';

/** One named scalar output. */
export interface OutputDef {
  name: string;
  /** unit of the value (`nm`, `s`, `A`, `n/n0`, `(n/n0)²`, or '' for a test function) */
  unit: string;
  description: string;
}

/** A scalar output of a model member, NaN where it does not exist. */
export interface ModelOutput extends OutputDef {
  get(m: MemberResult): number;
}

const num = (v: number | null | undefined): number => (typeof v === 'number' && Number.isFinite(v) ? v : NaN);

/** The species present in stage k (0-based): native ones and the foreign ones that have entered, in protocol order. */
export function presentSpecies(base: Protocol, k: number): string[] {
  const entered = enteredSpecies(base, k);
  return Object.keys(base.species).filter((s) => base.species[s].initial > 0 || entered.has(s));
}

/** The scalar outputs of a protocol (and its observations), in a fixed order (see the file comment). */
export function modelOutputs(base: Protocol, observations: readonly Observation[] = []): ModelOutput[] {
  const out: ModelOutput[] = [];
  base.stages.forEach((st, k) => {
    const s = `s${k + 1}`;
    const at = (m: MemberResult) => (m.status === 'ok' ? m.stages[k] : undefined);
    const stageName = `stage ${k + 1} (${st.name})`;
    out.push({ name: `${s}_duration_s`, unit: 's', description: `duration of ${stageName}`, get: (m) => num(at(m)?.duration_s) });
    out.push({ name: `${s}_final_current_A`, unit: 'A', description: `current through the surface at the end of ${stageName}`, get: (m) => num(at(m)?.final_current_A) });
    const present = presentSpecies(base, k);
    for (const sp of present) {
      const native = base.species[sp].initial > 0;
      out.push({
        name: `${s}_front_${sp}_nm`,
        unit: 'nm',
        description: `depth where ${sp}+ ${native ? 'rises' : 'falls'} through 0.5 n0 after ${stageName}`,
        get: (m) => num(at(m)?.front_nm[sp]),
      });
    }
    for (const sp of present.filter((x) => !(base.species[x].initial > 0))) {
      out.push({ name: `${s}_max_${sp}`, unit: 'n/n0', description: `maximum of the 1 nm-blurred ${sp}+ profile (2–150 nm) after ${stageName}`, get: (m) => num(at(m)?.max[sp]?.value) });
      out.push({ name: `${s}_max_${sp}_depth_nm`, unit: 'nm', description: `depth of that ${sp}+ maximum after ${stageName}`, get: (m) => num(at(m)?.max[sp]?.depth_nm) });
    }
    for (const sp of present)
      out.push({ name: `${s}_mean_${sp}`, unit: 'n/n0', description: `mean ${sp}+ in the exchanged zone (2 nm to the native front − 5 nm) after ${stageName}`, get: (m) => num(at(m)?.mean?.density[sp]) });
    for (const sp of present.filter((x) => !(base.species[x].initial > 0)))
      out.push({ name: `${s}_edge_${sp}_nm`, unit: 'nm', description: `deepest depth where the 1 nm-blurred ${sp}+ profile falls through half its zone mean after ${stageName}`, get: (m) => zoneEdge(at(m), sp) });
  });
  if (observations.length) {
    const total = (m: MemberResult) => (m.status === 'ok' && m.residuals?.length === observations.length ? m.residuals.reduce((a, r) => a + r.ssr, 0) : NaN);
    out.push({ name: 'residual', unit: '(n/n0)²', description: `Σ w (model − measured)² over ${observations.map((o) => `${o.label} (stage ${o.stage + 1})`).join(', ')}`, get: total });
    if (observations.length > 1)
      observations.forEach((o, j) =>
        out.push({ name: `residual_${j + 1}`, unit: '(n/n0)²', description: `Σ w (model − measured)² against ${o.label} after stage ${o.stage + 1}`, get: (m) => num(m.status === 'ok' ? m.residuals?.[j]?.ssr : undefined) }),
      );
  }
  return out;
}

/** The depths (nm) on which a zone edge is searched: 0, 0.25, …, 150 (the blurred maxima of summary.ts use the same step). */
const EDGE_DEPTHS = Array.from({ length: 601 }, (_, j) => j * 0.25);

/** s<k>_edge_<sp>_nm of a stage (needs its final profiles and zone mean; NaN otherwise). */
function zoneEdge(st: MemberResult['stages'][number] | undefined, sp: string): number {
  const n = st?.density?.[sp];
  const mean = st?.mean?.density[sp];
  if (!st?.depth_nm || !n || !(typeof mean === 'number' && mean > 0)) return NaN;
  const b = blurProfile(facesFromCentres(st.depth_nm), n, DEPTH_DEFAULTS.blur_nm, EDGE_DEPTHS);
  return lastFallingFront(EDGE_DEPTHS, b, mean / 2);
}

/** The depth-resolved outputs: which profiles, on which depths, through which blur. */
export interface DepthSpec {
  /** depth step, nm (default 0.5) */
  step_nm: number;
  /** deepest depth, nm (default 150) */
  max_nm: number;
  /** σ of the Gaussian blur, nm (default 1) */
  blur_nm: number;
}

export const DEPTH_DEFAULTS: DepthSpec = { step_nm: 0.5, max_nm: 150, blur_nm: 1 };

/** One depth-resolved profile: a species after a stage (0-based). */
export interface DepthChannel {
  stage: number;
  species: string;
}

/** Every (stage, present species) pair of a protocol, stage by stage. */
export function depthChannels(base: Protocol): DepthChannel[] {
  return base.stages.flatMap((_, k) => presentSpecies(base, k).map((species) => ({ stage: k, species })));
}

/** The depth grid 0, step, …, ≤ max (nm). */
export function depthGrid(spec: DepthSpec): number[] {
  const n = Math.floor(spec.max_nm / spec.step_nm + 1e-9) + 1;
  return Array.from({ length: n }, (_, j) => Number((j * spec.step_nm).toPrecision(12)));
}

/**
 * A member's blurred profiles on the depth grid, one array per channel
 * (NaN-filled for a failed member or a stage without profiles).
 */
export function memberDepthValues(m: MemberResult, channels: readonly DepthChannel[], depth_nm: readonly number[], blur_nm: number): Float64Array[] {
  const faces = new Map<number, Float64Array>();
  return channels.map(({ stage, species }) => {
    const st = m.status === 'ok' ? m.stages[stage] : undefined;
    const n = st?.density?.[species];
    if (!st?.depth_nm || !n) return new Float64Array(depth_nm.length).fill(NaN);
    let f = faces.get(stage);
    if (!f) faces.set(stage, (f = facesFromCentres(st.depth_nm)));
    return blurProfile(f, n, blur_nm, depth_nm);
  });
}
