/**
 * The host side of the gpu.js engine: one stage of one member, the f64 twin's
 * scheme step for step (src/solver/simulate.ts StageRunner: TR-BDF2 with the
 * shared iteration matrix, Newton with the exact Jacobian, Hosea–Shampine
 * error estimate filtered through the iteration matrix, step control,
 * landing on the charge target) and the twin's quasi-neutral rows
 * (src/solver/npp.ts assembleQN), all in f64 — except the face fluxes and
 * their derivatives, which come from the gpu.js kernel in f32
 * (src/gpujs/kernel.ts).
 *
 * Written as a generator: every time the member needs the fluxes at a state
 * it yields a {@link FluxRequest}; the engine gathers the requests of all
 * running members into one kernel call and resumes them. So the members of
 * an ensemble advance independently (each its own Δt, Newton iterations and
 * rejections) and the GPU sees one batch per round.
 *
 * Why not all on gpu.js: gpu.js computes one output element per thread, with
 * no scatter writes and no per-thread scratch arrays, so the per-member banded
 * LU with partial pivoting (sequential over n = N·m columns, data-dependent
 * row swaps) cannot live in one thread as it does in npp_qn.wgsl; see the
 * README section of the engine for the measurements.
 *
 * The numerics constants are the f32 engines' (src/gpu/layout.ts NUMERICS):
 * the f32 fluxes put a roundoff floor under the Newton updates. Measured
 * (tests/gpujs.test.ts, reduced paper protocol, end of stage 2): the f32
 * residual moves the Newton solution by 2e-5 kT/e in ψ — 20× the twin's f64
 * ψ tolerance (1e-6 kT/e), 0.2× NUMERICS.PSI_TOL (1e-4) — and by 3e-5
 * tolerance units in the densities. Platform-neutral (no Node imports).
 */
import type { Protocol, Stage } from '../config/schema.js';
import { ELEMENTARY_CHARGE } from '../physics/constants.js';
import { BandMatrix } from '../solver/banded.js';
import type { Grid } from '../solver/grid.js';
import { StageSystem } from '../solver/npp.js';
import { SolverError, type StageResult, type StageStats } from '../solver/types.js';
import { NUMERICS } from '../gpu/layout.js';
import { FLUX_IN, FLUX_OUT } from './kernel.js';

const { GAMMA, MAX_NEWTON, SAFETY, MAX_GROWTH, NEWTON_TOL, NOISE_FLOOR, PSI_TOL, FIELD_TOL, NEG_TOL, TARGET_RTOL } = NUMERICS;
const CD = GAMMA / 2;
const A_BDF = 1 / (GAMMA * (2 - GAMMA));
const B_BDF = ((1 - GAMMA) * (1 - GAMMA)) / (GAMMA * (2 - GAMMA));
const C_ERR = (-3 * GAMMA * GAMMA + 4 * GAMMA - 2) / (12 * (2 - GAMMA));

/** A member asks for the fluxes at a state: `inputs` (F·S·FLUX_IN, f64) in; the engine fills `out` (F·S·FLUX_OUT). */
export interface FluxRequest {
  S: number;
  F: number;
  inputs: Float64Array;
  tables: Float32Array[];
  out?: Float32Array;
}

interface Fluxes {
  front: Float64Array;
  back: Float64Array;
}

/**
 * One stage of one member on the twin's system. `sys` is built on the
 * tabulated, quasi-neutral protocol (the twin's), so its metadata (species
 * roles, closing species, reservoir, packing) is the twin's; its assembly is
 * not used.
 */
export class GpuJsStage {
  readonly sys: StageSystem;
  readonly n: number;
  readonly F: number;
  stats: StageStats = { steps: 0, rejected: 0, newtonIterations: 0, factorizations: 0 };
  private readonly A: BandMatrix;
  private readonly y0: Float64Array;
  private readonly yg: Float64Array;
  private readonly y1: Float64Array;
  private readonly f0: Float64Array;
  private readonly rhs: Float64Array;
  private readonly res: Float64Array;
  private readonly est: Float64Array;
  private readonly bf0: Fluxes;
  private readonly bfg: Fluxes;
  private readonly bf1: Fluxes;
  private readonly req: FluxRequest;
  private readonly invd: Float64Array;

  constructor(
    readonly protocol: Protocol,
    readonly stage: Stage,
    readonly grid: Grid,
    readonly species: string[],
    dens: Float64Array[],
    /** ln D tables (nm²/s) of the active species, in StageSystem order */
    tables: Float32Array[],
  ) {
    this.sys = new StageSystem(grid, protocol, stage, species, dens);
    const { N, m, S } = this.sys;
    this.n = N * m;
    this.F = N + 1;
    const mk = () => new Float64Array(this.n);
    this.y0 = mk();
    this.yg = mk();
    this.y1 = mk();
    this.f0 = mk();
    this.rhs = mk();
    this.res = mk();
    this.est = mk();
    const bf = () => ({ front: new Float64Array(S), back: new Float64Array(S) });
    this.bf0 = bf();
    this.bfg = bf();
    this.bf1 = bf();
    this.A = new BandMatrix(this.n, this.sys.kl, this.sys.ku);
    this.req = { S, F: this.F, inputs: new Float64Array(this.F * S * FLUX_IN), tables };
    this.invd = Float64Array.from(grid.d, (d) => 1 / d);
  }

  /** 1/d_k of every face (the kernel's shared input). */
  get inverseDistances(): Float64Array {
    return this.invd;
  }

  /** The kernel inputs of state y: n_L, n_R, n_L − n_R, Δ per face and species (f64). */
  private prepare(y: Float64Array): FluxRequest {
    const sys = this.sys;
    const { N, S, U, m, z, beam } = sys;
    const d = this.grid.d;
    const nAll = sys.fill(y);
    const inp = this.req.inputs;
    inp.fill(0);
    const put = (k: number, s: number, nL: number, nR: number, dn: number, Delta: number) => {
      const e = (k * S + s) * FLUX_IN;
      inp[e] = nL;
      inp[e + 1] = nR;
      inp[e + 2] = dn;
      inp[e + 3] = Delta;
    };
    {
      const s = beam;
      const nR = nAll[s];
      put(0, s, sys.cRes, nR, sys.cRes - nR, z[s] * (y[U] - sys.psiU));
    }
    for (let k = 1; k < N; k++) {
      const L = k - 1;
      const dpsi = y[k * m + U] - y[L * m + U];
      for (let s = 0; s < S; s++) {
        const nL = nAll[L * S + s];
        const nR = nAll[k * S + s];
        put(k, s, nL, nR, nL - nR, z[s] * dpsi);
      }
    }
    const psiL = y[(N - 1) * m + U];
    for (let s = 0; s < S; s++) put(N, s, nAll[(N - 1) * S + s], 0, 0, (z[s] * psiL) / d[N]);
    this.req.out = undefined;
    return this.req;
  }

  /** The fluxes at y from the kernel. */
  private *fluxes(y: Float64Array): Generator<FluxRequest, Float32Array, void> {
    const r = this.prepare(y);
    yield r;
    if (!r.out) throw new Error('gpujs engine: a flux request was resumed without its result');
    return r.out;
  }

  /** f = −(J_{i+½} − J_{i−½})/h_i of the unknown densities, and the boundary fluxes (the twin's `rates`). */
  private *rates(y: Float64Array, f: Float64Array, bf: Fluxes): Generator<FluxRequest, void, void> {
    const sys = this.sys;
    const { N, S, m, uOf, beam } = sys;
    const h = this.grid.h;
    const J = yield* this.fluxes(y);
    const jf = (k: number, s: number) => J[(k * S + s) * FLUX_OUT];
    f.fill(0);
    bf.front.fill(0);
    bf.back.fill(0);
    {
      const v = jf(0, beam);
      bf.front[beam] = v;
      if (uOf[beam] >= 0) f[uOf[beam]] += v / h[0];
    }
    for (let k = 1; k < N; k++) {
      for (let s = 0; s < S; s++) {
        const u = uOf[s];
        if (u < 0) continue;
        const v = jf(k, s);
        f[(k - 1) * m + u] -= v / h[k - 1];
        f[k * m + u] += v / h[k];
      }
    }
    const inp = this.req.inputs;
    for (let s = 0; s < S; s++) {
      const v = inp[(N * S + s) * FLUX_IN + 3] > 0 ? jf(N, s) : 0;
      bf.back[s] = v;
      if (uOf[s] >= 0) f[(N - 1) * m + uOf[s]] -= v / h[N - 1];
    }
  }

  /**
   * Residual and banded Jacobian of y − rhs − cdt·f(y) = 0 with current continuity: the twin's
   * assembleQN rows, summed in f64 from the kernel's fluxes and derivatives.
   */
  private *assemble(y: Float64Array, rhs: Float64Array, cdt: number): Generator<FluxRequest, void, void> {
    const sys = this.sys;
    const { N, S, U, m, z, uOf, unknown, closing, beam } = sys;
    const { h, d } = this.grid;
    const A = this.A;
    const res = this.res;
    const ab = A.ab;
    const kv = A.kv;
    const l1 = A.ldab - 1;
    const J = yield* this.fluxes(y);
    A.zero();
    const zc = z[closing];
    for (let i = 0; i < N; i++) {
      for (let u = 0; u < U; u++) {
        const r = i * m + u;
        res[r] = h[i] * (y[r] - rhs[r]);
        ab[kv + r + r * l1] += h[i];
      }
      res[i * m + U] = 0;
    }
    const scatter = (s: number, L: number, R: number, Jv: number, dnL: number, dnR: number, dpL: number, dpR: number) => {
      const u = uOf[s];
      const zs = z[s];
      const add = (row: number, scale: number) => {
        if (L >= 0) {
          ab[kv + row + (L * m + U) * l1] += scale * dpL;
          if (u >= 0) ab[kv + row + (L * m + u) * l1] += scale * dnL;
          else for (let f = 0; f < U; f++) ab[kv + row + (L * m + f) * l1] -= (scale * dnL * z[unknown[f]]) / zc;
        }
        if (R >= 0) {
          ab[kv + row + (R * m + U) * l1] += scale * dpR;
          if (u >= 0) ab[kv + row + (R * m + u) * l1] += scale * dnR;
          else for (let f = 0; f < U; f++) ab[kv + row + (R * m + f) * l1] -= (scale * dnR * z[unknown[f]]) / zc;
        }
      };
      for (const [cell, sign] of [
        [L, 1],
        [R, -1],
      ] as const) {
        if (cell < 0) continue;
        const pRow = cell * m + U;
        res[pRow] += sign * zs * Jv;
        if (u >= 0) res[cell * m + u] += sign * cdt * Jv;
        add(pRow, sign * zs);
        if (u >= 0) add(cell * m + u, sign * cdt);
      }
    };
    const at = (k: number, s: number, q: number) => J[(k * S + s) * FLUX_OUT + q];
    {
      const s = beam;
      scatter(s, -1, 0, at(0, s, 0), 0, at(0, s, 2), 0, z[s] * at(0, s, 3));
    }
    for (let k = 1; k < N; k++) {
      for (let s = 0; s < S; s++) {
        const dpR = z[s] * at(k, s, 3);
        scatter(s, k - 1, k, at(k, s, 0), at(k, s, 1), at(k, s, 2), -dpR, dpR);
      }
    }
    const inp = this.req.inputs;
    for (let s = 0; s < S; s++) {
      if (!(inp[(N * S + s) * FLUX_IN + 3] > 0)) continue;
      scatter(s, N - 1, -1, at(N, s, 0), at(N, s, 1), 0, (at(N, s, 3) * z[s]) / d[N], 0);
    }
  }

  /** The residual and the band matrix (LAPACK layout of src/solver/banded.ts) at (y, rhs, cdt) as the engine assembles them: for measurements. */
  *assembly(y: Float64Array, rhs: Float64Array, cdt: number): Generator<FluxRequest, { res: Float64Array; ab: Float64Array }, void> {
    yield* this.assemble(y, rhs, cdt);
    return { res: Float64Array.from(this.res), ab: Float64Array.from(this.A.ab) };
  }

  /** Newton for y − rhs − CD·dt·f(y) = 0 (the twin's, with the f32 engines' floors). */
  private *newton(y: Float64Array, rhs: Float64Array, dt: number): Generator<FluxRequest, { ok: boolean; reason?: string; at?: number }, void> {
    const { A, res } = this;
    const { m, U, N } = this.sys;
    const cdt = CD * dt;
    const h = this.grid.h;
    const { rtol, atol } = this.protocol.solver;
    let prev = Infinity;
    for (let it = 1; it <= MAX_NEWTON; it++) {
      yield* this.assemble(y, rhs, cdt);
      this.stats.factorizations++;
      const sing = A.factor();
      if (sing >= 0) return { ok: false, reason: 'singular Newton matrix', at: sing };
      for (let k = 0; k < this.n; k++) res[k] = -res[k];
      A.solve(res);
      let dmax = 0;
      let dpsi = 0;
      let worst = -1;
      for (let i = 0; i < N; i++) {
        const base = i * m;
        for (let s = 0; s < U; s++) {
          const k = base + s;
          const dk = res[k];
          const yk = (y[k] += dk);
          const r = Math.abs(dk) / (atol + rtol * Math.abs(yk));
          if (!(r <= dmax)) {
            dmax = r;
            worst = k;
          }
        }
        const dk = res[base + U];
        y[base + U] += dk;
        const a = Math.abs(dk) / (PSI_TOL + FIELD_TOL * h[i]);
        if (!(a <= dpsi)) dpsi = a;
      }
      this.stats.newtonIterations++;
      if (!Number.isFinite(dmax) || !Number.isFinite(dpsi)) return { ok: false, reason: 'Newton update is not finite', at: worst };
      if (dmax < NEWTON_TOL && dpsi < 1) return { ok: true };
      if (it >= 2 && dmax < NOISE_FLOOR && dmax > 0.3 * prev) return { ok: true };
      if (it >= 4 && dmax > prev && dmax > 1e-3) return { ok: false, reason: 'Newton diverged', at: worst };
      prev = dmax;
    }
    return { ok: false, reason: `Newton did not converge in ${MAX_NEWTON} iterations` };
  }

  /** One TR-BDF2 step of size dt from y0 (the twin's `step`). */
  private *step(dt: number): Generator<FluxRequest, { ok: true; err: number; dQ: Fluxes } | { ok: false; reason: string; at?: number }, void> {
    const { y0, yg, y1, f0, rhs, est, A, bf0, bfg, bf1 } = this;
    const sys = this.sys;
    const n = this.n;
    const { m, U, N } = sys;
    const SA = sys.S;
    for (let k = 0; k < n; k++) rhs[k] = y0[k] + CD * dt * f0[k];
    for (let k = 0; k < n; k++) yg[k] = y0[k] + GAMMA * dt * f0[k];
    for (let i = 0; i < N; i++) yg[i * m + U] = y0[i * m + U];
    let r = yield* this.newton(yg, rhs, dt);
    if (!r.ok) return { ok: false, reason: `TR stage: ${r.reason}`, at: r.at };
    const fg = est;
    for (let k = 0; k < n; k++) fg[k] = (yg[k] - rhs[k]) / (CD * dt);
    yield* this.rates(yg, rhs, bfg);
    for (let k = 0; k < n; k++) rhs[k] = A_BDF * yg[k] - B_BDF * y0[k];
    for (let k = 0; k < n; k++) y1[k] = y0[k] + (yg[k] - y0[k]) / GAMMA;
    for (let i = 0; i < N; i++) y1[i * m + U] = yg[i * m + U];
    r = yield* this.newton(y1, rhs, dt);
    if (!r.ok) return { ok: false, reason: `BDF2 stage: ${r.reason}`, at: r.at };
    const { rtol, atol } = this.protocol.solver;
    const h = this.grid.h;
    for (let i = 0; i < N; i++) {
      for (let s = 0; s < U; s++) {
        const k = i * m + s;
        const f1 = (y1[k] - rhs[k]) / (CD * dt);
        const e = C_ERR * 2 * dt * (f0[k] / GAMMA - fg[k] / (GAMMA * (1 - GAMMA)) + f1 / (1 - GAMMA));
        est[k] = h[i] * e;
      }
      est[i * m + U] = 0;
    }
    A.solve(est);
    let err = 0;
    for (let i = 0; i < N; i++) {
      for (let s = 0; s < U; s++) {
        const k = i * m + s;
        const e = Math.abs(est[k]) / (atol + rtol * Math.max(Math.abs(y0[k]), Math.abs(y1[k])));
        if (e > err) err = e;
      }
    }
    yield* this.rates(y1, rhs, bf1);
    const dQ = { front: new Float64Array(SA), back: new Float64Array(SA) };
    for (let s = 0; s < SA; s++) {
      for (const side of ['front', 'back'] as const) {
        const dqg = CD * dt * (bf0[side][s] + bfg[side][s]);
        dQ[side][s] = A_BDF * dqg + CD * dt * bf1[side][s];
      }
    }
    return { ok: true, err, dQ };
  }

  /**
   * Runs the stage from `dens` (changed in place to the end state). Throws a SolverError where the
   * twin would. The result records the current at every accepted step, no snapshots (refused).
   */
  *run(dens: Float64Array[]): Generator<FluxRequest, StageResult, void> {
    const { protocol, stage, grid, species } = this;
    const sys = this.sys;
    const { N, m, S, U } = sys;
    const solver = protocol.solver;
    const toAmp = ELEMENTARY_CHARGE * protocol.sample.area_m2 * protocol.sample.n0_m3 * 1e-9;
    const zBeam = sys.z[sys.beam];
    const psi = new Float64Array(N);
    sys.pack(dens, psi, this.y0);
    // initial potential: current continuity at Δt = 0 from the linear profile
    for (let i = 0; i < N; i++) this.y0[i * m + U] = sys.psiU * (1 - grid.x[i] / grid.L_nm);
    this.rhs.set(this.y0);
    const r0 = yield* this.newton(this.y0, this.rhs, 0);
    if (!r0.ok) throw new SolverError(`initial potential: ${r0.reason}`, { stage: stage.name, t_s: 0 });
    const inv0 = Array.from({ length: S }, (_, s) => sys.inventory(this.y0, s));
    const crossed = { front: new Float64Array(S), back: new Float64Array(S) };
    const stopQ = 'charge_C' in stage.stop ? stage.stop.charge_C : undefined;
    const stopT = 'duration_s' in stage.stop ? stage.stop.duration_s : undefined;
    const maxT = stopT ?? stage.max_duration_s;
    let t = 0;
    let Q = 0;
    let dt = Math.min(solver.dt0_s, maxT);
    const rec = { t_s: [] as number[], I_A: [] as number[], I_back_A: [] as number[], Q_C: [] as number[] };
    const record = () => {
      rec.t_s.push(t);
      rec.I_A.push(zBeam * this.bf0.front[sys.beam] * toAmp);
      let ib = 0;
      for (let s = 0; s < S; s++) ib += sys.z[s] * this.bf0.back[s];
      rec.I_back_A.push(ib * toAmp);
      rec.Q_C.push(Q);
    };
    yield* this.rates(this.y0, this.f0, this.bf0);
    record();
    let secantTries = 0;
    let lastFreeDt: number | undefined;
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
      let dtTry = Math.min(dt, solver.dt_max_s, maxT - t);
      const hitsTime = dtTry >= maxT - t - TARGET_RTOL * Math.max(maxT, 1);
      if (hitsTime) dtTry = maxT - t;
      if (!(dtTry > 1e-14 * Math.max(1, t))) fail(`time step underflow (Δt = ${dtTry.toExponential(2)} s)`);
      const r = yield* this.step(dtTry);
      if (!r.ok) {
        this.stats.rejected++;
        dt = dtTry / 4;
        if (dt < 1e-12) fail(`step failed at Δt = ${dtTry.toExponential(2)} s: ${r.reason}`, r.at);
        continue;
      }
      let minN = Infinity;
      let minAt = -1;
      const nAll = sys.fill(this.y1);
      for (let i = 0; i < N; i++)
        for (let s = 0; s < S; s++) {
          const v = nAll[i * S + s];
          if (v < minN) {
            minN = v;
            const u = sys.uOf[s];
            minAt = u >= 0 ? i * m + u : i * m + U;
          }
        }
      if (r.err > 1 || minN < -NEG_TOL || !Number.isFinite(r.err)) {
        this.stats.rejected++;
        const fac = r.err > 1 ? Math.max(0.1, 0.9 * Math.pow(r.err, -1 / 3)) : 0.5;
        dt = dtTry * fac;
        if (dt < 1e-12 || !Number.isFinite(r.err))
          fail(`time step underflow: error estimate ${r.err.toPrecision(3)}, min density ${minN.toExponential(2)}`, minAt);
        continue;
      }
      const dQ = zBeam * r.dQ.front[sys.beam] * toAmp;
      const Q1 = Q + dQ;
      if (stopQ !== undefined && Q1 > stopQ * (1 + TARGET_RTOL) && secantTries < 30) {
        secantTries++;
        dt = dtTry * ((stopQ - Q) / dQ) * (1 - 0.1 * TARGET_RTOL);
        continue;
      }
      secantTries = 0;
      t += dtTry;
      Q = Q1;
      for (let s = 0; s < S; s++) {
        crossed.front[s] += r.dQ.front[s];
        crossed.back[s] += r.dQ.back[s];
      }
      this.stats.steps++;
      this.y0.set(this.y1);
      yield* this.rates(this.y0, this.f0, this.bf0);
      record();
      const done = (stopQ !== undefined && Q >= stopQ * (1 - TARGET_RTOL)) || (stopT !== undefined && t >= stopT * (1 - TARGET_RTOL));
      this.fraction = stopQ !== undefined ? Math.min(1, Q / stopQ) : Math.min(1, t / maxT);
      if (done) break;
      if (stopQ !== undefined && t >= maxT * (1 - TARGET_RTOL)) {
        const I = rec.I_A[rec.I_A.length - 1];
        fail(
          `stage cannot deliver its charge: after max_duration_s = ${maxT.toExponential(3)} s only ${(Q * 1e3).toPrecision(4)} of ${(stopQ * 1e3).toPrecision(4)} mC were delivered (current ${(I * 1e9).toPrecision(3)} nA)`,
        );
      }
      const grow = r.err > 0 ? SAFETY * Math.pow(r.err, -1 / 3) : MAX_GROWTH;
      dt = dtTry * Math.min(MAX_GROWTH, Math.max(0.2, grow));
      if (hitsTime) dt = Math.max(dt, lastFreeDt ?? dt);
      else lastFreeDt = dt;
    }
    sys.unpack(this.y0, dens, psi);
    const balance: StageResult['balance'] = {};
    sys.names.forEach((nm, s) => {
      balance[nm] = { start: inv0[s], end: sys.inventory(this.y0, s), inFront: crossed.front[s], outBack: crossed.back[s] };
    });
    const density: Record<string, number[]> = {};
    species.forEach((nm, k) => (density[nm] = Array.from(dens[k])));
    return {
      name: stage.name,
      beam: stage.beam,
      duration_s: t,
      charge_C: Q,
      final_current_A: rec.I_A[rec.I_A.length - 1],
      depth_nm: Array.from(grid.x),
      density,
      potential_V: Array.from(psi, (p) => p * sys.kT),
      current: rec,
      snapshots: [],
      balance,
      stats: { ...this.stats },
    };
  }

  /** progress within the stage (0..1), by charge or by time */
  fraction = 0;
}
