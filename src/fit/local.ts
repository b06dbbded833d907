/**
 * The local optimiser of a fit: Levenberg–Marquardt on the residual vector,
 * with finite-difference Jacobians, every iteration ONE batch of members so
 * that any {@link EnsembleEngine} runs it (platform-neutral, no Node imports).
 *
 * Coordinates are the fit's scaled ones (ln p on log axes, p on linear ones).
 * The residual vector of a member is r = √w_s (model − measured) over the
 * observations, species and measured depths (src/observe/observe.ts), so that
 * SSR = |r|².
 *
 * One iteration at the current point x (with its Jacobian J):
 *  - the trial steps δ(λ) solve (JᵀJ + λ diag JᵀJ) δ = −Jᵀr for a few λ
 *    (λ = 0 is the Gauss–Newton step, which follows a straight ridge in one
 *    step; larger λ turn towards the gradient for a curved one), each step
 *    projected onto the parameter box;
 *  - the batch holds every trial point AND its forward-difference members
 *    (x + h_j e_j per free parameter), so the point that wins arrives with its
 *    own Jacobian and the next iteration needs no extra batch;
 *  - the lowest trial below SSR(x) is accepted and λ shrinks, else λ grows.
 * The first iteration only evaluates the forward-difference members of the
 * start. It stops when the Gauss–Newton step predicts a decrease of χ²
 * (= SSR / s², s² = SSR / dof) below `tolDchi2`: the point is then within
 * √tolDchi2 standard errors of the linearised minimum in every parameter
 * (|δ_j| ≤ √(δᵀJᵀJδ · (JᵀJ)⁻¹_jj)); or after `maxIterations` batches, or
 * when no λ lowers the residual any more — then it says that it did not
 * converge and why.
 *
 * @example
 * const res = await levenbergMarquardt({ start, free: [0, 1], bounds, h: [1e-3, 0.02], dof: 170, batch });
 * res.converged; res.best.t; res.jacobian;
 */
import { cholesky, spdInverse } from '../core/linalg.js';

/** A member as the optimiser sees it: its scaled coordinates, SSR (null: failed) and residual vector. */
export interface LocalPoint {
  t: number[];
  ssr: number | null;
  /** √w (model − measured), flattened; absent when the engine returned no model values */
  r?: Float64Array;
}

export interface LocalOptions {
  /** the starting member (must have ssr and r) */
  start: LocalPoint;
  /** indices of the free parameters (the others stay at start.t) */
  free: number[];
  /** per parameter [min, max] in scaled coordinates (the box the optimiser stays in) */
  bounds: [number, number][];
  /** per parameter the forward-difference step in scaled coordinates */
  h: number[];
  /** degrees of freedom of the noise estimate s² = SSR / dof */
  dof: number;
  /** iterations (= batches) at most (default 20) */
  maxIterations?: number;
  /** converged when the Gauss–Newton step predicts a χ² decrease below this (default 0.01) */
  tolDchi2?: number;
  /** evaluate these points (full scaled coordinates) in one engine batch; one result per point, in order */
  batch(points: number[][], iteration: number): Promise<LocalPoint[]>;
}

export interface LocalResult {
  best: LocalPoint;
  /** J at best (rows: residual components, columns: free parameters), when known */
  jacobian?: number[][];
  converged: boolean;
  iterations: number;
  /** χ² decrease the Gauss–Newton step from best still predicts (Infinity when unknown) */
  predicted_dchi2: number;
  /** free parameters whose Gauss–Newton step pushes against the box (indices into the parameters) */
  atBound: number[];
  /** why it stopped, in words */
  reason: string;
}

/** JᵀJ and Jᵀr of a Jacobian stored by columns (cols[a] = ∂r/∂t_free[a]). */
function normal(cols: Float64Array[], r: Float64Array): { JtJ: number[][]; Jtr: number[] } {
  const d = cols.length;
  const JtJ = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  const Jtr = new Array<number>(d).fill(0);
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      let s = 0;
      const ca = cols[a];
      const cb = cols[b];
      for (let i = 0; i < ca.length; i++) s += ca[i] * cb[i];
      JtJ[a][b] = s;
      JtJ[b][a] = s;
    }
    let s = 0;
    for (let i = 0; i < r.length; i++) s += cols[a][i] * r[i];
    Jtr[a] = s;
  }
  return { JtJ, Jtr };
}

/** Solve the symmetric positive definite system M x = b (Cholesky), or undefined. */
function spdSolve(M: number[][], b: number[]): number[] | undefined {
  const L = cholesky(M);
  if (!L) return undefined;
  const n = b.length;
  const y = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i][k] * y[k];
    y[i] = s / L[i][i];
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= L[k][i] * x[k];
    x[i] = s / L[i][i];
  }
  return x;
}

/** |r + J δ|², the linear model's SSR after the step δ (over the free parameters). */
function linearSsr(cols: Float64Array[], r: Float64Array, delta: number[]): number {
  let s = 0;
  for (let i = 0; i < r.length; i++) {
    let v = r[i];
    for (let a = 0; a < cols.length; a++) v += cols[a][i] * delta[a];
    s += v * v;
  }
  return s;
}

/**
 * The damped step from x, projected onto the box: parameters at a bound whose
 * step points outwards are held there (an active set), the others solved for;
 * with `fitBox` a step that still leaves the box is shortened as a whole to
 * its edge. Returns the step over the free parameters and which of them are
 * held.
 */
export function dampedStep(
  cols: Float64Array[],
  r: Float64Array,
  lambda: number,
  x: number[],
  bounds: [number, number][],
  lengths: number[],
  fitBox = true,
): { delta: number[]; held: boolean[] } | undefined {
  const d = cols.length;
  const { JtJ, Jtr } = normal(cols, r);
  const held = new Array<boolean>(d).fill(false);
  for (let pass = 0; pass <= d; pass++) {
    const act = JtJ.map((_, a) => a).filter((a) => !held[a]);
    const delta = new Array<number>(d).fill(0);
    if (act.length > 0) {
      const M = act.map((a) => act.map((b) => JtJ[a][b] + (a === b ? lambda * Math.max(JtJ[a][a], 1e-300) : 0)));
      const sol = spdSolve(
        M,
        act.map((a) => -Jtr[a]),
      );
      if (!sol) return undefined;
      act.forEach((a, k) => (delta[a] = sol[k]));
    }
    let changed = false;
    for (let a = 0; a < d; a++) {
      if (held[a]) continue;
      const tol = 1e-9 * lengths[a];
      const [lo, hi] = bounds[a];
      if ((x[a] <= lo + tol && delta[a] < 0) || (x[a] >= hi - tol && delta[a] > 0)) {
        held[a] = true;
        changed = true;
      }
    }
    if (!changed) {
      // a step that leaves the box is shortened as a whole to the box's edge (its direction kept: along it the
      // linear model's residual falls all the way; clipping each coordinate on its own could step uphill)
      let scale = 1;
      if (fitBox)
        for (let a = 0; a < d; a++) {
          const [lo, hi] = bounds[a];
          if (x[a] + delta[a] > hi) scale = Math.min(scale, (hi - x[a]) / delta[a]);
          if (x[a] + delta[a] < lo) scale = Math.min(scale, (lo - x[a]) / delta[a]);
        }
      return { delta: delta.map((v) => v * Math.max(0, scale)), held };
    }
  }
  return undefined;
}

/** The central-difference points of x: x ± h e_j per free parameter (inside the box; one-sided at a bound). */
function centralPoints(t: number[], free: number[], h: number[], bounds: [number, number][]): number[][] {
  const points: number[][] = [];
  for (const j of free)
    for (const sg of [1, -1]) {
      const p = t.slice();
      p[j] = Math.min(bounds[j][1], Math.max(bounds[j][0], t[j] + sg * h[j]));
      points.push(p);
    }
  return points;
}

/** Jacobian columns from central-difference members (pairs +, − per free parameter), or undefined when one is missing. */
function centralJacobian(x: LocalPoint, pts: number[][], res: LocalPoint[], free: number[]): Float64Array[] | undefined {
  if (!x.r || res.some((p) => p.ssr === null || !p.r || p.r.length !== x.r!.length)) return undefined;
  return free.map((j, a) => {
    const plus = res[2 * a];
    const minus = res[2 * a + 1];
    const dt = pts[2 * a][j] - pts[2 * a + 1][j];
    const c = new Float64Array(x.r!.length);
    for (let i = 0; i < c.length; i++) c[i] = (plus.r![i] - minus.r![i]) / dt;
    return c;
  });
}

/** The forward-difference points of x: one per free parameter, stepping inwards at an upper bound. */
function differencePoints(t: number[], free: number[], h: number[], bounds: [number, number][]): { points: number[][]; steps: number[] } {
  const points: number[][] = [];
  const steps: number[] = [];
  for (const j of free) {
    const s = t[j] + h[j] > bounds[j][1] ? -h[j] : h[j];
    const p = t.slice();
    p[j] += s;
    points.push(p);
    steps.push(s);
  }
  return { points, steps };
}

/** Jacobian columns from the forward-difference members of a point, or undefined when one is missing. */
function jacobianOf(x: LocalPoint, diffs: LocalPoint[], steps: number[]): Float64Array[] | undefined {
  if (!x.r || diffs.some((p) => p.ssr === null || !p.r || p.r.length !== x.r!.length)) return undefined;
  return diffs.map((p, a) => {
    const c = new Float64Array(x.r!.length);
    for (let i = 0; i < c.length; i++) c[i] = (p.r![i] - x.r![i]) / steps[a];
    return c;
  });
}

/** Gauss–Newton prediction at x: the χ² decrease of the projected undamped step and the parameters held at the box. */
function prediction(
  cols: Float64Array[],
  x: LocalPoint,
  free: number[],
  bounds: [number, number][],
  lengths: number[],
  s2: number,
): { dchi2: number; held: number[] } {
  const xf = free.map((j) => x.t[j]);
  // the Gauss–Newton step with the parameters at a bound held (those pushing outwards), not shortened to the
  // box: its decrease of the linear model is ≥ 0 and measures how far x is from the (projected) minimum
  const step = dampedStep(
    cols,
    x.r!,
    0,
    xf,
    free.map((j) => bounds[j]),
    free.map((j) => lengths[j]),
    false,
  );
  if (!step) return { dchi2: Infinity, held: [] };
  const dec = x.ssr! - linearSsr(cols, x.r!, step.delta);
  return { dchi2: s2 > 0 ? Math.max(0, dec) / s2 : dec > 0 ? Infinity : 0, held: free.filter((_, a) => step.held[a]) };
}

/** Levenberg–Marquardt from `start` (see the file comment). */
export async function levenbergMarquardt(o: LocalOptions): Promise<LocalResult> {
  const maxIt = o.maxIterations ?? 20;
  const tol = o.tolDchi2 ?? 0.01;
  const { free, bounds, h } = o;
  const lengths = h.map((v) => Math.abs(v) || 1);
  const s2Of = (p: LocalPoint) => (o.dof > 0 ? p.ssr! / o.dof : p.ssr!);
  let x = o.start;
  if (x.ssr === null || !x.r) return { best: x, converged: false, iterations: 0, predicted_dchi2: Infinity, atBound: [], reason: 'the start has no residual vector (the engine returned no model values)' };
  let cols: Float64Array[] | undefined;
  let lambda = 1e-3;
  let lastRejected = false;
  let others: { p: LocalPoint; cols: Float64Array[] }[] = [];
  let it = 0;
  let pred = { dchi2: Infinity, held: [] as number[] };
  const check = (): boolean => {
    pred = prediction(cols!, x, free, bounds, lengths, s2Of(x));
    return pred.dchi2 <= tol || x.ssr === 0;
  };
  // near the minimum a forward difference's error (∝ h) can point the Gauss–Newton step the wrong way along
  // a narrow ridge; then the Jacobian at x is taken again by central differences with a quarter of the step
  let central = false;
  let refinedJ = 0;
  let hNow = h;
  while (it < maxIt) {
    if (!cols) {
      it++;
      if (central) {
        const pts = centralPoints(x.t, free, hNow, bounds);
        cols = centralJacobian(x, pts, await o.batch(pts, it), free);
      } else {
        const { points, steps } = differencePoints(x.t, free, hNow, bounds);
        cols = jacobianOf(x, await o.batch(points, it), steps);
      }
      if (!cols) return { best: x, converged: false, iterations: it, predicted_dchi2: Infinity, atBound: [], reason: 'a finite-difference member failed: no Jacobian at the best member' };
      if (check()) return { best: x, jacobian: toRows(cols), converged: true, iterations: it, predicted_dchi2: pred.dchi2, atBound: pred.held, reason: 'converged' };
      continue;
    }
    // trial steps from x for a few damping values (Gauss–Newton, λ = 0, only when the last round was not a
    // rejection), and the Gauss–Newton steps from the other evaluated trials of the last batch: on a curved
    // ridge the undamped step lands beside the valley floor, and its own Gauss–Newton step (its Jacobian
    // came with it) reaches the floor where the damped steps from x only crawl along it
    const lambdas = lastRejected ? [lambda, 10 * lambda, 100 * lambda] : [0, lambda, 10 * lambda];
    const trials: { t: number[]; lambda: number }[] = [];
    // two points are "the same" when the linear model tells them apart by less than Δχ² = 1e-4 (a metric, not
    // a length: a well-determined direction resolves steps far below the difference step)
    const { JtJ } = normal(cols, x.r!);
    const s2x = s2Of(x);
    const near = (a: number[], b: number[]) => {
      const d = free.map((j) => a[j] - b[j]);
      let q = 0;
      for (let p = 0; p < d.length; p++) for (let k = 0; k < d.length; k++) q += d[p] * JtJ[p][k] * d[k];
      return s2x > 0 ? q / s2x < 1e-4 : q === 0;
    };
    const addStep = (from: LocalPoint, c: Float64Array[], lam: number) => {
      const st = dampedStep(
        c,
        from.r!,
        lam,
        free.map((j) => from.t[j]),
        free.map((j) => bounds[j]),
        free.map((j) => lengths[j]),
      );
      if (!st) return;
      const t = from.t.slice();
      free.forEach((j, a) => (t[j] += st.delta[a]));
      // skip steps that coincide with x or with a trial already taken (closer than 0.1 % of a difference step)
      if (near(t, x.t) || near(t, from.t) || trials.some((tr) => near(tr.t, t))) return;
      trials.push({ t, lambda: lam });
    };
    for (const lam of lambdas) addStep(x, cols, lam);
    const fromX = trials.length;
    for (const other of others) addStep(other.p, other.cols, 0);
    if (trials.length === 0) {
      // every step changes χ² by less than 1e-4 on the linear model: nothing left to try
      return { best: x, jacobian: toRows(cols), converged: pred.dchi2 <= tol, iterations: it, predicted_dchi2: pred.dchi2, atBound: pred.held, reason: 'every trial step is below Δχ² = 1e-4 on the linear model' };
    }
    it++;
    const pts: number[][] = [];
    const stepsOf: number[][] = [];
    for (const tr of trials) {
      const { points, steps } = differencePoints(tr.t, free, hNow, bounds);
      pts.push(tr.t, ...points);
      stepsOf.push(steps);
    }
    const res = await o.batch(pts, it);
    const evaluated: { p: LocalPoint; cols?: Float64Array[]; lambda: number; fromX: boolean }[] = [];
    trials.forEach((tr, k) => {
      const base = k * (free.length + 1);
      const p = res[base];
      if (p.ssr === null || !p.r) return;
      evaluated.push({ p, cols: jacobianOf(p, res.slice(base + 1, base + 1 + free.length), stepsOf[k]), lambda: tr.lambda, fromX: k < fromX });
    });
    evaluated.sort((a, b) => a.p.ssr! - b.p.ssr!);
    const chosen = evaluated[0];
    if (chosen && chosen.p.ssr! < x.ssr!) {
      x = chosen.p;
      cols = chosen.cols; // undefined when a difference member failed: the next iteration differentiates again
      // Gauss–Newton won: damp less; else keep the damping that won (the largest tried moves the set up)
      if (chosen.fromX) lambda = chosen.lambda === 0 ? Math.max(1e-7, lambda / 10) : chosen.lambda;
      lastRejected = false;
      if (cols && check()) return { best: x, jacobian: toRows(cols), converged: true, iterations: it, predicted_dchi2: pred.dchi2, atBound: pred.held, reason: 'converged' };
    } else if (pred.dchi2 < 1 && refinedJ < 2) {
      // no trial lowered the residual although the linear model, close to its minimum, said it would: take
      // the Jacobian at x again, more accurately (central differences, a quarter of the step)
      refinedJ++;
      central = true;
      hNow = hNow.map((v) => v / 4);
      cols = undefined;
      lastRejected = false;
      others = [];
      continue;
    } else {
      lambda = 1000 * Math.max(...lambdas, lambda);
      lastRejected = true;
      if (lambda > 1e12)
        return { best: x, jacobian: toRows(cols), converged: false, iterations: it, predicted_dchi2: pred.dchi2, atBound: pred.held, reason: 'no damped step lowers the residual (a noisy or non-smooth residual at this scale)' };
    }
    // the two most promising other trials (lowest linearised minimum) propose Gauss–Newton steps next time
    others = evaluated
      .filter((e) => e.cols && e.p !== x)
      .map((e) => ({ p: e.p, cols: e.cols!, reach: linearSsr(e.cols!, e.p.r!, dampedStep(e.cols!, e.p.r!, 0, free.map((j) => e.p.t[j]), free.map((j) => bounds[j]), free.map((j) => lengths[j]))?.delta ?? free.map(() => 0)) }))
      .filter((e) => e.reach < x.ssr!)
      .sort((a, b) => a.reach - b.reach)
      .slice(0, 2);
  }
  if (cols) check();
  return {
    best: x,
    jacobian: cols ? toRows(cols) : undefined,
    converged: false,
    iterations: it,
    predicted_dchi2: pred.dchi2,
    atBound: pred.held,
    reason: `not converged in ${maxIt} iterations`,
  };
}

function toRows(cols: Float64Array[]): number[][] {
  const n = cols[0]?.length ?? 0;
  return Array.from({ length: n }, (_, i) => cols.map((c) => c[i]));
}

/** s² (JᵀJ)⁻¹ over the free parameters from a Jacobian given by rows, or undefined when singular. */
export function gaussNewtonCovariance(jacobian: number[][], s2: number): number[][] | undefined {
  const d = jacobian[0]?.length ?? 0;
  const JtJ = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  for (const row of jacobian) for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) JtJ[a][b] += row[a] * row[b];
  const inv = spdInverse(JtJ);
  return inv?.map((row) => row.map((v) => v * s2));
}

/** Δχ² = uᵀ C⁻¹ u of a step u (free coordinates) under the covariance C. */
export function mahalanobis2(u: number[], covInv: number[][]): number {
  let s = 0;
  for (let a = 0; a < u.length; a++) for (let b = 0; b < u.length; b++) s += u[a] * covInv[a][b] * u[b];
  return s;
}

/**
 * Members that map the Δχ² = 1 surface around `centre` under the covariance
 * C of the free parameters (scaled coordinates): per parameter the two ends
 * of its profile interval, t ± C e_j / √C_jj (the others at their
 * conditional minimum — where the interval ends lie), and per pair of
 * parameters the sums and differences of their end directions, rescaled to
 * Δχ² = 1 (only the sums beyond 4 parameters). Clipped to `bounds`.
 * With 2 parameters: 8 points on the Δχ² = 1 ellipse, enough for a quadratic
 * (6 coefficients) with its Hessian measured along the ridge and across it.
 */
export function designAround(centre: number[], cov: number[][], free: number[], bounds: [number, number][]): number[][] {
  const d = free.length;
  const inv = spdInverse(cov);
  if (!inv) return [];
  const ends = free.map((_, a) => cov.map((row) => row[a] / Math.sqrt(cov[a][a])));
  const dirs: number[][] = [...ends];
  for (let a = 0; a < d; a++)
    for (let b = a + 1; b < d; b++) {
      dirs.push(ends[a].map((v, k) => v + ends[b][k]));
      if (d <= 4) dirs.push(ends[a].map((v, k) => v - ends[b][k]));
    }
  const out: number[][] = [];
  for (const u of dirs) {
    const n = Math.sqrt(mahalanobis2(u, inv));
    if (!(n > 0)) continue;
    for (const sgn of [1, -1]) {
      const t = centre.slice();
      free.forEach((j, a) => (t[j] = Math.min(bounds[j][1], Math.max(bounds[j][0], centre[j] + (sgn * u[a]) / n))));
      out.push(t);
    }
  }
  return out;
}
