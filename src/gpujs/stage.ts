/**
 * The host side of the gpu.js engine: one stage of one member on the f64
 * twin's scheme and rows — src/solver/simulate.ts StageRunner (TR-BDF2 with
 * the shared iteration matrix, Newton with the exact Jacobian, Hosea–Shampine
 * error estimate filtered through the iteration matrix, step control,
 * landing on the charge target) driving src/solver/npp.ts StageSystem (the
 * quasi-neutral rows `assembleQNFrom`, the rates `ratesFrom`), all in f64 —
 * except the face fluxes and their derivatives, which come from the gpu.js
 * kernel in f32 (src/gpujs/kernel.ts) instead of StageSystem.faceFluxes.
 *
 * The runner is a generator: every time the member needs the fluxes at a
 * state this stage (its StageSource) yields a {@link FluxRequest}; the engine
 * gathers the requests of all running members into one kernel call and
 * resumes them. So the members of an ensemble advance independently (each
 * its own Δt, Newton iterations and rejections) and the GPU sees one batch
 * per round.
 *
 * Why not all on gpu.js: gpu.js computes one output element per thread, with
 * no scatter writes and no per-thread scratch arrays, so the per-member banded
 * LU with partial pivoting (sequential over n = N·m columns, data-dependent
 * row swaps) cannot live in one thread as it does in npp_qn.wgsl; see the
 * README section of the engine for the measurements.
 *
 * The numerics constants are the f32 engines' (src/solver/simulate.ts F32_NUMERICS):
 * the f32 fluxes put a roundoff floor under the Newton updates. Measured
 * (tests/gpujs.test.ts, reduced paper protocol, end of stage 2): the f32
 * residual moves the Newton solution by 2e-5 kT/e in ψ — 20× the twin's f64
 * ψ tolerance (1e-6 kT/e), 0.2× F32_NUMERICS.PSI_TOL (1e-4) — and by 3e-5
 * tolerance units in the densities. Platform-neutral (no Node imports).
 */
import type { Protocol, Stage } from '../config/schema.js';
import type { BandMatrix } from '../solver/banded.js';
import type { Grid } from '../solver/grid.js';
import type { BoundaryFluxes, StageSystem } from '../solver/npp.js';
import { F32_NUMERICS, StageRunner, type StageSource, type StepNumerics } from '../solver/simulate.js';
import type { StageResult, StageStats } from '../solver/types.js';
import { FLUX_IN, FLUX_OUT } from './kernel.js';


/** The runner's constants: the f32 engines'; a non-finite error estimate ends the stage. */
const GPUJS_NUMERICS: StepNumerics = { ...F32_NUMERICS, REJECT_NONFINITE_ERROR: true };

/** A member asks for the fluxes at a state: `inputs` (F·S·FLUX_IN, f64) in; the engine fills `out` (F·S·FLUX_OUT). */
export interface FluxRequest {
  S: number;
  F: number;
  inputs: Float64Array;
  tables: Float32Array[];
  out?: Float32Array;
}

/**
 * One stage of one member on the twin's system. `sys` is built on the
 * tabulated, quasi-neutral protocol (the twin's), so its metadata (species
 * roles, closing species, reservoir, packing) and its rows are the twin's;
 * only its face fluxes come from the kernel.
 */
export class GpuJsStage implements StageSource<FluxRequest> {
  readonly runner: StageRunner<FluxRequest>;
  readonly sys: StageSystem;
  readonly n: number;
  readonly F: number;
  private readonly req: FluxRequest;

  /** `tables`: the ln D tables (nm²/s) of the active species, in StageSystem order. */
  constructor(protocol: Protocol, stage: Stage, grid: Grid, species: string[], dens: Float64Array[], tables: Float32Array[]) {
    this.runner = new StageRunner<FluxRequest>(protocol, stage, grid, species, dens, { numerics: GPUJS_NUMERICS, source: () => this });
    this.sys = this.runner.sys;
    if (this.sys.formulation !== 'quasineutral') throw new Error('gpujs: the stage system must be quasi-neutral (the twin protocol)');
    const { N, S } = this.sys;
    this.n = this.runner.n;
    this.F = N + 1;
    this.req = { S, F: this.F, inputs: new Float64Array(this.F * S * FLUX_IN), tables };
  }

  get stats(): StageStats {
    return this.runner.stats;
  }

  /** progress within the stage (0..1), by charge or by time */
  get fraction(): number {
    return this.runner.fraction;
  }

  /** The kernel inputs of state y: n_L, n_R, n_L − n_R, Δ per face and species (f64). */
  private prepare(y: Float64Array): FluxRequest {
    const sys = this.sys;
    const { N, S, U, m, z, beam } = sys;
    const d = sys.grid.d;
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

  /**
   * The fluxes at y from the kernel into sys.faceFlux. The kernel's fourth number is ∂J/∂Δ; the
   * system's is ∂J/∂ψ (Δ = z (ψ_R − ψ_L) at the front and interior faces, z ψ_{N−1}/d_N at the back).
   */
  private *fluxes(y: Float64Array): Generator<FluxRequest, void, void> {
    const r = this.prepare(y);
    yield r;
    const J = r.out;
    if (!J) throw new Error('gpujs engine: a flux request was resumed without its result');
    const { N, S, z } = this.sys;
    const dN = this.sys.grid.d[N];
    const ff = this.sys.faceFlux;
    for (let k = 0; k <= N; k++) {
      for (let s = 0; s < S; s++) {
        const o = (k * S + s) * FLUX_OUT;
        const e = (k * S + s) * 4;
        ff[e] = J[o];
        ff[e + 1] = J[o + 1];
        if (k < N) {
          ff[e + 2] = J[o + 2];
          ff[e + 3] = z[s] * J[o + 3];
        } else {
          ff[e + 2] = 0;
          ff[e + 3] = (J[o + 3] * z[s]) / dN;
        }
      }
    }
  }

  /** StageSource: the twin's `rates` from the kernel's fluxes. */
  *rates(y: Float64Array, f: Float64Array, bf: BoundaryFluxes): Generator<FluxRequest, void, void> {
    yield* this.fluxes(y);
    this.sys.ratesFrom(y, f, bf);
  }

  /** StageSource: the twin's quasi-neutral rows, summed in f64 from the kernel's fluxes and derivatives. */
  *assemble(y: Float64Array, rhs: Float64Array, cdt: number, A: BandMatrix, res: Float64Array): Generator<FluxRequest, void, void> {
    yield* this.fluxes(y);
    this.sys.assembleQNFrom(y, rhs, cdt, A, res);
  }

  /** The residual and the band matrix (LAPACK layout of src/solver/banded.ts) at (y, rhs, cdt) as the engine assembles them: for measurements. */
  *assembly(y: Float64Array, rhs: Float64Array, cdt: number): Generator<FluxRequest, { res: Float64Array; ab: Float64Array }, void> {
    const { A, res } = this.runner.w;
    yield* this.assemble(y, rhs, cdt, A, res);
    return { res: Float64Array.from(res), ab: Float64Array.from(A.ab) };
  }

  /**
   * Runs the stage from `dens` (changed in place to the end state). Throws a SolverError where the
   * twin would. The result records the current at every accepted step, no snapshots (refused).
   */
  *run(dens: Float64Array[]): Generator<FluxRequest, StageResult, void> {
    return yield* this.runner.steps(dens, {}, 0, 1);
  }
}
