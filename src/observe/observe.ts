/**
 * The observation operator: what a SIMS measurement makes of a simulated
 * profile (docs/model.md §7.2), and the residual of a member against a measured
 * profile. Defined once here (f64) for every engine: the CPU engine applies
 * it directly; the WebGPU engine uploads the same sparse weights (as f32)
 * and applies them in shaders/residual.wgsl.
 *
 * A measured point at depth x sees the cell-wise constant simulated profile
 * through a depth-resolution function g (a Gaussian of σ, or Hofmann's
 * mixing–roughness–information-depth function), mirrored at the surface so
 * that no material is lost: model(x) = Σ_cells n_i ∫_cell [g(x − z) + g(x + z)] dz.
 *
 * The residual of one observation is Σ_species w_s Σ_points (model − measured)²
 * over the points inside the depth window: a weighted sum of squares with
 * its per-species parts. Platform-neutral (no Node imports).
 *
 * @example
 * const op = observationOperator(faces, obs.depth_nm, { kind: 'gauss', sigma_nm: 2 });
 * const r = observationResidual(op, obs, stage.density); // r.ssr, r.parts.Rb
 */
import { InputError } from '../core/errors.js';
import { erfcx, normCdf } from '../physics/special.js';

/** Gaussian depth resolution (standard deviation σ, nm). */
export interface GaussResolution {
  kind: 'gauss';
  sigma_nm: number;
}

/**
 * Hofmann's MRI depth-resolution function: atomic mixing length w (an
 * exponential tail towards larger sputter depth, onset −w), roughness σ (a
 * Gaussian) and information depth λ (an exponential towards the surface),
 * convolved. u = sputter depth − atom depth.
 */
export interface MriResolution {
  kind: 'mri';
  w_nm: number;
  sigma_nm: number;
  lambda_nm: number;
}

export type DepthResolution = GaussResolution | MriResolution;

/** A measured profile attached to a stage, reduced to what the residual needs. */
export interface Observation {
  /** 0-based stage after which the profile was measured */
  stage: number;
  /** where it came from (file name), for outputs and messages */
  label: string;
  /** compared species (in the protocol and in the measurement) */
  species: string[];
  /** weight of each species' squared differences, same order as species */
  weights: number[];
  /** measured depths inside the window, nm, increasing */
  depth_nm: number[];
  /** target[s][j]: measured normalized density of species[s] at depth_nm[j] */
  target: number[][];
  resolution: DepthResolution;
}

/**
 * Sparse weights: point j sees cells first[j] … first[j] + count[j] − 1
 * with weights w[offset[j] + k].
 */
export interface ObservationOperator {
  points: number;
  cells: number;
  first: Int32Array;
  count: Int32Array;
  offset: Int32Array;
  w: Float64Array;
}

export interface ObservationResidual {
  /** Σ_s w_s Σ_j (model − target)² */
  ssr: number;
  /** per species: w_s Σ_j (model − target)² */
  parts: Record<string, number>;
  /** points per species (the window's) */
  points: number;
  /** with keepModel: the model at the measured depths, per species */
  model?: Record<string, number[]>;
}

/** Cells whose weight is below this are dropped (the weights of a point sum to 1 within ~1e-12). */
const W_CUT = 1e-12;

function checkResolution(res: DepthResolution): void {
  const bad = (name: string, v: number) => {
    if (!(Number.isFinite(v) && v > 0)) throw new InputError(`depth resolution ${name} must be a positive number of nm (got ${v})`);
  };
  bad('sigma_nm', res.sigma_nm);
  if (res.kind === 'mri') {
    bad('w_nm', res.w_nm);
    bad('lambda_nm', res.lambda_nm);
  }
}

/**
 * The cumulative distribution G(u) = ∫_{−∞}^{u} g of the depth-resolution
 * function, as a function, and how far it reaches on each side (nm).
 * Gaussian: analytic. MRI: the three parts convolved numerically on a fine grid.
 */
export function resolutionCdf(res: DepthResolution): { G: (u: number) => number; lo: number; hi: number } {
  checkResolution(res);
  const s = res.sigma_nm;
  if (res.kind === 'gauss') return { G: (u) => normCdf(u / s), lo: -8 * s, hi: 8 * s };
  const { w_nm: w, lambda_nm: lam } = res;
  const lo = -w - 8 * s - 30 * lam;
  const hi = -w + 8 * s + 30 * w;
  const du = Math.min(s, w, lam) / 40;
  const n = Math.ceil((hi - lo) / du) + 1;
  // pdf of mixing ⊗ roughness: (1/w) e^{−(u+w)/w} for u ≥ −w, convolved with N(0, s²) (closed form)
  const mixGauss = (u: number) => {
    const v = u + w;
    const a = s / w;
    // (1/w) e^{a²/2 − v/w} Φ(v/s − a); where Φ is small, the same as (1/w) e^{−(v/s)²/2} erfcx(t/√2)/2 with t = a − v/s
    const arg = v / s - a;
    if (arg >= 0) return (1 / w) * Math.exp(0.5 * a * a - v / w) * normCdf(arg);
    return (1 / w) * Math.exp(-0.5 * (v / s) ** 2) * 0.5 * erfcx(-arg / Math.SQRT2);
  };
  const base = new Float64Array(n);
  for (let i = 0; i < n; i++) base[i] = mixGauss(lo + i * du);
  // information depth: (1/λ) e^{v/λ} for v ≤ 0: g(u) = ∫_0^∞ (1/λ) e^{−t/λ} base(u + t) dt, each step
  // [t_k, t_k + du] weighted exactly (1 − e^{−du/λ}) e^{−t_k/λ} with base at its midpoint (second order)
  const pdf = new Float64Array(n);
  const decay = Math.exp(-du / lam);
  let acc = 0;
  for (let i = n - 1; i >= 0; i--) {
    const mid = i + 1 < n ? 0.5 * (base[i] + base[i + 1]) : base[i];
    acc = acc * decay + (1 - decay) * mid;
    pdf[i] = acc;
  }
  const cdf = new Float64Array(n);
  for (let i = 1; i < n; i++) cdf[i] = cdf[i - 1] + 0.5 * (pdf[i] + pdf[i - 1]) * du;
  const total = cdf[n - 1];
  for (let i = 0; i < n; i++) cdf[i] /= total;
  const G = (u: number) => {
    const t = (u - lo) / du;
    if (t <= 0) return 0;
    if (t >= n - 1) return 1;
    const i = Math.floor(t);
    const f = t - i;
    return cdf[i] * (1 - f) + cdf[i + 1] * f;
  };
  return { G, lo, hi };
}

/**
 * The operator of measured depths `depth_nm` on a grid with cell faces
 * `faces` (nm, first 0): point j's weights on the cells within reach.
 */
export function observationOperator(faces: ArrayLike<number>, depth_nm: ArrayLike<number>, res: DepthResolution): ObservationOperator {
  const { G, lo, hi } = resolutionCdf(res);
  const cells = faces.length - 1;
  const L = faces[cells];
  const P = depth_nm.length;
  const first = new Int32Array(P);
  const count = new Int32Array(P);
  const offset = new Int32Array(P);
  const w: number[] = [];
  for (let j = 0; j < P; j++) {
    const x = depth_nm[j];
    if (!(Number.isFinite(x) && x >= 0 && x <= L)) throw new InputError(`measured depth ${x} nm lies outside the simulated sample (0 … ${L} nm)`);
    // cells with atom depth z in [x − hi, x − lo] (direct image) or z ≤ hi − x (mirror image)
    const zmin = Math.max(0, Math.min(x - hi, -x + lo));
    const zmax = Math.min(L, Math.max(x - lo, hi - x));
    let i0 = 0;
    while (i0 < cells - 1 && faces[i0 + 1] <= zmin) i0++;
    offset[j] = w.length;
    let firstKept = -1;
    let lastKept = -1;
    const row: number[] = [];
    for (let i = i0; i < cells && faces[i] < zmax; i++) {
      const a = faces[i];
      const b = faces[i + 1];
      // ∫_a^b g(x − z) dz = G(x − a) − G(x − b);  mirror ∫_a^b g(x + z) dz = G(x + b) − G(x + a)
      const wi = G(x - a) - G(x - b) + (G(x + b) - G(x + a));
      row.push(wi);
      if (wi > W_CUT) {
        if (firstKept < 0) firstKept = row.length - 1;
        lastKept = row.length - 1;
      }
    }
    if (firstKept < 0) throw new InputError(`measured depth ${x} nm sees no simulated cell (depth resolution ${JSON.stringify(res)})`);
    first[j] = i0 + firstKept;
    count[j] = lastKept - firstKept + 1;
    for (let k = firstKept; k <= lastKept; k++) w.push(row[k]);
  }
  return { points: P, cells, first, count, offset, w: Float64Array.from(w) };
}

/** model(x_j) = Σ_k w_jk values[first_j + k] for every point. */
export function applyOperator(op: ObservationOperator, values: ArrayLike<number>, out = new Float64Array(op.points)): Float64Array {
  if (values.length !== op.cells) throw new Error(`applyOperator: ${values.length} values for ${op.cells} cells`);
  for (let j = 0; j < op.points; j++) {
    let s = 0;
    const o = op.offset[j];
    const f = op.first[j];
    for (let k = 0; k < op.count[j]; k++) s += op.w[o + k] * values[f + k];
    out[j] = s;
  }
  return out;
}

/** One species of an observation: Σ_points (model − target)² (unweighted) and the model at the measured depths. */
export interface SpeciesResidual {
  sum: number;
  model: ArrayLike<number>;
}

/** Σ_j (model_j − target_j)² of one species' densities through the operator. */
export function speciesResidual(op: ObservationOperator, values: ArrayLike<number>, target: ArrayLike<number>): SpeciesResidual {
  const model = applyOperator(op, values);
  let sum = 0;
  for (let j = 0; j < op.points; j++) {
    const d = model[j] - target[j];
    sum += d * d;
  }
  return { sum, model };
}

/**
 * The residual of an observation from its species' parts (same order as
 * obs.species, however they were computed: here in f64, or on the GPU):
 * the weights applied, the total summed, the model kept on request.
 */
export function combineResidual(obs: Observation, perSpecies: readonly SpeciesResidual[], keepModel = false): ObservationResidual {
  const parts: Record<string, number> = {};
  const model: Record<string, number[]> = {};
  let ssr = 0;
  obs.species.forEach((sp, s) => {
    parts[sp] = obs.weights[s] * perSpecies[s].sum;
    ssr += parts[sp];
    if (keepModel) model[sp] = Array.from(perSpecies[s].model);
  });
  const points = obs.depth_nm.length;
  return keepModel ? { ssr, parts, points, model } : { ssr, parts, points };
}

/** The residual of one observation for a member's densities at the end of obs.stage. */
export function observationResidual(
  op: ObservationOperator,
  obs: Observation,
  density: Record<string, ArrayLike<number>>,
  keepModel = false,
): ObservationResidual {
  const perSpecies = obs.species.map((sp, s) => {
    const n = density[sp];
    if (!n) throw new InputError(`observation ${obs.label}: the simulation has no species ${sp}`);
    return speciesResidual(op, n, obs.target[s]);
  });
  return combineResidual(obs, perSpecies, keepModel);
}

/** What to compare, from a measured profile (depth nm, normalized c per element). */
export interface ObservationOptions {
  stage: number;
  label: string;
  /** species of the protocol; the compared ones are those also measured (and listed in `weights` with weight > 0 when given) */
  protocolSpecies: readonly string[];
  /** depth window [from, to], nm (default: all points) */
  window_nm?: [number, number];
  /** species → weight (default 1 for each compared species) */
  weights?: Record<string, number>;
  resolution: DepthResolution;
}

/** Build an Observation from a measured profile; errors name what is wrong. */
export function makeObservation(measured: { depth_nm: number[]; c: Record<string, number[]> }, o: ObservationOptions): Observation {
  const [from, to] = o.window_nm ?? [-Infinity, Infinity];
  if (!(from < to)) throw new InputError(`${o.label}: depth window ${from}…${to} nm is empty`);
  for (const [sp, w] of Object.entries(o.weights ?? {})) {
    if (!o.protocolSpecies.includes(sp)) throw new InputError(`${o.label}: weight for unknown species ${sp} (protocol species: ${o.protocolSpecies.join(', ')})`);
    if (!(Number.isFinite(w) && w >= 0)) throw new InputError(`${o.label}: weight of ${sp} must be ≥ 0 (got ${w})`);
  }
  const species = o.protocolSpecies.filter((sp) => sp in measured.c && (o.weights?.[sp] ?? 1) > 0);
  if (species.length === 0)
    throw new InputError(`${o.label}: no measured element is a species of the protocol (measured: ${Object.keys(measured.c).join(', ')}; protocol: ${o.protocolSpecies.join(', ')})`);
  const idx: number[] = [];
  measured.depth_nm.forEach((x, j) => {
    if (x >= from && x <= to) idx.push(j);
  });
  if (idx.length === 0) throw new InputError(`${o.label}: no measured point in the depth window ${from}…${to} nm`);
  for (let k = 1; k < idx.length; k++)
    if (!(measured.depth_nm[idx[k]] > measured.depth_nm[idx[k - 1]])) throw new InputError(`${o.label}: measured depths are not increasing at point ${idx[k] + 1}`);
  const target = species.map((sp) =>
    idx.map((j) => {
      const v = measured.c[sp][j];
      if (!Number.isFinite(v)) throw new InputError(`${o.label}: ${sp} at ${measured.depth_nm[j]} nm is not a number`);
      return v;
    }),
  );
  checkResolution(o.resolution);
  return {
    stage: o.stage,
    label: o.label,
    species,
    weights: species.map((sp) => o.weights?.[sp] ?? 1),
    depth_nm: idx.map((j) => measured.depth_nm[j]),
    target,
    resolution: o.resolution,
  };
}
