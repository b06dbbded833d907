/**
 * The double-precision reference solver: runs a protocol stage by stage.
 *
 * Time integration: TR-BDF2 (γ = 2 − √2; Bank et al. 1985, Hosea & Shampine
 * 1996), L-stable, second order, one-step (so stage boundaries need no
 * history), both implicit stages share the iteration matrix I − (γ/2)Δt·J.
 * Each stage is solved by Newton with the exact banded Jacobian. The local
 * error estimate is Hosea & Shampine's, filtered through the iteration
 * matrix. ψ is algebraic: Poisson holds exactly at every stage value.
 *
 * Bookkeeping: delivered charge and the per-species boundary crossings are
 * integrated by the same linear stage formulas as the densities, so
 * inventory changes equal the boundary integrals to the Newton tolerance.
 *
 * One loop for every engine that steps on the host: `StageRunner.steps` is a
 * generator over the requests of its `StageSource` (which supplies the rates
 * and the Newton systems). The f64 solver's source never yields and `run`
 * takes the loop in one call; the gpu.js engine's (src/gpujs/stage.ts) yields
 * for the face fluxes, which a kernel computes for many members at once.
 */
import type { Protocol, Stage } from '../config/schema.js';
import { ELEMENTARY_CHARGE } from '../physics/constants.js';
import { BandMatrix } from './banded.js';
import { BLOCK_PIVOT_TOL, BlockTriSolver, DEFAULT_LANES, partitionCount, type Round } from './blocktri.js';
import { makeGrid, type Grid } from './grid.js';
import { StageSystem, newtonBlocks, type BoundaryFluxes, type NewtonBlocks } from './npp.js';
import { StageRecorder, StageTargets, StepController } from './stepping.js';
import { SolverError, type ProtocolResult, type RunOptions, type StageResult, type StageStats } from './types.js';

export const GAMMA = 2 - Math.SQRT2;
/** shared diagonal coefficient of both stages: γ/2 = (1−γ)/(2−γ) */
const CD = GAMMA / 2;
const A_BDF = 1 / (GAMMA * (2 - GAMMA));
const B_BDF = ((1 - GAMMA) * (1 - GAMMA)) / (GAMMA * (2 - GAMMA));
/** LTE ≈ C_ERR h³ y''' */
const C_ERR = (-3 * GAMMA * GAMMA + 4 * GAMMA - 2) / (12 * (2 - GAMMA));

/** Newton and step-control constants of a {@link StageRunner}. */
export interface StepNumerics {
  MAX_NEWTON: number;
  /** step-size controller: safety factor and largest growth per step */
  SAFETY: number;
  MAX_GROWTH: number;
  /** Newton tolerance on ψ (kT/e) and on the field (kT/e per nm) */
  PSI_TOL: number;
  FIELD_TOL: number;
  /** density update (in tolerance units) below which ψ jitter is accepted as roundoff */
  NOISE_FLOOR: number;
  /** Newton converged when the density update is below this fraction of the error tolerance */
  NEWTON_TOL: number;
  /** a density below −NEG_TOL (n/n0) rejects the step */
  NEG_TOL: number;
  /** a charge or time target counts as reached within this relative margin */
  TARGET_RTOL: number;
  /** a step whose error estimate is not finite is rejected and ends the stage (SolverError) */
  REJECT_NONFINITE_ERROR: boolean;
  /** the step-size factor after an accepted step is at least MIN_GROWTH; after a rejection by the error estimate max(MIN_CUT, REJECT_SAFETY·err^(−1/3)) */
  MIN_GROWTH: number;
  MIN_CUT: number;
  REJECT_SAFETY: number;
  /** Δt factor after a failed Newton solve, and after a negative density */
  NEWTON_CUT: number;
  NEGATIVE_CUT: number;
  /** steps smaller than this (s) end the stage */
  DT_FLOOR: number;
  /** secant tries to land on a charge target before a step is taken as it is */
  MAX_SECANT: number;
  /** from the fourth iteration, an update that grows and exceeds this (tolerance units) has diverged */
  DIVERGED: number;
  /** an update below NOISE_FLOOR that shrank by less than this factor is roundoff stagnation (accepted) */
  STAGNATION: number;
  /**
   * The linear solver of the Newton systems (docs/numerics.md §4): `band` (default), LAPACK-style banded
   * LU with partial pivoting of the assembled rows; `block` (quasi-neutral only), the WebGPU engine's
   * algorithm — telescoped current rows, the partitioned block-tridiagonal solve of src/solver/blocktri.ts
   * with the front current as a Sherman–Morrison border, and the error estimate filtered through the
   * matrix of each BDF2 Newton iteration (the last one's is kept) instead of re-solved after convergence.
   */
  LINEAR?: 'band' | 'block';
  /** `block`: invocations per lattice (partitions of the solve: at most LANES, at least 2 cells each) */
  LANES?: number;
  /** `block`: a Newton system whose smallest scaled block pivot is below this is refused (the step is retried smaller) */
  PIVOT_TOL?: number;
}

/** The f64 solver's constants. */
export const F64_NUMERICS: StepNumerics = {
  MAX_NEWTON: 12,
  SAFETY: 0.7,
  MAX_GROWTH: 3,
  PSI_TOL: 1e-6,
  FIELD_TOL: 1e-7,
  NOISE_FLOOR: 1e-5,
  NEWTON_TOL: 1e-3,
  NEG_TOL: 1e-7,
  TARGET_RTOL: 1e-7,
  REJECT_NONFINITE_ERROR: false,
  MIN_GROWTH: 0.2,
  MIN_CUT: 0.1,
  REJECT_SAFETY: 0.9,
  NEWTON_CUT: 0.25,
  NEGATIVE_CUT: 0.5,
  DT_FLOOR: 1e-12,
  MAX_SECANT: 30,
  DIVERGED: 1e-3,
  STAGNATION: 0.3,
};

/**
 * The step numerics of the float32 engines (WebGPU, gpu.js): the f64 solver's, except the floors float32
 * forces. Generated into the WGSL prelude by src/gpu/layout.ts; the gpu.js engine runs its host loop on them.
 */
export const F32_NUMERICS: StepNumerics = {
  ...F64_NUMERICS,
  /**
   * f64: 1e-5. f32 roundoff of a density near 1 is 6e-8 absolute, i.e. ~5e-5 tolerance units at the
   * defaults (atol 1e-4, rtol 1e-3) before any amplification by the Newton matrix: stagnation below
   * 1e-3 units (still 1000× below the error tolerance) is accepted as roundoff.
   */
  NOISE_FLOOR: 1e-3,
  /**
   * ψ' (deviation from the linear profile) reaches ~20 kT/e in the exchanged zone: its f32 ulp is
   * ~2e-6, so the f64 1e-6 kT/e can never pass; 1e-4 kT/e (a 1e-4 relative flux change) can.
   */
  PSI_TOL: 1e-4,
  /** f64: 1e-7. The closing species 1 − Σ z n carries ~1e-7 absolute f32 roundoff: 1e-6 */
  NEG_TOL: 1e-6,
  /** f64: 1e-7. Charge and time targets count as reached within 2e-6 (f32 cannot do 1e-7) */
  TARGET_RTOL: 2e-6,
};

/**
 * Where a runner's rates f(y) (with the boundary fluxes) and Newton systems come from. Generators so
 * that a provider can yield requests (the gpu.js engine: the face fluxes of many members computed in
 * one kernel call, src/gpujs/stage.ts) and be resumed when they are answered; the f64 solver's
 * ({@link f64Source}) never yields.
 */
export interface StageSource<R> {
  rates(y: Float64Array, f: Float64Array, bf: BoundaryFluxes): Generator<R, void, void>;
  assemble(y: Float64Array, rhs: Float64Array, cdt: number, A: BandMatrix, res: Float64Array): Generator<R, void, void>;
  /** the block-tridiagonal form (StageSystem.assembleBlocksFrom), for LINEAR = `block` */
  assembleBlocks?(y: Float64Array, rhs: Float64Array, cdt: number, blk: NewtonBlocks): Generator<R, void, void>;
}

/**
 * Called with every Newton system of LINEAR = `block` before it is solved: the blocks, the right-hand
 * sides X (N·m rows × q columns: −res, e and in the BDF2 stage the error estimate) and the solver.
 */
export type BlockSystemHook = (blocks: NewtonBlocks, X: Float64Array, q: number, solver: BlockTriSolver) => void;

/**
 * The numerics of the f64 twin of the WebGPU engine: the f64 solver's constants with the engine's linear
 * algebra (LINEAR = `block`, DEFAULT_LANES partitions) — the same algorithm in double precision.
 */
export const TWIN_NUMERICS: StepNumerics = { ...F64_NUMERICS, LINEAR: 'block', LANES: DEFAULT_LANES, PIVOT_TOL: BLOCK_PIVOT_TOL };

/** StageSystem's own f64 rates and assembly. */
export function f64Source(sys: StageSystem): StageSource<never> {
  // generators by the StageSource contract that answer at once: they never yield
  return {
    // biome-ignore lint/correctness/useYield: answers at once (StageSource contract)
    *rates(y, f, bf) {
      sys.rates(y, f, bf);
    },
    // biome-ignore lint/correctness/useYield: answers at once (StageSource contract)
    *assemble(y, rhs, cdt, A, res) {
      sys.assemble(y, rhs, cdt, A, res);
    },
    // biome-ignore lint/correctness/useYield: answers at once (StageSource contract)
    *assembleBlocks(y, rhs, cdt, blk) {
      sys.faceFluxes(y, true);
      sys.assembleBlocksFrom(y, rhs, cdt, blk);
    },
  };
}

export function gridOf(protocol: Protocol): Grid {
  const g = protocol.grid;
  return makeGrid(protocol.sample.thickness_m * 1e9, g.h_fine_nm, g.x_fine_nm, g.growth);
}

interface StepWork {
  /** f at yγ (from the TR stage relation) */
  fg: Float64Array;
  y0: Float64Array;
  yg: Float64Array;
  y1: Float64Array;
  f0: Float64Array;
  rhs: Float64Array;
  res: Float64Array;
  est: Float64Array;
  A: BandMatrix;
  bf0: BoundaryFluxes;
  bfg: BoundaryFluxes;
  bf1: BoundaryFluxes;
}

interface NewtonOutcome {
  ok: boolean;
  iterations: number;
  reason?: string;
  /** index into y where it failed, if any */
  at?: number;
}

/**
 * Runs one stage from `dens` (modified in place to the end state): `run` with the f64 solver's own
 * rates and assembly; `steps`, a generator that yields the requests of its {@link StageSource}, for
 * a provider that answers them elsewhere (the gpu.js engine).
 */
export class StageRunner<R = never> {
  readonly sys: StageSystem;
  readonly w: StepWork;
  /** LINEAR = `block`: the solver, the assembled blocks and the right-hand sides (−res, e, est per unknown) */
  private readonly blk?: { solver: BlockTriSolver; sys: NewtonBlocks; X: Float64Array; round: Round };
  readonly n: number;
  readonly num: StepNumerics;
  readonly source: StageSource<R>;
  stats: StageStats = { steps: 0, rejected: 0, newtonIterations: 0, factorizations: 0 };
  /** progress within the stage (0..1), by charge or by time, as of the last accepted step */
  fraction = 0;

  constructor(
    readonly protocol: Protocol,
    readonly stage: Stage,
    readonly grid: Grid,
    readonly species: string[],
    dens: Float64Array[],
    config: {
      numerics?: StepNumerics;
      source?: (sys: StageSystem) => StageSource<R>;
      onBlockSystem?: BlockSystemHook;
    } = {},
  ) {
    this.sys = new StageSystem(grid, protocol, stage, species, dens);
    this.num = config.numerics ?? F64_NUMERICS;
    this.source = config.source ? config.source(this.sys) : (f64Source(this.sys) as StageSource<R>);
    const { N, m, S } = this.sys;
    this.n = N * m;
    const mk = () => new Float64Array(this.n);
    const bf = () => ({ front: new Float64Array(S), back: new Float64Array(S) });
    this.onBlockSystem = config.onBlockSystem;
    if (this.num.LINEAR === 'block') {
      if (this.sys.formulation !== 'quasineutral') throw new Error('the block linear solver needs the quasi-neutral formulation');
      if (!this.source.assembleBlocks) throw new Error('this stage source cannot assemble block rows');
      const P = partitionCount(N, this.num.LANES ?? DEFAULT_LANES);
      this.blk = { solver: new BlockTriSolver(N, m, 3, P), sys: newtonBlocks(N, m), X: new Float64Array(N * m * 3), round: (x) => x };
    }
    this.w = {
      fg: mk(),
      y0: mk(),
      yg: mk(),
      y1: mk(),
      f0: mk(),
      rhs: mk(),
      res: mk(),
      est: mk(),
      A: new BandMatrix(this.n, this.sys.kl, this.sys.ku),
      bf0: bf(),
      bfg: bf(),
      bf1: bf(),
    };
  }

  /** the last Newton update's scaled size: densities, ψ, and where the densities' was largest */
  private readonly upd = { dmax: 0, dpsi: 0, worst: -1 };
  private readonly onBlockSystem?: BlockSystemHook;

  /**
   * Newton for y − rhs − CD·dt·f(y) = 0 (with Poisson), starting from y, with
   * the exact Jacobian at every iterate. (A simplified Newton that reuses the
   * factorised matrix across iterates and steps was measured slower on the
   * paper preset: the SED and fall-off nonlinearity doubled the iterations.)
   * The generators here only sequence the work; the loops over the unknowns
   * are plain methods (the optimising compiler takes those as on the
   * synchronous solver).
   */
  private *newton(y: Float64Array, rhs: Float64Array, dt: number, withEstimate = false): Generator<R, NewtonOutcome, void> {
    const { A, res } = this.w;
    const { MAX_NEWTON, NEWTON_TOL, NOISE_FLOOR, STAGNATION, DIVERGED } = this.num;
    const cdt = CD * dt;
    const u = this.upd;
    let prev = Infinity;
    for (let it = 1; it <= MAX_NEWTON; it++) {
      if (this.blk) {
        yield* this.source.assembleBlocks!(y, rhs, cdt, this.blk.sys);
        this.stats.factorizations++;
        const bad = this.blockSolve(y, rhs, dt, withEstimate);
        if (bad) return { ok: false, iterations: it, reason: bad.reason, at: bad.at };
      } else {
        yield* this.source.assemble(y, rhs, cdt, A, res);
        this.stats.factorizations++;
        const sing = A.factor();
        if (sing >= 0) return { ok: false, iterations: it, reason: 'singular Newton matrix', at: sing };
        for (let k = 0; k < this.n; k++) res[k] = -res[k];
        A.solve(res);
      }
      this.newtonUpdate(y);
      const { dmax, dpsi, worst } = u;
      this.stats.newtonIterations++;
      if (!Number.isFinite(dmax) || !Number.isFinite(dpsi)) return { ok: false, iterations: it, reason: 'Newton update is not finite', at: worst };
      // When Δt ≪ the dielectric relaxation time the bulk ψ is fixed by a charge below f64 roundoff and its
      // updates stagnate at noise; the densities (what is integrated) are then converged to roundoff.
      if (dmax < NEWTON_TOL && dpsi < 1) return { ok: true, iterations: it };
      // Stagnation far below the tolerance is that noise (seen: a 2-cycle of ±2e-4 kT in a 430 nm cell
      // with density updates of 3e-10 absolute); accept it rather than call it divergence.
      if (it >= 2 && dmax < NOISE_FLOOR && dmax > STAGNATION * prev) return { ok: true, iterations: it };
      if (it >= 4 && dmax > prev && dmax > DIVERGED) return { ok: false, iterations: it, reason: 'Newton diverged', at: worst };
      prev = dmax;
    }
    return { ok: false, iterations: MAX_NEWTON, reason: `Newton did not converge in ${MAX_NEWTON} iterations` };
  }

  /**
   * LINEAR = `block`: the Newton update of the assembled block rows into w.res, by the partitioned solve
   * of [−res, e] (and, in the BDF2 stage, the error estimate at this iterate as a third column, filtered
   * into w.est) and the Sherman–Morrison border of the front current. Returns why the system was refused.
   */
  private blockSolve(y: Float64Array, rhs: Float64Array, dt: number, withEstimate: boolean): { reason: string; at: number } | undefined {
    const { solver, sys: B, X } = this.blk!;
    const { m, U, N } = this.sys;
    const { res, est } = this.w;
    const q = withEstimate ? 3 : 2;
    if (withEstimate) this.estimateAt(y, rhs, dt);
    for (let i = 0; i < N; i++)
      for (let r = 0; r < m; r++) {
        const k = i * m + r;
        X[k * q] = -B.res[k];
        X[k * q + 1] = r === U ? 1 : 0;
        if (q === 3) X[k * q + 2] = est[k];
      }
    this.onBlockSystem?.(B, X, q, solver);
    const st = solver.solve(B.A, B.B, B.C, X, q, this.blk!.round);
    const tol = this.num.PIVOT_TOL ?? 0;
    if (!(st.minPivot > tol))
      return { reason: `tiny pivot ${st.minPivot.toExponential(2)} in a block of the Newton matrix`, at: Math.max(0, st.cell) * m };
    // Sherman–Morrison: (B − e gFᵀ)⁻¹ b = B⁻¹b + B⁻¹e · gF·B⁻¹b / (1 − gF·B⁻¹e); gF lives on cell 0
    let g1 = 0;
    let g2 = 0;
    let g3 = 0;
    for (let r = 0; r < m; r++) {
      g1 += B.gF[r] * X[r * q];
      g2 += B.gF[r] * X[r * q + 1];
      if (q === 3) g3 += B.gF[r] * X[r * q + 2];
    }
    const dI = g1 / (1 - g2);
    const dE = g3 / (1 - g2);
    for (let k = 0; k < N * m; k++) {
      res[k] = X[k * q] + X[k * q + 1] * dI;
      if (q === 3) est[k] = X[k * q + 2] + X[k * q + 1] * dE;
    }
    return undefined;
  }

  /** The error estimate's right-hand side at the BDF2 iterate y (rows scaled by h_i; ψ rows 0) into w.est. */
  private estimateAt(y: Float64Array, rhs: Float64Array, dt: number): void {
    const { f0, fg, est } = this.w;
    const { m, U, N } = this.sys;
    const h = this.grid.h;
    for (let i = 0; i < N; i++) {
      for (let u = 0; u < U; u++) {
        const k = i * m + u;
        const f1 = (y[k] - rhs[k]) / (CD * dt);
        est[k] = h[i] * (C_ERR * 2 * dt * (f0[k] / GAMMA - fg[k] / (GAMMA * (1 - GAMMA)) + f1 / (1 - GAMMA)));
      }
      est[i * m + U] = 0;
    }
  }

  /** y += the Newton update in w.res, its scaled size into `upd`. */
  private newtonUpdate(y: Float64Array): void {
    const { res } = this.w;
    const { m, U: S, N } = this.sys; // S here: unknown densities per cell
    const { PSI_TOL, FIELD_TOL } = this.num;
    const h = this.grid.h;
    const { rtol, atol } = this.protocol.solver;
    let dmax = 0;
    let dpsi = 0;
    let worst = -1;
    for (let i = 0; i < N; i++) {
      const base = i * m;
      for (let s = 0; s < S; s++) {
        const k = base + s;
        const dk = res[k];
        const yk = (y[k] += dk);
        const r = Math.abs(dk) / (atol + rtol * Math.abs(yk));
        if (!(r <= dmax)) {
          dmax = r;
          worst = k;
        }
      }
      const dk = res[base + S];
      y[base + S] += dk;
      // ψ is tested as a field: |δψ_i| / (ψ_tol + h_i·E_tol). In the coarse bulk cells f64 holds ψ
      // only to ~1e-3 kT (Σn − 1 per kT there is ~1e-13), so an absolute test could never pass.
      const a = Math.abs(dk) / (PSI_TOL + FIELD_TOL * h[i]);
      if (!(a <= dpsi)) dpsi = a;
    }
    const u = this.upd;
    u.dmax = dmax;
    u.dpsi = dpsi;
    u.worst = worst;
  }

  /**
   * One TR-BDF2 step of size dt from w.y0 (with w.f0, w.bf0 evaluated there).
   * On success w.y1 holds the new state; returns the scaled error norm and
   * the boundary integrals over the step.
   */
  private *step(dt: number): Generator<R, { ok: true; err: number; dQ: BoundaryFluxes } | { ok: false; reason: string; at?: number }, void> {
    const { yg, y1, rhs, bfg, bf1 } = this.w;
    this.trStart(dt);
    let r = yield* this.newton(yg, rhs, dt);
    if (!r.ok) return { ok: false, reason: `TR stage: ${r.reason}`, at: r.at };
    this.trEnd(dt);
    yield* this.source.rates(yg, rhs, bfg); // boundary fluxes at yγ (rhs used as scratch)
    this.bdf2Start();
    r = yield* this.newton(y1, rhs, dt, !!this.blk);
    if (!r.ok) return { ok: false, reason: `BDF2 stage: ${r.reason}`, at: r.at };
    const err = this.errorNorm(dt);
    yield* this.source.rates(y1, rhs, bf1);
    return { ok: true, err, dQ: this.boundaryIntegrals(dt) };
  }

  /** TR stage yg − y0 − (γ dt/2)(f0 + f(yg)) = 0: rhs, and the predictor into yg. */
  private trStart(dt: number): void {
    const { y0, yg, f0, rhs } = this.w;
    const n = this.n;
    const { m, U: S, N } = this.sys; // ψ at offset U
    for (let k = 0; k < n; k++) rhs[k] = y0[k] + CD * dt * f0[k];
    // predictor: explicit Euler to tγ for the densities, ψ from y0
    for (let k = 0; k < n; k++) yg[k] = y0[k] + GAMMA * dt * f0[k];
    for (let i = 0; i < N; i++) yg[i * m + S] = y0[i * m + S];
  }

  /** fγ from the stage relation (exact at the converged value), into w.fg. */
  private trEnd(dt: number): void {
    const { yg, rhs, fg } = this.w;
    for (let k = 0; k < this.n; k++) fg[k] = (yg[k] - rhs[k]) / (CD * dt);
  }

  /** BDF2 stage y1 − (A yg − B y0) − CD dt f(y1) = 0: rhs, and the predictor into y1. */
  private bdf2Start(): void {
    const { y0, yg, y1, rhs } = this.w;
    const n = this.n;
    const { m, U: S, N } = this.sys;
    for (let k = 0; k < n; k++) rhs[k] = A_BDF * yg[k] - B_BDF * y0[k];
    // predictor: extrapolate through y0, yg
    for (let k = 0; k < n; k++) y1[k] = y0[k] + (yg[k] - y0[k]) / GAMMA;
    for (let i = 0; i < N; i++) y1[i * m + S] = yg[i * m + S];
  }

  /** The scaled error norm of the step (rhs still the BDF2 stage's, fγ in w.est). */
  private errorNorm(dt: number): number {
    const { y0, y1, rhs, est, A } = this.w;
    const { m, U: S, N } = this.sys;
    const { rtol, atol } = this.protocol.solver;
    // error estimate: C h³y''' ≈ C·2h[f0/γ − fγ/(γ(1−γ)) + f1/(1−γ)], f1 = (y1 − rhs)/(CD dt), rows scaled
    // by h_i like the iteration matrix's, filtered through it (Hosea & Shampine): `band` here through the last
    // factorised matrix; `block` already in each BDF2 Newton iteration (blockSolve)
    if (!this.blk) {
      this.estimateAt(y1, rhs, dt);
      A.solve(est);
    }
    let err = 0;
    for (let i = 0; i < N; i++) {
      for (let s = 0; s < S; s++) {
        const k = i * m + s;
        const e = Math.abs(est[k]) / (atol + rtol * Math.max(Math.abs(y0[k]), Math.abs(y1[k])));
        if (e > err) err = e;
      }
    }
    return err;
  }

  /** The boundary integrals over the step, by the same stage formulas as the densities. */
  private boundaryIntegrals(dt: number): BoundaryFluxes {
    const { bf0, bfg, bf1 } = this.w;
    const SA = this.sys.S; // all active species
    const dQ = { front: new Float64Array(SA), back: new Float64Array(SA) };
    for (let s = 0; s < SA; s++) {
      for (const side of ['front', 'back'] as const) {
        const g0 = bf0[side][s];
        const gg = bfg[side][s];
        const g1 = bf1[side][s];
        // q_γ − q_0 = CD dt (g0 + gγ);  q_1 − q_0 = A(q_γ − q_0) + CD dt g1  (since A − B = 1)
        const dqg = CD * dt * (g0 + gg);
        dQ[side][s] = A_BDF * dqg + CD * dt * g1;
      }
    }
    return dQ;
  }

  /**
   * ψ consistent with the densities at the stage start: Poisson alone, or in
   * the quasi-neutral limit current continuity (the Newton system at Δt = 0,
   * from the linear profile).
   */
  private *initialPotential(): Generator<R, void, void> {
    const { y0, rhs } = this.w;
    const sys = this.sys;
    if (sys.formulation === 'poisson') {
      sys.solvePoisson(y0);
      return;
    }
    const { N, m, U } = sys;
    const L = this.grid.L_nm;
    for (let i = 0; i < N; i++) y0[i * m + U] = sys.psiU * (1 - this.grid.x[i] / L);
    rhs.set(y0);
    const r = yield* this.newton(y0, rhs, 0);
    if (!r.ok) throw new SolverError(`initial potential: ${r.reason}`, { stage: this.stage.name, t_s: 0 });
  }

  /** The stage with a source that never yields (the f64 solver's own). */
  run(dens: Float64Array[], opts: RunOptions, stageIndex: number, stageCount: number): StageResult {
    const r = this.steps(dens, opts, stageIndex, stageCount).next();
    if (!r.done) throw new Error('StageRunner.run: the stage source yielded a request; drive steps() instead');
    return r.value;
  }

  /** Smallest density of any active species in y (n/n0), and where (index into y; ψ for the closing species). */
  private minDensity(y: Float64Array): { minN: number; minAt: number } {
    const sys = this.sys;
    const { N, m, S, U } = sys;
    let minN = Infinity;
    let minAt = -1;
    const nAll = sys.fill(y);
    for (let i = 0; i < N; i++)
      for (let s = 0; s < S; s++) {
        const v = nAll[i * S + s];
        if (v < minN) {
          minN = v;
          const u = sys.uOf[s];
          minAt = u >= 0 ? i * m + u : i * m + U;
        }
      }
    return { minN, minAt };
  }

  /**
   * The stage, yielding the source's requests: TR-BDF2 steps under error and positivity control,
   * landing on the record times and charges and on the stop time or charge.
   */
  *steps(dens: Float64Array[], opts: RunOptions, stageIndex: number, stageCount: number): Generator<R, StageResult, void> {
    const { protocol, stage, grid, species, sys, w } = this;
    const { N, m, S, U } = sys;
    const { NEG_TOL, REJECT_NONFINITE_ERROR } = this.num;
    const solver = protocol.solver;
    const psi = new Float64Array(N);
    sys.pack(dens, psi, w.y0);
    yield* this.initialPotential();

    const inv0 = Array.from({ length: S }, (_, s) => sys.inventory(w.y0, s));
    const crossed = { front: new Float64Array(S), back: new Float64Array(S) };
    const targets = new StageTargets(stage, this.num.TARGET_RTOL);
    const ctl = new StepController(this.num, solver.dt_max_s, Math.min(solver.dt0_s, targets.maxT));
    // particle flux in n0·nm/s → current: e·A·n0·1e-9·J
    const rec = new StageRecorder(sys, species, dens, ELEMENTARY_CHARGE * protocol.sample.area_m2 * protocol.sample.n0_m3 * 1e-9);

    let t = 0;
    let Q = 0;
    yield* this.source.rates(w.y0, w.f0, w.bf0);
    rec.record(t, Q, w.bf0);
    let lastProgress = 0;
    const progressEvery = opts.progressIntervalMs ?? 100;
    const fail = (msg: string, at?: number): never => {
      const where: SolverError['where'] = { stage: stage.name, t_s: t };
      if (at !== undefined && at >= 0) {
        const i = Math.floor(at / m);
        const v = at % m;
        if (i < N) where.depth_nm = grid.x[i];
        where.species = v < U ? sys.names[sys.unknown[v]] : 'potential';
      }
      throw new SolverError(msg, where);
    };

    for (;;) {
      if (this.stats.steps + this.stats.rejected >= solver.max_steps)
        fail(`step limit reached (${solver.max_steps} steps) at Q = ${(Q * 1e3).toPrecision(4)} mC`);
      const { dtTry, hitsTime } = ctl.propose(t, targets.timeLimit());
      if (!(dtTry > 1e-14 * Math.max(1, t))) fail(`time step underflow (Δt = ${dtTry.toExponential(2)} s)`);

      const r = yield* this.step(dtTry);
      if (!r.ok) {
        this.stats.rejected++;
        if (!ctl.newtonFailed(dtTry)) fail(`step failed at Δt = ${dtTry.toExponential(2)} s: ${r.reason}`, r.at);
        continue;
      }
      // positivity and the error estimate
      const { minN, minAt } = this.minDensity(w.y1);
      const nonFinite = REJECT_NONFINITE_ERROR && !Number.isFinite(r.err);
      if (r.err > 1 || minN < -NEG_TOL || nonFinite) {
        this.stats.rejected++;
        if (!ctl.rejected(dtTry, r.err, nonFinite)) fail(`time step underflow: error estimate ${r.err.toPrecision(3)}, min density ${minN.toExponential(2)}`, minAt);
        continue;
      }
      // charge targets: the stop charge and the next record charge (landed on by a secant)
      const dQ = rec.chargeOf(r.dQ.front);
      const qTarget = targets.chargeTarget();
      if (ctl.overshoots(dtTry, Q, dQ, qTarget)) continue;
      // accept
      t += dtTry;
      Q = Q + dQ;
      for (let s = 0; s < S; s++) {
        crossed.front[s] += r.dQ.front[s];
        crossed.back[s] += r.dQ.back[s];
      }
      this.stats.steps++;
      w.y0.set(w.y1);
      yield* this.source.rates(w.y0, w.f0, w.bf0);
      rec.record(t, Q, w.bf0);
      for (let k = targets.reached(t, Q, hitsTime, qTarget); k > 0; k--) rec.snapshot(t, Q, w.y0);
      const done = targets.done(t, Q);
      this.fraction = targets.fraction(t, Q);
      if (opts.onProgress && (done || Date.now() - lastProgress > progressEvery)) {
        lastProgress = Date.now();
        opts.onProgress({
          stageIndex,
          stageCount,
          stageName: stage.name,
          t_s: t,
          charge_C: Q,
          fraction: this.fraction,
          steps: this.stats.steps,
        });
      }
      if (done) break;
      if (targets.outOfTime(t)) {
        const stopQ = targets.stopQ!;
        fail(
          `stage cannot deliver its charge: after max_duration_s = ${targets.maxT.toExponential(3)} s only ${(Q * 1e3).toPrecision(4)} of ${(stopQ * 1e3).toPrecision(4)} mC were delivered (current ${(rec.lastCurrent() * 1e9).toPrecision(3)} nA)`,
        );
      }
      ctl.accepted(dtTry, r.err, hitsTime);
    }

    sys.unpack(w.y0, dens, psi);
    const balance: StageResult['balance'] = {};
    sys.names.forEach((nm, s) => {
      balance[nm] = { start: inv0[s], end: sys.inventory(w.y0, s), inFront: crossed.front[s], outBack: crossed.back[s] };
    });
    const density: Record<string, number[]> = {};
    species.forEach((nm, k) => (density[nm] = Array.from(dens[k])));
    return {
      name: stage.name,
      beam: stage.beam,
      duration_s: t,
      charge_C: Q,
      final_current_A: rec.lastCurrent(),
      depth_nm: Array.from(grid.x),
      density,
      potential_V: Array.from(psi, (p) => p * sys.kT),
      current: rec.current,
      snapshots: rec.snapshots,
      balance,
      stats: { ...this.stats },
    };
  }
}

/**
 * The one check that a stage models every species present at its start (largest density above 1e-12 n0):
 * the SolverError for the first that is not, or undefined. `peak(j)` is the largest density of protocol
 * species j at the stage start. Used by every engine.
 */
export function unmodelledSpecies(stage: Stage, species: readonly string[], peak: (j: number) => number): SolverError | undefined {
  for (let j = 0; j < species.length; j++) {
    const nm = species[j];
    if (!(nm in stage.D) && peak(j) > 1e-12)
      return new SolverError(`species ${nm} is present at the start of stage "${stage.name}" but the stage has no D model for it`, {
        stage: stage.name,
        species: nm,
      });
  }
  return undefined;
}

/** Run every stage of a protocol with the f64 solver. */
export function simulate(protocol: Protocol, opts: RunOptions = {}): ProtocolResult {
  const grid = gridOf(protocol);
  const species = Object.keys(protocol.species);
  const dens = species.map((nm) => new Float64Array(grid.N).fill(protocol.species[nm].initial));
  const stages: StageResult[] = [];
  protocol.stages.forEach((stage, k) => {
    const absent = unmodelledSpecies(stage, species, (j) => dens[j].reduce((a, v) => Math.max(a, v), 0));
    if (absent) throw absent;
    const runner = new StageRunner(protocol, stage, grid, species, dens, { numerics: opts.numerics, onBlockSystem: opts.onBlockSystem });
    stages.push(runner.run(dens, opts, k, protocol.stages.length));
  });
  return {
    species,
    grid: {
      cells: grid.N,
      h_min_nm: Math.min(...grid.h),
      h_max_nm: Math.max(...grid.h),
      faces_nm: Array.from(grid.faces),
    },
    stages,
  };
}
