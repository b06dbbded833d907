/**
 * The gpu.js part of the gpu.js ensemble engine: the Scharfetter–Gummel
 * face fluxes of every (member, face, species) of a batch, with the
 * derivatives the Newton Jacobian needs, in single precision, one gpu.js
 * thread per output element (output [S, F, M]: x = species, y = face,
 * z = batch slot; F = N + 1 faces). Each thread evaluates D(n) and dD/dn of
 * its two cells from the member's ln D table (the `table` model of the f64
 * twin: θ = n, uniform θ grid, linear in ln D), the Bernoulli function and
 * the flux. What it returns per element (Array(4)):
 *
 * - front face (y = 0, beam species; the left side is the reservoir at
 *   c_res, whose D the same table gives): [J, ∂J/∂n_L, ∂J/∂n_R, ∂J/∂Δ]
 * - interior faces: the same, Δ = z (ψ_R − ψ_L), J = (D_f/d)[B(Δ)(n_L − n_R) − Δ n_R]
 *   (B(−Δ) = B(Δ) + Δ: no cancellation of the drift, as in npp_qn.wgsl `sgG`),
 *   D_f = (D_L + D_R)/2 (`arithmetic`, the only face average the engine takes)
 * - back face (y = N): drift out of cell N−1, J = D n Δ for Δ = z ψ_{N−1}/d_N > 0,
 *   else 0: [J, ∂J/∂n_L, 0, ∂J/∂Δ = D n]
 *
 * The host (src/gpujs/stage.ts) prepares the inputs in f64 — n_L, n_R, the
 * difference n_L − n_R and Δ — so that f32 only rounds them once: ψ itself
 * (~540 kT/e at 15 V) never meets f32, whose ulp there (6e-5 kT/e) is the
 * size of a bulk face drop. It assembles the residual and the band matrix
 * from these numbers in f64 (the twin's rows), and factorises it there.
 *
 * Written as a source string, not a function: gpu.js parses the kernel's
 * text, and a bundler's minifier would otherwise rewrite it into forms
 * gpu.js does not parse. Platform-neutral (no Node imports).
 */
import type { DModel } from '../config/schema.js';
import { M2_TO_NM2 } from '../physics/constants.js';
import { makeDiffusivity } from '../physics/diffusion.js';
import { CPUKernel, type GPU, HeadlessGLKernel, WebAssemblyKernel, WebGL2Kernel, WebGLKernel, type IKernelRunShortcut } from 'gpu.js';

/** Numbers per output element: J, ∂J/∂n_L, ∂J/∂n_R, ∂J/∂Δ. */
export const FLUX_OUT = 4;
/** Numbers per input element: n_L, n_R, n_L − n_R, Δ. */
export const FLUX_IN = 4;

/**
 * The kernel body. Arguments: face (F32, [M][F][S][4] inputs), tab (ln D pool, nm²/s),
 * tmeta ([M][S][2]: table offset and point count K, 1 point = constant D; a table holds K ln D values then
 * K slopes, see lnDTable), invd (1/d_k per face).
 * Constants: S (species), F (faces).
 */
export const FLUX_KERNEL_SOURCE = `function (face, tab, tmeta, invd) {
  const s = this.thread.x;
  const k = this.thread.y;
  const j = this.thread.z;
  const S = this.constants.S;
  const F = this.constants.F;
  const e = ((j * F + k) * S + s) * 4;
  const nL = face[e];
  const nR = face[e + 1];
  const dn = face[e + 2];
  const Delta = face[e + 3];
  const mi = (j * S + s) * 2;
  const off = tmeta[mi];
  const K = tmeta[mi + 1];
  const km1 = K - 1;
  let DL = 0;
  let dDL = 0;
  if (K < 1.5 || nL <= 0) {
    DL = Math.exp(tab[off]);
  } else if (nL >= 1) {
    DL = Math.exp(tab[off + km1]);
  } else {
    const xl = nL * km1;
    const il = Math.min(Math.floor(xl), km1 - 1);
    const al = tab[off + il];
    const sll = tab[off + K + il];
    DL = Math.exp(al + sll * (xl - il));
    dDL = DL * sll * km1;
  }
  if (k > F - 1.5) {
    if (Delta > 0) {
      return [DL * nL * Delta, DL * Delta + dDL * nL * Delta, 0, DL * nL];
    }
    return [0, 0, 0, 0];
  }
  let DR = 0;
  let dDR = 0;
  if (K < 1.5 || nR <= 0) {
    DR = Math.exp(tab[off]);
  } else if (nR >= 1) {
    DR = Math.exp(tab[off + km1]);
  } else {
    const xr = nR * km1;
    const ir = Math.min(Math.floor(xr), km1 - 1);
    const ar = tab[off + ir];
    const slr = tab[off + K + ir];
    DR = Math.exp(ar + slr * (xr - ir));
    dDR = DR * slr * km1;
  }
  const Df = 0.5 * (DL + DR);
  const id = invd[k];
  let bP = 0;
  let dbP = 0;
  if (Math.abs(Delta) < 0.5) {
    const x2 = Delta * Delta;
    bP = 1 - 0.5 * Delta + x2 * (1 / 12 + x2 * (-1 / 720 + x2 * (1 / 30240 - x2 / 1209600)));
    dbP = -0.5 + Delta * (1 / 6 + x2 * (-1 / 180 + x2 * (1 / 5040 - x2 / 151200)));
  } else {
    if (Delta > 80) {
      bP = Delta * Math.exp(-Delta);
    } else {
      bP = Delta / (Math.exp(Delta) - 1);
    }
    dbP = (bP * (1 - bP)) / Delta - bP;
  }
  const bM = bP + Delta;
  const g = bP * dn - Delta * nR;
  return [Df * g * id, (Df * bP + 0.5 * dDL * g) * id, (-Df * bM + 0.5 * dDR * g) * id, Df * (nL * dbP - nR * (1 + dbP)) * id];
}`;

/**
 * The kernel's ln D table (nm²/s) of a D model of the twin's protocol (tabulateProtocol: `table`
 * models on the uniform θ grid): K values ln D_j, then K slopes ln D_{j+1} − ln D_j (taken in f64:
 * the difference of two f32 entries would lose ~1e-3 of a slope of ~2e-3 per point at |ln D| ~ 16,
 * and with it dD/dn in the Jacobian); 1 value for a constant D.
 */
export function lnDTable(model: DModel, T_K: number): Float32Array {
  if (model.model !== 'table') return Float32Array.of(Math.log(makeDiffusivity(model, T_K).D1) + LN_M2_TO_NM2);
  const K = model.D_m2s.length;
  const ln = Float64Array.from(model.D_m2s, (d) => Math.log(d) + LN_M2_TO_NM2);
  const t = new Float32Array(2 * K);
  for (let j = 0; j < K; j++) {
    t[j] = ln[j];
    t[K + j] = j < K - 1 ? ln[j + 1] - ln[j] : 0;
  }
  return t;
}

const LN_M2_TO_NM2 = Math.log(M2_TO_NM2);

/** gpu.js's version, for the adapter string. */
export const GPUJS_VERSION = '2.24.1';

/** One batch of flux evaluations: `slots` members, each with its F·S·4 inputs and its S table references. */
export interface FluxBatch {
  S: number;
  F: number;
  /** per slot: F·S·FLUX_IN inputs (f64, rounded to f32 on upload) */
  inputs: Float64Array[];
  /** per slot: one ln D table per active species (lnDTable: 2K values, constant D: 1 value) */
  tables: Float32Array[][];
  /** 1/d_k of every face (shared) */
  invd: Float64Array;
}

/**
 * Runs the flux kernel with gpu.js: one compiled kernel per (S, F), dynamic
 * batch size and table pool. `evaluate` returns per slot a Float32Array of
 * F·S·FLUX_OUT numbers laid out like the inputs.
 */
export class FluxKernels {
  private readonly kernels = new Map<string, IKernelRunShortcut>();
  /** seconds spent in kernel calls (upload, run, readback) and in packing/unpacking on the host; calls, elements, most members in one call */
  readonly time = { kernel_s: 0, pack_s: 0, calls: 0, elements: 0, largestBatch: 0 };

  constructor(readonly gpu: GPU) {}

  /** The backend gpu.js runs the kernels on (after the first call: what actually ran, fallbacks included). */
  get mode(): string {
    for (const k of this.kernels.values()) {
      const m = backendOf((k as unknown as { kernel?: unknown }).kernel);
      if (m) return m;
    }
    return backendOf(undefined, (this.gpu as unknown as { Kernel?: unknown }).Kernel) ?? this.gpu.mode;
  }

  private kernelFor(S: number, F: number, M: number): IKernelRunShortcut {
    const key = `${S}|${F}`;
    let k = this.kernels.get(key);
    if (!k) {
      k = this.gpu.createKernel(FLUX_KERNEL_SOURCE, {
        constants: { S, F },
        output: [S, F, M],
        dynamicOutput: true,
        dynamicArguments: true,
        precision: 'single',
        tactic: 'precision',
        returnType: 'Array(4)',
      } as never);
      this.kernels.set(key, k);
    }
    return k;
  }

  evaluate(b: FluxBatch): Float32Array[] {
    const t0 = now();
    const M = b.inputs.length;
    const per = b.F * b.S * FLUX_IN;
    const face = new Float32Array(Math.max(1, M * per));
    const pool: number[] = [];
    const seen = new Map<Float32Array, number>();
    const tmeta = new Float32Array(Math.max(1, M * b.S * 2));
    for (let j = 0; j < M; j++) {
      face.set(b.inputs[j], j * per);
      for (let s = 0; s < b.S; s++) {
        const t = b.tables[j][s];
        let off = seen.get(t);
        if (off === undefined) {
          off = pool.length;
          seen.set(t, off);
          for (let i = 0; i < t.length; i++) pool.push(t[i]);
        }
        tmeta[(j * b.S + s) * 2] = off;
        tmeta[(j * b.S + s) * 2 + 1] = t.length === 1 ? 1 : t.length / 2;
      }
    }
    const kern = this.kernelFor(b.S, b.F, M);
    kern.setOutput([b.S, b.F, M]);
    const t1 = now();
    const raw = kern(face, Float32Array.from(pool), tmeta, Float32Array.from(b.invd)) as unknown as ArrayLike<ArrayLike<ArrayLike<ArrayLike<number>>>>;
    const t2 = now();
    const out: Float32Array[] = [];
    for (let j = 0; j < M; j++) {
      const o = new Float32Array(b.F * b.S * FLUX_OUT);
      const rj = raw[j];
      for (let k = 0; k < b.F; k++) {
        const rk = rj[k];
        for (let s = 0; s < b.S; s++) o.set(rk[s] as ArrayLike<number>, (k * b.S + s) * FLUX_OUT);
      }
      out.push(o);
    }
    const t3 = now();
    this.time.kernel_s += (t2 - t1) / 1000;
    this.time.pack_s += (t1 - t0 + (t3 - t2)) / 1000;
    this.time.calls++;
    this.time.elements += M * b.F * b.S;
    this.time.largestBatch = Math.max(this.time.largestBatch, M);
    return out;
  }

  destroy(): void {
    for (const k of this.kernels.values()) k.destroy?.();
    this.kernels.clear();
  }
}

/** gpu.js names every GL backend 'gpu' (Kernel.mode): tell them apart by class, most derived first. */
export function backendOf(kernel: unknown, Kernel?: unknown): string | undefined {
  const classes: [string, unknown][] = [
    ['headlessgl', HeadlessGLKernel],
    ['webgl2', WebGL2Kernel],
    ['webgl', WebGLKernel],
    ['webasm', WebAssemblyKernel],
    ['cpu', CPUKernel],
  ];
  for (const [name, C] of classes) {
    if (typeof C !== 'function') continue;
    if (kernel !== undefined && kernel instanceof (C as new () => unknown)) return name;
    if (Kernel !== undefined && (Kernel === C || (typeof Kernel === 'function' && (Kernel as { prototype: unknown }).prototype instanceof (C as new () => unknown)))) return name;
  }
  return undefined;
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());
