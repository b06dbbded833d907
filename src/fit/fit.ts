/**
 * Fitting ensembles to measured profiles (platform-neutral: no Node imports,
 * so the CLI, a headless runner and the browser page drive it with any
 * {@link EnsembleEngine}).
 *
 * {@link runFit}:
 *  1. the grid of the `--vary` specs (cartesian product), one engine batch
 *     with the observations: every member's residual (src/observe/observe.ts);
 *  2. refinement off the grid: `refine` rounds of finer 3-point-per-axis
 *     grids centred on the best member(s), each shrinking the spacing 3×
 *     (in ln p on log axes), one batch per round, inside the grid's range;
 *  3. noise s² = SSR_best / (points − parameters), χ² = SSR / s²; a local
 *     quadratic model of SSR (least squares in scaled coordinates, ln p on
 *     log axes) over the members near the best gives the Δχ² = 1 profile
 *     intervals; up to two "interval rounds" evaluate the members where the
 *     model puts the interval ends and refit with them; the discrete profile
 *     (per evaluated value, the minimum over the others) cross-checks it;
 *  4. the top k members;
 *  5. sensitivity around the best: per parameter the central difference
 *     ±step (default 5 %) → d model / d ln p at the measured depths, its RMS,
 *     the ±20 % members, and the linearised (Gauss–Newton) intervals.
 * Every extra member runs in an engine batch (one request per round),
 * recorded with source `refine` or `sensitivity`.
 *
 * @example
 * const fit = await runFit({ base, specs: [parseVary('stages.1.D.Cs.D_m2s=1e-23:1e-22:5:log')], observations, engine });
 * fit.best.values; fit.best.interval; // [[lo, hi]] in m²/s
 */
import type { Protocol } from '../config/schema.js';
import { fmtNum } from '../core/format.js';
import { InputError, throwIfAborted } from '../core/errors.js';
import { axisValues, designValues, makeMember } from '../sweep/grid.js';
import { checkSpecs, type VarySpec } from '../sweep/spec.js';
import { getAtPath, requireNumericPath } from '../sweep/paths.js';
import type { EnsembleEngine, EnsembleRequest, MemberResult } from '../ensemble/types.js';
import { facesFromCentres } from '../analysis/profiles.js';
import { observationOperator, observationResidual, type Observation, type ObservationResidual } from '../observe/observe.js';
import type { FitConvergence, FitFile, FitMember, FitObservation, FitSensitivity, SpeciesSeries } from './schema.js';
import { discreteProfileInterval, fitQuadratic, quadraticIntervals, type QuadraticModel } from './quadratic.js';
import { spdInverse } from '../core/linalg.js';
import { clockMs } from '../core/clock.js';
import { designAround, gaussNewtonCovariance, levenbergMarquardt, mahalanobis2, type LocalPoint, type LocalResult } from './local.js';

export type AxisScale = 'log' | 'linear';

/** Progress of a fit: one phase (round) after the other, members done within it. */
export interface FitProgress {
  /** `grid`, `refine 1`, …, `interval 1`, …, `sensitivity` */
  phase: string;
  /** members done / total in this phase */
  done: number;
  total: number;
  failed: number;
  /** members evaluated so far in all phases (this one included) */
  evaluated: number;
  elapsed_s: number;
}

export interface FitOptions {
  base: Protocol;
  /** what varies: lists or ranges with a point count (a grid; no LHS) */
  specs: VarySpec[];
  observations: Observation[];
  /** per observation: the depth window the data were cut to (recorded; default the measured depths' extent) */
  windows?: [number, number][];
  engine: EnsembleEngine;
  /** refinement rounds (default 2) */
  refine?: number;
  /** centres of each refinement round: the best n members (default 3: a coarse grid can put the best cell in a side valley) */
  refineCentres?: number;
  /** iterations (engine batches) of the local optimiser from the best member (Levenberg–Marquardt; default 20, 0 = none) */
  localSteps?: number;
  /** extra interval rounds when the quadratic model and the best disagree: members re-placed around the best (default 2) */
  intervalRounds?: number;
  /** top-k members (default 10) */
  topK?: number;
  /** sensitivity around the best (default true; step = relative ±step of the central difference, default 0.05) */
  sensitivity?: boolean | { step?: number };
  /** keep every member's model at the measured depths in `members` (default true) */
  memberModels?: boolean;
  onProgress?(p: FitProgress): void;
  signal?: AbortSignal;
  /** clock in ms (default performance.now) */
  now?: () => number;
}

/** What a fit found: a FitFile without schema and provenance, plus how it ran. */
export type FitOutcome = Omit<FitFile, 'schema' | 'provenance'> &
  Required<Pick<FitFile, 'warnings' | 'phases' | 'residuals_source'>> & {
    engine: string;
    adapter: string;
    wall_s: number;
  };

/** What both a fit and a sensitivity run report about how they ran (engine, time, phases, where residuals came from). */
function runReport(ev: Evaluator, o: { engine: EnsembleEngine }, wall_s: number, warnings: string[]) {
  return {
    engine: ev.engineName || o.engine.name,
    adapter: ev.adapter || o.engine.adapter,
    wall_s,
    warnings,
    phases: ev.phases,
    residuals_source: ev.fallback ? ('final profiles' as const) : ('engine' as const),
  };
}

/** The scale of a spec's axis: a range's own; a list is log for a diffusion coefficient (…D_m2s, …D0_m2s) with all values > 0, else linear. */
export function specScale(spec: VarySpec): AxisScale {
  if (spec.kind === 'range') return spec.scale;
  return /D0?_m2s$/.test(spec.path) && spec.values.every((v) => v > 0) ? 'log' : 'linear';
}

/** Scaled coordinate of a value: ln p on a log axis, p on a linear one. */
export function toScaled(v: number, scale: AxisScale): number {
  return scale === 'log' ? Math.log(v) : v;
}

export function fromScaled(t: number, scale: AxisScale): number {
  return scale === 'log' ? Math.exp(t) : t;
}

/** Data points of the observations: Σ points × species. */
export function dataPoints(observations: readonly Observation[]): number {
  return observations.reduce((s, o) => s + o.depth_nm.length * o.species.length, 0);
}

/**
 * The residuals of a member computed here from its final profiles, for an
 * engine that does not return `residuals` (a stand-in); engines compute
 * them themselves (same operator, src/observe/observe.ts).
 */
export function residualsFromProfiles(m: MemberResult, observations: readonly Observation[], keepModel: boolean): ObservationResidual[] {
  return observations.map((obs) => {
    const st = m.stages[obs.stage];
    if (!st?.density || !st.depth_nm) throw new Error(`member ${m.index}: no final profiles of stage ${obs.stage + 1} to compare with ${obs.label}`);
    const op = observationOperator(facesFromCentres(st.depth_nm), obs.depth_nm, obs.resolution);
    return observationResidual(op, obs, st.density, keepModel);
  });
}

/** Batches up to this many members ask for final profiles until the engine has shown that it returns residuals. */
const PROBE_PROFILES_MAX = 4096;

/** One evaluated member, internally. */
interface Evaluated {
  index: number;
  values: number[];
  /** scaled coordinates */
  t: number[];
  ssr: number | null;
  source: FitMember['source'];
  residuals?: ObservationResidual[];
  reason?: string;
}

/** Runs batches of members through the engine and keeps every result. */
class Evaluator {
  readonly all: Evaluated[] = [];
  readonly phases: FitOutcome['phases'] = [];
  /** the engine returned no residuals: they are computed here from final profiles */
  fallback = false;
  /** whether the engine returns residuals is known after the first batch */
  private known = false;
  engineName = '';
  adapter = '';
  private readonly seen = new Map<string, Evaluated>();

  constructor(
    private readonly o: FitOptions,
    private readonly parameters: string[],
    private readonly sources: string[],
    private readonly scale: AxisScale[],
    private readonly lengths: number[],
    private readonly t0: () => number,
    private readonly now: () => number,
  ) {}

  key(t: number[]): string {
    return t.map((v, j) => (this.lengths[j] > 0 ? Math.round((v / this.lengths[j]) * 1e6) : Math.round(v * 1e9))).join(',');
  }

  has(values: number[]): boolean {
    return this.seen.has(this.key(values.map((v, j) => toScaled(v, this.scale[j]))));
  }

  /**
   * Run the rows not evaluated yet in one batch and return one member per row, in row order
   * (a row evaluated before returns that member).
   */
  async evaluate(rows: number[][], source: FitMember['source'], phase: string): Promise<Evaluated[]> {
    await this.batch(rows, source, phase);
    return rows.map((r) => this.seen.get(this.key(r.map((v, j) => toScaled(v, this.scale[j]))))!);
  }

  /** Run one batch; rows already evaluated are skipped unless `force` (the grid keeps its order). */
  async batch(rows: number[][], source: FitMember['source'], phase: string, force = false): Promise<Evaluated[]> {
    const todo = force ? rows : rows.filter((r) => !this.has(r));
    const start = this.now();
    const out: Evaluated[] = [];
    const runRows: number[][] = [];
    const runProtocols: Protocol[] = [];
    const runAt: number[] = [];
    for (const row of todo) {
      const ev: Evaluated = {
        index: this.all.length,
        values: row.slice(),
        t: row.map((v, j) => toScaled(v, this.scale[j])),
        ssr: null,
        source,
      };
      this.seen.set(this.key(ev.t), ev);
      this.all.push(ev);
      out.push(ev);
      try {
        runProtocols.push(makeMember(this.o.base, this.parameters, row, this.sources, ev.index));
        runRows.push(row);
        runAt.push(out.length - 1);
      } catch (e) {
        if (source === 'grid' || !(e instanceof InputError)) throw e;
        ev.reason = `not a valid protocol: ${(e as Error).message}`;
      }
    }
    throwIfAborted(this.o.signal, 'the fit');
    let failed = out.length - runRows.length;
    if (runRows.length > 0) {
      const req: EnsembleRequest = {
        base: this.o.base,
        parameters: this.parameters,
        values: runRows,
        members: runProtocols,
        // until the engine has shown that it returns residuals, a batch of moderate size also asks for
        // the final profiles, so an engine without residuals need not run it twice
        profiles: this.fallback || (!this.known && runRows.length <= PROBE_PROFILES_MAX) ? 'final' : 'none',
        observations: this.o.observations,
        keepModel: true,
      };
      const evaluated = this.o.onProgress ? this.all.length - out.length : 0;
      const report = (done: number, failedNow: number) =>
        this.o.onProgress?.({
          phase,
          done,
          total: out.length,
          failed: failedNow,
          evaluated: evaluated + done,
          elapsed_s: (this.now() - this.t0()) / 1000,
        });
      report(out.length - runRows.length, failed);
      const skipped = out.length - runRows.length;
      let res = await this.o.engine.run(req, {
        signal: this.o.signal,
        onProgress: (p) => report(skipped + p.done, skipped + p.failed),
      });
      this.engineName = res.engine;
      this.adapter = res.adapter;
      const ok = res.members.filter((m) => m.status === 'ok');
      if (!this.fallback && ok.some((m) => !m.residuals)) {
        // an engine without residuals (a stand-in): compared here from its final profiles
        this.fallback = true;
        this.known = true;
        if (req.profiles === 'none') res = await this.o.engine.run({ ...req, profiles: 'final' }, { signal: this.o.signal });
      } else if (ok.length > 0) this.known = true;
      res.members.forEach((m, k) => {
        const ev = out[runAt[k]];
        if (m.status !== 'ok') {
          ev.reason = m.reason ?? 'failed (no reason given)';
          failed++;
          return;
        }
        let residuals = m.residuals;
        if (!residuals) {
          try {
            residuals = residualsFromProfiles(m, this.o.observations, true);
          } catch (e) {
            ev.reason = `residual: ${(e as Error).message}`;
            failed++;
            return;
          }
        }
        const ssr = residuals.reduce((s, r) => s + r.ssr, 0);
        if (!Number.isFinite(ssr)) {
          ev.reason = 'the residual is not finite';
          failed++;
          return;
        }
        ev.ssr = ssr;
        ev.residuals = residuals;
      });
    }
    this.phases.push({ phase, members: out.length, failed, wall_s: (this.now() - start) / 1000 });
    return out;
  }
}

function checkObservations(o: FitOptions): void {
  if (o.observations.length === 0) throw new InputError('a fit needs at least one measured profile (--measured FILE)');
  const n = o.base.stages.length;
  for (const obs of o.observations)
    if (!(Number.isInteger(obs.stage) && obs.stage >= 0 && obs.stage < n))
      throw new InputError(`${obs.label}: stage ${obs.stage + 1} does not exist (the protocol has stages 1..${n})`);
}

function toFitObservation(obs: Observation, window?: [number, number]): FitObservation {
  const target: SpeciesSeries = {};
  obs.species.forEach((sp, s) => (target[sp] = obs.target[s].slice()));
  return {
    stage: obs.stage,
    label: obs.label,
    species: obs.species.slice(),
    weights: obs.weights.slice(),
    window_nm: window ?? [obs.depth_nm[0], obs.depth_nm[obs.depth_nm.length - 1]],
    resolution: obs.resolution,
    depth_nm: obs.depth_nm.slice(),
    target,
  };
}

function fitMember(ev: Evaluated, memberModels: boolean): FitMember {
  const m: FitMember = { values: ev.values, status: ev.ssr === null ? 'failed' : 'ok', residual: ev.ssr, source: ev.source };
  if (ev.reason) m.reason = ev.reason;
  if (ev.residuals) {
    m.parts = ev.residuals.map((r) => ({ ...r.parts }));
    if (memberModels && ev.residuals.every((r) => r.model)) m.model = ev.residuals.map((r) => r.model!);
  }
  return m;
}

/** Refinement points around a centre: 3 per free axis (full design up to 4 free axes, else a star), inside [min, max]. */
function refineRows(centre: Evaluated, step: number[], free: number[], bounds: [number, number][], scale: AxisScale[]): number[][] {
  const rows: number[][] = [];
  const offsets: number[][] = [];
  if (free.length <= 4) {
    const n = 3 ** free.length;
    for (let i = 0; i < n; i++) {
      const o = new Array<number>(centre.t.length).fill(0);
      let r = i;
      for (const j of free) {
        o[j] = (r % 3) - 1;
        r = Math.floor(r / 3);
      }
      offsets.push(o);
    }
  } else {
    offsets.push(new Array<number>(centre.t.length).fill(0));
    for (const j of free)
      for (const s of [-1, 1]) {
        const o = new Array<number>(centre.t.length).fill(0);
        o[j] = s;
        offsets.push(o);
      }
  }
  for (const o of offsets) {
    const t = centre.t.map((v, j) => v + o[j] * step[j]);
    if (t.some((v, j) => v < bounds[j][0] - 1e-12 * Math.abs(bounds[j][0]) || v > bounds[j][1] + 1e-12 * Math.abs(bounds[j][1]))) continue;
    rows.push(t.map((v, j) => fromScaled(v, scale[j])));
  }
  return rows;
}

/** The quadratic model over the lowest-χ² members (scaled coordinates; free parameters only). */
function localQuadratic(evs: Evaluated[], free: number[], lengths: number[], s2: number): QuadraticModel | undefined {
  const d = free.length;
  const ncoef = 1 + d + (d * (d + 1)) / 2;
  const ok = evs.filter((e) => e.ssr !== null).sort((a, b) => a.ssr! - b.ssr!);
  if (ok.length < ncoef) return undefined;
  const best = ok[0].ssr!;
  for (const nSel of [Math.max(2 * ncoef, ncoef + 4), 4 * ncoef, ok.length]) {
    const sel = ok.slice(0, Math.min(nSel, ok.length));
    const w = sel.map((e) => 1 / Math.max(1, s2 > 0 ? (e.ssr! - best) / s2 : 1));
    const q = fitQuadratic(
      sel.map((e) => free.map((j) => e.t[j])),
      sel.map((e) => e.ssr!),
      free.map((j) => lengths[j]),
      { weights: w },
    );
    if (q?.positive) return q;
    if (nSel >= ok.length) return q;
  }
  return undefined;
}

/** The residual vector √w_s (model − measured) of a member over its observations, species and points, or undefined without model values. */
function residualVectorOf(e: Evaluated, observations: readonly Observation[]): Float64Array | undefined {
  if (!e.residuals) return undefined;
  const n = observations.reduce((s, obs) => s + obs.species.length * obs.depth_nm.length, 0);
  const r = new Float64Array(n);
  let i = 0;
  for (let k = 0; k < observations.length; k++) {
    const obs = observations[k];
    const model = e.residuals[k]?.model;
    if (!model) return undefined;
    for (let s = 0; s < obs.species.length; s++) {
      const m = model[obs.species[s]];
      const w = Math.sqrt(obs.weights[s]);
      for (let p = 0; p < obs.depth_nm.length; p++) r[i++] = w * (m[p] - obs.target[s][p]);
    }
  }
  return r;
}

/** The optimiser's forward-difference step (scaled coordinates): 1 % of the grid spacing, on a log axis between 0.01 % and 1 % of p. */
function differenceStep(spacing: number, scale: AxisScale): number {
  const h = 0.01 * spacing;
  return scale === 'log' ? Math.min(0.01, Math.max(1e-4, h)) : h;
}

/**
 * The quadratic model over the members near the best, at the scale of the
 * covariance C expected there: members within Δχ² = 9 of the best under C,
 * coordinates scaled by √C_jj (so the fit is well conditioned however
 * strongly the parameters correlate), weighted down beyond Δχ² = 1.
 */
function quadraticAround(evs: Evaluated[], best: Evaluated, cov: number[][], free: number[], s2: number): QuadraticModel | undefined {
  const inv = spdInverse(cov);
  if (!inv) return undefined;
  const d = free.length;
  const ncoef = 1 + d + (d * (d + 1)) / 2;
  const near = evs.filter((e) => e.ssr !== null && mahalanobis2(free.map((j) => e.t[j] - best.t[j]), inv) <= 9);
  if (near.length < ncoef) return undefined;
  const q = fitQuadratic(
    near.map((e) => free.map((j) => e.t[j])),
    near.map((e) => e.ssr!),
    free.map((_, a) => Math.sqrt(cov[a][a])),
    { t0: free.map((j) => best.t[j]), weights: near.map((e) => 1 / Math.max(1, (e.ssr! - best.ssr!) / s2)) },
  );
  return q?.positive ? q : undefined;
}

/** Does the quadratic model agree with the best member: the best inside every interval, the model's minimum near it, the interval members near Δχ² = 1. */
interface ConsistencyCheck {
  ok: boolean;
  /** per free parameter */
  inside: boolean[];
  /** Δχ² of the best above the quadratic's minimum, on the model (null without a model) */
  dchi2Best: number | null;
  /** Δχ² (above the best) of the members placed at the expected Δχ² = 1 surface */
  designDchi2: number[];
}

/** Best within this Δχ² of the quadratic's minimum (≈ 0.5 standard error in the worst direction) counts as agreeing. */
const AGREE_DCHI2 = 0.25;

function consistency(q: QuadraticModel | undefined, best: Evaluated, design: Evaluated[], free: number[], s2: number): ConsistencyCheck {
  const designDchi2 = design.filter((e) => e.ssr !== null && e !== best).map((e) => (e.ssr! - best.ssr!) / s2);
  const qiv = q ? quadraticIntervals(q, s2) : undefined;
  if (!q?.positive || !q.tMin || !qiv) return { ok: false, inside: free.map(() => false), dchi2Best: null, designDchi2 };
  const inside = free.map((j, a) => best.t[j] >= qiv[a][0] && best.t[j] <= qiv[a][1]);
  const u = free.map((j, a) => best.t[j] - q.tMin![a]);
  let m = 0;
  for (let a = 0; a < u.length; a++) for (let b = 0; b < u.length; b++) m += u[a] * q.A[a][b] * u[b];
  const dchi2Best = (0.5 * m) / s2;
  const mean = designDchi2.length ? designDchi2.reduce((s, v) => s + v, 0) / designDchi2.length : 1;
  return { ok: inside.every(Boolean) && dchi2Best <= AGREE_DCHI2 && mean >= 0.5 && mean <= 2, inside, dchi2Best, designDchi2 };
}

/** The fit's convergence record (cait-fit/1 `convergence`) and the warnings it calls for. */
function convergenceReport(
  local: LocalResult | undefined,
  localSteps: number,
  best: Evaluated,
  check: ConsistencyCheck | undefined,
  free: number[],
  parameters: string[],
  intervals: [number, number][],
  warnings: string[],
): FitConvergence {
  const atBound = local?.atBound.map((j) => parameters[j]) ?? [];
  const conv: FitConvergence = {
    converged: false,
    optimizer: local ? 'levenberg-marquardt' : 'none',
    iterations: local?.iterations ?? 0,
    predicted_dchi2: local && Number.isFinite(local.predicted_dchi2) ? local.predicted_dchi2 : null,
    reason: local ? local.reason : localSteps > 0 ? 'no free parameter' : 'no local optimiser (--local-steps 0)',
    best_inside_interval: parameters.map((_, j) => {
      const a = free.indexOf(j);
      return a < 0 || (check?.inside[a] ?? false);
    }),
    quadratic_dchi2: check?.dchi2Best ?? null,
    interval_members_dchi2: check?.designDchi2 ?? [],
    at_bound: atBound,
  };
  if (free.length === 0) {
    conv.converged = true;
    return conv;
  }
  if (local && !local.converged)
    warnings.push(
      `NOT CONVERGED: the local optimiser stopped after ${local.iterations} iteration(s): ${local.reason}${conv.predicted_dchi2 !== null ? `; a Gauss–Newton step would still lower χ² by ${fmtNum(conv.predicted_dchi2)}` : ''}. The best and its intervals are not final: raise --local-steps, or narrow the grid around the best`,
    );
  for (const p of atBound) warnings.push(`${p}: the optimum lies on the bound of the grid's range (the residual still falls outwards): widen the range`);
  free.forEach((j, a) => {
    if (check && !check.inside[a])
      warnings.push(
        `INCONSISTENT: the best ${parameters[j]} = ${fmtNum(best.values[j])} lies outside its own Δχ² = 1 interval (${fmtNum(intervals[j][0])} … ${fmtNum(intervals[j][1])}): the fit has not found the minimum`,
      );
  });
  if (check?.dchi2Best !== null && check?.dchi2Best !== undefined && check.dchi2Best > AGREE_DCHI2)
    warnings.push(
      `INCONSISTENT: the quadratic model's minimum lies Δχ² = ${fmtNum(check.dchi2Best)} below the best member (more than ${AGREE_DCHI2}): the residual is not quadratic near the best, or the fit has not converged`,
    );
  if (check?.designDchi2.length) {
    const lo = Math.min(...check.designDchi2);
    const hi = Math.max(...check.designDchi2);
    const mean = check.designDchi2.reduce((s, v) => s + v, 0) / check.designDchi2.length;
    if (mean < 0.5 || mean > 2)
      warnings.push(
        `the members placed where Δχ² = 1 was expected show Δχ² ${fmtNum(lo)} … ${fmtNum(hi)} (mean ${fmtNum(mean)}): the residual is not quadratic on the scale of the intervals, which are approximate`,
      );
  }
  if (!check) warnings.push('no quadratic model of the residual around the best: the intervals are the discrete profile\'s');
  conv.converged = (!local || local.converged) && atBound.length === 0 && !!check?.ok;
  return conv;
}

function bestOf(evs: Evaluated[]): Evaluated | undefined {
  let b: Evaluated | undefined;
  for (const e of evs) if (e.ssr !== null && (!b || e.ssr < b.ssr!)) b = e;
  return b;
}

/** RMS of a list of series lists. */
function rmsOf(series: SpeciesSeries[]): number {
  let s = 0;
  let n = 0;
  for (const obs of series)
    for (const v of Object.values(obs))
      for (const x of v) {
        s += x * x;
        n++;
      }
  return n ? Math.sqrt(s / n) : 0;
}

export interface SensitivityResult {
  sensitivity: FitSensitivity[];
  /** Gauss–Newton Δχ² = 1 intervals from the derivatives (parameter units), or undefined when singular */
  linearized?: [number, number][];
  /** the same with a cluster-robust (sandwich) covariance: noise estimated per measured depth point, species of a point correlated */
  robust?: [number, number][];
}

/**
 * Sensitivity around `centre` (values of `parameters`): per parameter the
 * members centre × (1 ± step) and × (0.8, 1.2), one batch; d model / d ln p
 * = (m₊ − m₋) / ln((1 + step)/(1 − step)); then the linearised and the
 * cluster-robust intervals from those derivatives.
 */
async function sensitivityAround(
  ev: Evaluator,
  o: FitOptions,
  parameters: string[],
  centre: Evaluated,
  step: number,
  s2: number,
  warnings: string[],
): Promise<SensitivityResult> {
  const usable = parameters.map((_, j) => centre.values[j] > 0);
  parameters.forEach((p, j) => {
    if (!usable[j]) warnings.push(`sensitivity: ${p} = ${fmtNum(centre.values[j])} is not > 0, so d/d ln p is undefined; skipped`);
  });
  const factors = [1 + step, 1 - step, 0.8, 1.2];
  const rows: number[][] = [];
  parameters.forEach((_, j) => {
    if (!usable[j]) return;
    for (const f of factors) rows.push(centre.values.map((v, k) => (k === j ? v * f : v)));
  });
  const res = await ev.batch(rows, 'sensitivity', 'sensitivity', true);
  const { sensitivity, jacobian } = derivatives(o.observations, parameters, usable, res, step, warnings);
  const out: SensitivityResult = { sensitivity };
  if (jacobian.length === usable.filter(Boolean).length && jacobian.length === parameters.length && jacobian.length > 0) {
    const JtJ = jacobian.map((a) => jacobian.map((b) => a.reduce((s, x, i) => s + x * b[i], 0)));
    const inv = spdInverse(JtJ);
    const interval = (var_: number[]) =>
      parameters.map((_, j): [number, number] => {
        const d = Math.sqrt(var_[j]);
        return [centre.values[j] * Math.exp(-d), centre.values[j] * Math.exp(d)];
      });
    if (inv) {
      out.linearized = interval(inv.map((row, j) => s2 * row[j]));
      const cov = robustCovariance(o.observations, centre, jacobian, inv);
      if (cov) out.robust = interval(cov.map((row, j) => row[j]));
    }
  }
  return out;
}

/**
 * Per usable parameter, from its four members (+step, −step, 0.8, 1.2) in
 * `res`: d model / d ln p, the ±20 % models and their residuals; and the
 * weighted derivatives flattened, one row per parameter (the Jacobian of
 * the residual vector √w (model − measured) in ln p).
 */
function derivatives(
  observations: readonly Observation[],
  parameters: string[],
  usable: boolean[],
  res: Evaluated[],
  step: number,
  warnings: string[],
): { sensitivity: FitSensitivity[]; jacobian: number[][] } {
  const sensitivity: FitSensitivity[] = [];
  const jacobian: number[][] = [];
  const models = (e: Evaluated): SpeciesSeries[] | undefined => (e.ssr !== null && e.residuals?.every((x) => x.model) ? e.residuals.map((x) => x.model!) : undefined);
  const empty = (): SpeciesSeries[] => Array.from({ length: observations.length }, () => ({}));
  let r = 0;
  parameters.forEach((path, j) => {
    if (!usable[j]) return;
    const [plus, minus, m80, m120] = res.slice(r, r + 4);
    r += 4;
    const mp = models(plus);
    const mm = models(minus);
    const derivative: SpeciesSeries[] = empty();
    if (mp && mm) {
      const dl = Math.log((1 + step) / (1 - step));
      observations.forEach((obs, k) => {
        for (const sp of obs.species) derivative[k][sp] = mp[k][sp].map((v, i) => (v - mm[k][sp][i]) / dl);
      });
      const flat: number[] = [];
      observations.forEach((obs, k) => obs.species.forEach((sp, s) => derivative[k][sp].forEach((x) => flat.push(Math.sqrt(obs.weights[s]) * x))));
      jacobian.push(flat);
    } else warnings.push(`sensitivity: a ±${fmtNum(step * 100)} % member of ${path} failed (${plus.reason ?? minus.reason ?? 'no model'}); no derivative`);
    sensitivity.push({
      path,
      step,
      rms: rmsOf(derivative),
      derivative,
      minus20: models(m80) ?? empty(),
      plus20: models(m120) ?? empty(),
      residual_minus20: m80.ssr,
      residual_plus20: m120.ssr,
    });
  });
  return { sensitivity, jacobian };
}

/**
 * The cluster-robust (sandwich) covariance of ln p: clusters are the
 * measured depth points of one observation (the species of a point share
 * its normalization), so neither equal noise at every point nor independent
 * species is assumed: cov = B⁻¹ M B⁻¹ · c/(c − d), B = JᵀJ (`inv` = B⁻¹),
 * M = Σ_c (J_cᵀ r_c)(J_cᵀ r_c)ᵀ. Undefined without the centre's model or
 * when a variance comes out negative or not finite.
 */
function robustCovariance(observations: readonly Observation[], centre: Evaluated, jac: number[][], inv: number[][]): number[][] | undefined {
  const models = centre.residuals?.map((r) => r.model);
  if (!models?.every(Boolean)) return undefined;
  const d = jac.length;
  const M = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  let clusters = 0;
  let offset = 0;
  observations.forEach((obs, k) => {
    const P = obs.depth_nm.length;
    const S = obs.species.length;
    for (let i = 0; i < P; i++) {
      const g = new Array<number>(d).fill(0);
      obs.species.forEach((sp, s) => {
        const r = Math.sqrt(obs.weights[s]) * (models[k]![sp][i] - obs.target[s][i]);
        const idx = offset + s * P + i;
        for (let a = 0; a < d; a++) g[a] += jac[a][idx] * r;
      });
      for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) M[a][b] += g[a] * g[b];
      clusters++;
    }
    offset += S * P;
  });
  const corr = clusters > d ? clusters / (clusters - d) : NaN;
  const cov = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  for (let a = 0; a < d; a++)
    for (let b = 0; b < d; b++) {
      let v = 0;
      for (let c = 0; c < d; c++) for (let e = 0; e < d; e++) v += inv[a][c] * M[c][e] * inv[e][b];
      cov[a][b] = v * corr;
    }
  return cov.every((row, j) => Number.isFinite(row[j]) && row[j] >= 0) ? cov : undefined;
}

/** Top k evaluated members (ascending residual) among `evs`. */
function topOf(evs: Evaluated[], k: number): FitFile['top'] {
  return evs
    .filter((e) => e.ssr !== null)
    .sort((a, b) => a.ssr! - b.ssr!)
    .slice(0, k)
    .map((e) => ({ values: e.values, residual: e.ssr!, member: e.index }));
}

/** The fitted parameters as the fit's phases see them: scaled axes, the box, the grid spacing. */
interface FitGeometry {
  parameters: string[];
  sources: string[];
  scale: AxisScale[];
  axes: number[][];
  /** per parameter: [lo, hi] of the grid in scaled coordinates (the box the fit searches) */
  bounds: [number, number][];
  /** grid spacing per axis in scaled coordinates (the fit's unit length); 0 for a single value (fixed) */
  spacing: number[];
  /** parameters with more than one grid value */
  free: number[];
  /** unit length per parameter (the spacing, or the value's magnitude for a fixed one) */
  lengths: number[];
}

/** The options of runFit with their defaults, checked. */
function fitSettings(o: FitOptions) {
  checkObservations(o);
  checkSpecs(o.specs);
  if (o.specs.length === 0) throw new InputError('a fit needs at least one --vary PATH=… (what to fit)');
  const localSteps = o.localSteps ?? 20;
  if (!(Number.isInteger(localSteps) && localSteps >= 0)) throw new InputError(`local steps ${localSteps}: must be an integer >= 0`);
  const sensOpt = o.sensitivity ?? true;
  const step = typeof sensOpt === 'object' ? (sensOpt.step ?? 0.05) : 0.05;
  if (!(step > 0 && step < 0.5)) throw new InputError(`sensitivity step ${step}: must be between 0 and 0.5 (relative)`);
  for (const s of o.specs) requireNumericPath(o.base, s.path, s.source);
  return {
    refine: o.refine ?? 2,
    topK: o.topK ?? 10,
    intervalRounds: o.intervalRounds ?? 2,
    localSteps,
    sensitivity: sensOpt !== false,
    step,
    memberModels: o.memberModels ?? true,
  };
}

function fitGeometry(o: FitOptions): FitGeometry {
  const parameters = o.specs.map((s) => s.path);
  const sources = o.specs.map((s) => s.source);
  const scale = o.specs.map(specScale);
  const axes = o.specs.map(axisValues);
  axes.forEach((ax, j) => {
    if (scale[j] === 'log' && ax.some((v) => !(v > 0))) throw new InputError(`${o.specs[j].source}: a log axis needs values > 0`);
  });
  const bounds: [number, number][] = axes.map((ax, j) => {
    const t = ax.map((v) => toScaled(v, scale[j]));
    return [Math.min(...t), Math.max(...t)];
  });
  const spacing = axes.map((ax, j) => (ax.length > 1 ? (bounds[j][1] - bounds[j][0]) / (ax.length - 1) : 0));
  const free = spacing.map((h, j) => (h > 0 ? j : -1)).filter((j) => j >= 0);
  const lengths = spacing.map((h, j) => (h > 0 ? h : Math.max(1e-300, Math.abs(bounds[j][0]) || 1)));
  return { parameters, sources, scale, axes, bounds, spacing, free, lengths };
}

/** Refinement rounds: each round ÷3 in step, a finer grid around the best few members. */
async function refineRounds(ev: Evaluator, g: FitGeometry, rounds: number, centresPerRound: number): Promise<void> {
  const stepNow = g.spacing.slice();
  for (let r = 1; r <= rounds && g.free.length > 0; r++) {
    for (const j of g.free) stepNow[j] /= 3;
    const ranked = ev.all.filter((e) => e.ssr !== null && e.source !== 'sensitivity').sort((a, b) => a.ssr! - b.ssr!);
    const centres = ranked.slice(0, Math.max(1, centresPerRound));
    const rows = centres.flatMap((c) => refineRows(c, stepNow, g.free, g.bounds, g.scale));
    const uniq = new Map<string, number[]>();
    for (const row of rows) uniq.set(ev.key(row.map((v, j) => toScaled(v, g.scale[j]))), row);
    await ev.batch([...uniq.values()], 'refine', `refine ${r}`);
  }
}

/** The members a fit's optimiser and intervals work on (the sensitivity members aside). */
function fittedOf(ev: Evaluator): Evaluated[] {
  return ev.all.filter((e) => e.source !== 'sensitivity');
}

/** The local optimiser from the best member: Levenberg–Marquardt, one engine batch per iteration. */
async function localOptimiser(ev: Evaluator, g: FitGeometry, o: FitOptions, start: Evaluated, dof: number, maxIterations: number): Promise<LocalResult | undefined> {
  if (g.free.length === 0 || maxIterations === 0) return undefined;
  const asLocal = (e: Evaluated): LocalPoint => ({ t: e.t, ssr: e.ssr, r: e.ssr === null ? undefined : residualVectorOf(e, o.observations) });
  return levenbergMarquardt({
    start: asLocal(start),
    free: g.free,
    bounds: g.bounds,
    h: g.spacing.map((s, j) => differenceStep(s, g.scale[j])),
    dof,
    maxIterations,
    batch: async (pts, it) => (await ev.evaluate(pts.map((t) => t.map((v, k) => fromScaled(v, g.scale[k]))), 'local', `local ${it}`)).map(asLocal),
  });
}

/**
 * Interval members: placed around the best where the Δχ² = 1 surface is
 * expected (from the optimiser's Gauss–Newton covariance, else the members'
 * quadratic), a quadratic fitted to them, re-placed while it and the best
 * disagree. Returns the best, s² and the quadratic model with its check.
 */
async function intervalRounds(
  ev: Evaluator,
  g: FitGeometry,
  local: LocalResult | undefined,
  start: Evaluated,
  dof: number,
  rounds: number,
): Promise<{ best: Evaluated; s2: number; q?: QuadraticModel; check?: ConsistencyCheck }> {
  let best = start;
  let s2 = dof > 0 ? best.ssr! / dof : NaN;
  let q: QuadraticModel | undefined;
  let check: ConsistencyCheck | undefined;
  if (g.free.length === 0 || !Number.isFinite(s2)) return { best, s2 };
  let cov: number[][] | undefined;
  if (local?.jacobian && local.best.t === best.t) cov = gaussNewtonCovariance(local.jacobian, s2);
  if (!cov) {
    const q0 = localQuadratic(fittedOf(ev), g.free, g.lengths, s2);
    if (q0?.positive && q0.Ainv) cov = q0.Ainv.map((row) => row.map((v) => 2 * s2 * v));
  }
  const wide = g.bounds.map(([lo, hi], j): [number, number] => [lo - g.spacing[j], hi + g.spacing[j]]);
  for (let r = 1; r <= 1 + rounds && cov; r++) {
    const design = designAround(best.t, cov, g.free, wide);
    const got = await ev.evaluate(design.map((t) => t.map((v, k) => fromScaled(v, g.scale[k]))), 'interval', `interval ${r}`);
    best = bestOf(fittedOf(ev))!;
    s2 = best.ssr! / dof;
    q = quadraticAround(fittedOf(ev), best, cov, g.free, s2) ?? localQuadratic(fittedOf(ev), g.free, g.lengths, s2);
    check = consistency(q, best, got, g.free, s2);
    if (check.ok) break;
    // re-centre on the best and take the shape the members show
    if (q?.positive && q.Ainv) cov = q.Ainv.map((row) => row.map((v) => 2 * s2 * v));
  }
  if (!cov) q = localQuadratic(fittedOf(ev), g.free, g.lengths, s2);
  return { best, s2, q, check };
}

/**
 * The Δχ² = 1 intervals per parameter from the quadratic model (else the
 * discrete profile's), the discrete profile's own, and the warnings where
 * they disagree or leave the grid.
 */
function fitIntervals(
  ev: Evaluator,
  g: FitGeometry,
  best: Evaluated,
  s2: number,
  q: QuadraticModel | undefined,
  warnings: string[],
): { intervals: [number, number][]; profile: ([number, number] | null)[] } {
  const { parameters, free, bounds, spacing, scale, lengths } = g;
  const intervals: [number, number][] = parameters.map((_, j) => [best.values[j], best.values[j]]);
  const profileIv: ([number, number] | null)[] = parameters.map(() => null);
  const chi2 = (e: Evaluated) => e.ssr! / s2;
  const okFitted = fittedOf(ev).filter((e) => e.ssr !== null);
  const qiv = q && Number.isFinite(s2) ? quadraticIntervals(q, s2) : undefined;
  free.forEach((j, a) => {
    const dp = Number.isFinite(s2)
      ? discreteProfileInterval(
          okFitted.map((e) => e.t),
          okFitted.map(chi2),
          j,
          1e-6 * lengths[j],
        )
      : { lo: null, hi: null };
    if (dp.lo !== null && dp.hi !== null) profileIv[j] = [fromScaled(dp.lo, scale[j]), fromScaled(dp.hi, scale[j])];
    if (qiv) {
      intervals[j] = [fromScaled(qiv[a][0], scale[j]), fromScaled(qiv[a][1], scale[j])];
      if (dp.lo !== null && dp.hi !== null) {
        // the discrete profile minimises over the evaluated members only, so it lies on or above
        // the true profile and its interval is (up to interpolation) inside the true one: a
        // discrete interval much wider than the quadratic one means the quadratic is too narrow
        const wq = qiv[a][1] - qiv[a][0];
        const wd = dp.hi - dp.lo;
        if (wd > 1.5 * wq)
          warnings.push(
            `${parameters[j]}: the discrete profile's Δχ² = 1 interval (${fmtNum(profileIv[j]![0])} … ${fmtNum(profileIv[j]![1])}) is wider than the quadratic model's (${fmtNum(intervals[j][0])} … ${fmtNum(intervals[j][1])}): the residual is not quadratic there; trust the wider one`,
          );
      }
      if (qiv[a][0] < bounds[j][0] - spacing[j] || qiv[a][1] > bounds[j][1] + spacing[j])
        warnings.push(
          `${parameters[j]}: the Δχ² = 1 interval (${fmtNum(intervals[j][0])} … ${fmtNum(intervals[j][1])}) reaches beyond the grid's range (${fmtNum(fromScaled(bounds[j][0], scale[j]))} … ${fmtNum(fromScaled(bounds[j][1], scale[j]))}), where no member was evaluated: widen the range`,
        );
    } else {
      const lo = dp.lo ?? bounds[j][0];
      const hi = dp.hi ?? bounds[j][1];
      intervals[j] = [fromScaled(lo, scale[j]), fromScaled(hi, scale[j])];
      warnings.push(
        `${parameters[j]}: no local quadratic minimum; the interval is the discrete profile's${dp.lo === null || dp.hi === null ? ' (open: it reaches the evaluated range)' : ''}`,
      );
    }
  });
  return { intervals, profile: profileIv };
}

/** Run a fit: grid, refinement, local optimiser, intervals, top-k and sensitivity (see the file comment). */
export async function runFit(o: FitOptions): Promise<FitOutcome> {
  const now = o.now ?? clockMs;
  const tStart = now();
  const set = fitSettings(o);
  const g = fitGeometry(o);
  const { parameters, scale, axes, bounds, free, lengths } = g;
  const ev = new Evaluator(o, parameters, g.sources, scale, lengths, () => tStart, now);
  const warnings: string[] = [];

  // 1. the grid
  const { values: gridRows } = designValues(o.specs);
  const grid = await ev.batch(gridRows, 'grid', 'grid', true);
  if (!bestOf(grid)) throw new InputError(`no grid member could be compared with the data: ${grid[0]?.reason ?? 'no members'}`);

  // 2. refinement rounds
  await refineRounds(ev, g, set.refine, o.refineCentres ?? 3);

  // 3. the local optimiser from the best member
  const points = dataPoints(o.observations);
  const dof = points - free.length;
  if (dof <= 0) warnings.push(`${points} data points for ${free.length} parameters: no degrees of freedom left for the noise estimate`);
  const local = await localOptimiser(ev, g, o, bestOf(fittedOf(ev))!, dof, set.localSteps);

  // 4. intervals: members around the best where the Δχ² = 1 surface is expected, a quadratic fitted to them
  const { best, s2, q, check } = await intervalRounds(ev, g, local, bestOf(fittedOf(ev))!, dof, set.intervalRounds);
  for (const j of free) {
    const at = best.t[j];
    if (Math.abs(at - bounds[j][0]) < 1e-9 * lengths[j] || Math.abs(at - bounds[j][1]) < 1e-9 * lengths[j])
      warnings.push(`the best ${parameters[j]} = ${fmtNum(best.values[j])} lies at the edge of its grid: widen the range`);
  }
  const { intervals, profile } = fitIntervals(ev, g, best, s2, q, warnings);
  const convergence = convergenceReport(local, set.localSteps, best, check, free, parameters, intervals, warnings);

  // 5. sensitivity
  const sens = set.sensitivity ? await sensitivityAround(ev, o, parameters, best, set.step, s2, warnings) : undefined;

  const outcome: FitOutcome = {
    base: o.base,
    parameters,
    scale,
    grid: { axes, size: gridRows.length },
    residual: grid.map((e) => e.ssr),
    members: ev.all.map((e) => fitMember(e, set.memberModels)),
    noise: { s2, points, dof },
    best: {
      values: best.values,
      residual: best.ssr!,
      interval: intervals,
      model: best.residuals!.map((r) => r.model ?? {}),
      member: best.index,
    },
    top: topOf(fittedOf(ev), set.topK),
    measured: { observations: o.observations.map((obs, k) => toFitObservation(obs, o.windows?.[k])) },
    ...runReport(ev, o, (now() - tStart) / 1000, warnings),
  };
  outcome.best.interval_profile = profile;
  outcome.convergence = convergence;
  if (q?.positive && q.tMin)
    outcome.best.quadratic = {
      centre: parameters.map((_, j) => {
        const a = free.indexOf(j);
        return a >= 0 ? fromScaled(q.tMin![a], scale[j]) : best.values[j];
      }),
      residual: q.ssrMin,
      points: q.points,
      free: free.map((j) => parameters[j]),
      hessian_scaled: q.A,
    };
  if (sens) {
    outcome.sensitivity = sens.sensitivity;
    if (sens.linearized) outcome.best.interval_linearized = sens.linearized;
    if (sens.robust) outcome.best.interval_robust = sens.robust;
  }
  return outcome;
}

export interface SensitivityOptions {
  base: Protocol;
  /** the point: path → value */
  at: { path: string; value: number }[];
  observations: Observation[];
  windows?: [number, number][];
  engine: EnsembleEngine;
  /** relative step of the central difference (default 0.05) */
  step?: number;
  onProgress?(p: FitProgress): void;
  signal?: AbortSignal;
  now?: () => number;
}

/**
 * The sensitivity view alone: the member at `at`, its residual, and per
 * parameter d model / d ln p and the ±20 % members. The interval is the
 * linearised (Gauss–Newton) one, s² from the member's residual.
 */
export async function runSensitivity(o: SensitivityOptions): Promise<FitOutcome> {
  const now = o.now ?? clockMs;
  const tStart = now();
  const fo: FitOptions = { base: o.base, specs: [], observations: o.observations, engine: o.engine, onProgress: o.onProgress, signal: o.signal };
  checkObservations(fo);
  if (o.at.length === 0) throw new InputError('cait sensitivity needs at least one --at PATH=VALUE');
  const parameters = o.at.map((a) => a.path);
  const seenPaths = new Set<string>();
  for (const a of o.at) {
    if (seenPaths.has(a.path)) throw new InputError(`--at ${a.path}: given twice`);
    seenPaths.add(a.path);
    if (typeof getAtPath(o.base, a.path) !== 'number') throw new InputError(`--at ${a.path}: not a numeric field of the protocol`);
  }
  const values = o.at.map((a) => a.value);
  const scale: AxisScale[] = o.at.map((a) => (/D0?_m2s$/.test(a.path) && a.value > 0 ? 'log' : 'linear'));
  const lengths = values.map((v) => Math.abs(v) || 1);
  const ev = new Evaluator(fo, parameters, o.at.map((a) => `--at ${a.path}`), scale, lengths, () => tStart, now);
  const [centre] = await ev.batch([values], 'grid', 'member', true);
  if (centre.ssr === null) throw new InputError(`the member at ${o.at.map((a) => `${a.path}=${fmtNum(a.value)}`).join(', ')} failed: ${centre.reason}`);
  const points = dataPoints(o.observations);
  const dof = points - parameters.length;
  const s2 = dof > 0 ? centre.ssr / dof : NaN;
  const warnings: string[] = [];
  const sens = await sensitivityAround(ev, fo, parameters, centre, o.step ?? 0.05, s2, warnings);
  const out: FitOutcome = {
    base: o.base,
    parameters,
    scale,
    grid: { axes: values.map((v) => [v]), size: 1 },
    residual: [centre.ssr],
    members: ev.all.map((e) => fitMember(e, true)),
    noise: { s2, points, dof },
    best: {
      values,
      residual: centre.ssr,
      interval: sens.linearized ?? values.map((v) => [v, v] as [number, number]),
      model: centre.residuals!.map((r) => r.model ?? {}),
      member: 0,
    },
    top: topOf([centre], 1),
    measured: { observations: o.observations.map((obs, k) => toFitObservation(obs, o.windows?.[k])) },
    sensitivity: sens.sensitivity,
    ...runReport(ev, o, (now() - tStart) / 1000, warnings),
  };
  if (sens.linearized) out.best.interval_linearized = sens.linearized;
  if (sens.robust) out.best.interval_robust = sens.robust;
  else warnings.push('the derivatives are linearly dependent (or a member failed): no linearised interval; best.interval is the point itself');
  return out;
}
