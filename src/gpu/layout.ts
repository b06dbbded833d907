/**
 * What crosses to the GPU for the quasi-neutral ensemble engine
 * (shaders/npp_qn.wgsl): the ONE place that defines the per-member
 * parameter block, the per-member status block and the per-member work
 * arrays (state, stage values, band matrix, pivots), with their offsets.
 * The WGSL side gets the same numbers as `const` declarations generated
 * here (`wgslPrelude`) and prepended to the shader source, so host and
 * shader cannot drift apart.
 *
 * Every per-member array is member-fastest (interleaved): element k of
 * member j lives at k·M + j, so neighbouring invocations touch
 * neighbouring words.
 *
 * Platform-neutral: no Node imports (the engine runs in browsers too).
 */

/** Most active species per stage (the closing one included). */
export const S_MAX = 4;

/** Per-member parameter block of one stage (f32 each; integers are stored exactly as f32). */
export const PARAM_FIELDS = [
  /** ψ_lin(0-face) − ψ_U: −ψ_U·d_0/L (the linear profile's drop across the front half cell), kT/e */
  'frontLin',
  /** ψ_U / L (kT/e per nm): the interior face drop of the linear profile is −cpsi·d_k */
  'cpsi',
  /** ψ_lin(x_{N−1}) = ψ_U·d_N/L, kT/e */
  'backLin',
  /** reservoir density c_res (n0) */
  'cRes',
  /** reservoir D = D(c_res/nref), nm²/s */
  'Dres',
  /** stop charge in flux units (z_beam·∫J dt, n0·nm); −1 for a duration stop */
  'qTarget',
  /** stop duration, s; −1 for a charge stop */
  'stopT',
  /** time limit (stop duration or max_duration_s), s */
  'maxT',
  'dt0',
  'dtMax',
  'rtol',
  'atol',
  'maxSteps',
  // per species s < S_MAX: offset into the table pool and its point count (1: constant D)
  ...Array.from({ length: S_MAX }, (_, s) => [`tabOff${s}`, `tabK${s}`]).flat(),
] as const;
export type ParamField = (typeof PARAM_FIELDS)[number];
export const P: Record<ParamField, number> = Object.fromEntries(PARAM_FIELDS.map((f, i) => [f, i])) as Record<ParamField, number>;

/** Per-member status block (f32 each), read back after every batch of steps. */
export const STATE_FIELDS = [
  /** 0 running, 1 done, ≥ 2 failed (STATUS) */
  'status',
  /** sub-code of a failure (the Newton failure, NEWTON_FAIL) */
  'code',
  /** elapsed time, compensated sum hi + lo, s */
  'tHi',
  'tLo',
  /** delivered charge in flux units (z_beam·∫J_front dt), compensated sum hi + lo */
  'qHi',
  'qLo',
  /** next step to try, s */
  'dt',
  /** the last step not cut by a time limit (−1: none) */
  'lastFreeDt',
  'steps',
  'rejected',
  'newtonIts',
  'facts',
  'secant',
  /** front flux of the beam at the last accepted state (n0·nm/s) */
  'jFront',
  /** last error estimate */
  'err',
  /** t at a failure */
  'tFail',
  /**
   * ψ reference shift σ: ψ = ψ' + (ψ_U + σ)(1 − x/L). Re-chosen (`rebase`) so that ψ' vanishes at the
   * bulk cell IB: the bulk then holds ψ' ≈ 0, where f32 resolves the tiny per-face drops (6e-5 kT/e in
   * 0.25 nm cells), while the exchanged zone, where the drops are large, carries the deviation.
   */
  'shift',
  /** last Newton iteration: largest density update (tolerance units), largest ψ update (ψ tolerance units), and the unknown index of the worst density update */
  'nDmax',
  'nDpsi',
  'nWorst',
  ...Array.from({ length: S_MAX }, (_, s) => [`crossF${s}`, `crossB${s}`]).flat(),
] as const;
export type StateField = (typeof STATE_FIELDS)[number];
export const ST: Record<StateField, number> = Object.fromEntries(STATE_FIELDS.map((f, i) => [f, i])) as Record<StateField, number>;

export const STATUS = {
  running: 0,
  done: 1,
  stepLimit: 2,
  dtUnderflow: 3,
  stepFailed: 4,
  errUnderflow: 5,
  cannotDeliver: 6,
  initFailed: 7,
  /** failed in an earlier stage or on the host: the shader skips it */
  skip: 8,
} as const;

/** Newton failure codes (+16: in the BDF2 stage rather than the TR stage). */
export const NEWTON_FAIL = {
  singular: 1,
  nonFinite: 2,
  diverged: 3,
  maxIterations: 4,
  bdf2: 16,
} as const;

/**
 * Numerics of the scheme: those of the f64 twin (src/solver/simulate.ts)
 * except where f32 forces a floor (see the comments).
 */
export const NUMERICS = {
  GAMMA: 2 - Math.SQRT2,
  MAX_NEWTON: 12,
  SAFETY: 0.7,
  MAX_GROWTH: 3,
  /** Newton converged when the density update is below this fraction of (atol + rtol|n|) — as f64 */
  NEWTON_TOL: 1e-3,
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
  /** f64: 1e-7 kT/e per nm (field part of the ψ test); kept */
  FIELD_TOL: 1e-7,
  /** f64: 1e-7. The closing species 1 − Σ z n carries ~1e-7 absolute f32 roundoff: 1e-6 */
  NEG_TOL: 1e-6,
  /** f64: 1e-7. Charge and time targets count as reached within 2e-6 (f32 cannot do 1e-7) */
  TARGET_RTOL: 2e-6,
} as const;

/**
 * The grid buffer (shared by all members): h_i (N), d_k (N + 1), w_i = 1 − x_i/L (N), 1/L (1); offsets
 * in the shader are N-relative (`geo[N + k]` is d_k, `geo[2N + 1 + i]` is w_i, `geo[3N + 1]` is 1/L).
 */
export function geometryArray(h: ArrayLike<number>, d: ArrayLike<number>, x: ArrayLike<number>, L_nm: number): Float32Array {
  const N = h.length;
  const g = new Float32Array(3 * N + 2);
  for (let i = 0; i < N; i++) {
    g[i] = h[i];
    g[2 * N + 1 + i] = i === N - 1 ? d[N] / L_nm : 1 - x[i] / L_nm;
  }
  for (let k = 0; k <= N; k++) g[N + k] = d[k];
  g[3 * N + 1] = 1 / L_nm;
  return g;
}

/** Work regions per member, in units of n = N·m (the band matrix: ldab·n). */
export const WORK_REGIONS = ['Y0', 'YG', 'Y1', 'RHS', 'F0', 'FG', 'RES', 'EST', 'BRD', 'IPIV', 'AB'] as const;
export type WorkRegion = (typeof WORK_REGIONS)[number];

/** Everything fixed for one stage of one batch: sizes, species roles, offsets. */
export interface StageLayout {
  /** members in the batch */
  M: number;
  /** cells */
  N: number;
  /** active species (the closing one included) */
  S: number;
  /** unknown densities per cell (S − 1) */
  U: number;
  /** unknowns per cell (U + 1: ψ last) */
  m: number;
  /** unknowns per member (N·m) */
  n: number;
  kl: number;
  ku: number;
  ldab: number;
  kv: number;
  /** active index of the beam and of the closing species */
  beam: number;
  closing: number;
  /** charge numbers of the active species */
  z: number[];
  /** active index of each unknown */
  unknown: number[];
  /** unknown index of each active species (−1: closing) */
  uOf: number[];
  /** the bulk cell whose ψ' the reference shift zeroes (nearest L/2) */
  ib: number;
  /** work region offsets (per member, in elements) */
  region: Record<WorkRegion, number>;
  /** elements per member in the work buffer */
  workPerMember: number;
}

export function stageLayout(M: number, N: number, z: number[], beam: number, closing: number, ib = Math.floor(N / 2)): StageLayout {
  const S = z.length;
  if (S < 2 || S > S_MAX) throw new RangeError(`the webgpu engine handles 2..${S_MAX} active species per stage, not ${S}`);
  if (closing === beam || closing < 0 || closing >= S) throw new RangeError(`closing species ${closing} must differ from the beam ${beam}`);
  const unknown = z.map((_, s) => s).filter((s) => s !== closing);
  const U = unknown.length;
  const m = U + 1;
  const n = N * m;
  const kl = 2 * m - 1;
  const ku = 2 * m - 1;
  const ldab = 2 * kl + ku + 1;
  const kv = kl + ku;
  const uOf = z.map(() => -1);
  unknown.forEach((s, u) => (uOf[s] = u));
  const region = {} as Record<WorkRegion, number>;
  let off = 0;
  for (const r of WORK_REGIONS) {
    region[r] = off;
    off += r === 'AB' ? ldab * n : n;
  }
  return { M, N, S, U, m, n, kl, ku, ldab, kv, beam, closing, z, unknown, uOf, ib, region, workPerMember: off };
}

/** Bytes one member needs in the largest binding (the work buffer). */
export function workBytesPerMember(N: number, S: number): number {
  const m = S; // U + 1 with U = S − 1
  const n = N * m;
  const ldab = 3 * (2 * m - 1) + 1;
  return 4 * (n * (WORK_REGIONS.length - 1) + ldab * n);
}

const f = (x: number): string => {
  if (!Number.isFinite(x)) throw new RangeError(`non-finite WGSL constant ${x}`);
  const s = x.toPrecision(9);
  return /[.e]/.test(s) ? s : `${s}.0`;
};
const u = (x: number): string => `${x}u`;

/**
 * The WGSL `const` block of a stage layout; prepend it to shaders/npp_qn.wgsl.
 * The member count M is not in it (the shader reads it from its uniform `cfg`),
 * so one pipeline serves every batch size.
 */
export function wgslPrelude(L: StageLayout): string {
  const pad = <T>(a: T[], v: T): T[] => [...a, ...Array<T>(S_MAX - a.length).fill(v)];
  const G = NUMERICS.GAMMA;
  const lines = [
    '// ---- generated by src/gpu/layout.ts (wgslPrelude): do not edit ----',
    `const N: u32 = ${u(L.N)};`,
    `const S: u32 = ${u(L.S)};`,
    `const UU: u32 = ${u(L.U)};`,
    `const MM: u32 = ${u(L.m)};`,
    `const NN: u32 = ${u(L.n)};`,
    `const KL: u32 = ${u(L.kl)};`,
    `const KU: u32 = ${u(L.ku)};`,
    `const LDAB: u32 = ${u(L.ldab)};`,
    `const KV: u32 = ${u(L.kv)};`,
    `const BEAM: u32 = ${u(L.beam)};`,
    `const IB: u32 = ${u(L.ib)};`,
    `const CLOSING: u32 = ${u(L.closing)};`,
    `const ZC: f32 = ${f(L.z[L.closing])};`,
    `const Z_INIT = array<f32, ${S_MAX}>(${pad(L.z, 0).map(f).join(', ')});`,
    `const UNKNOWN_INIT = array<u32, ${S_MAX}>(${pad(L.unknown, 0).map(u).join(', ')});`,
    `const UOF_INIT = array<i32, ${S_MAX}>(${pad(L.uOf, -1).join(', ')});`,
    ...WORK_REGIONS.map((r) => `const R_${r}: u32 = ${u(L.region[r])};`),
    ...PARAM_FIELDS.map((p, i) => `const P_${p.toUpperCase()}: u32 = ${u(i)};`),
    ...STATE_FIELDS.map((p, i) => `const ST_${p.toUpperCase()}: u32 = ${u(i)};`),
    ...Object.entries(STATUS).map(([k, v]) => `const STATUS_${k.toUpperCase()}: f32 = ${f(v)};`),
    ...Object.entries(NEWTON_FAIL).map(([k, v]) => `const NF_${k.toUpperCase()}: u32 = ${u(v)};`),
    `const MAX_NEWTON: u32 = ${u(NUMERICS.MAX_NEWTON)};`,
    `const NEWTON_TOL: f32 = ${f(NUMERICS.NEWTON_TOL)};`,
    `const NOISE_FLOOR: f32 = ${f(NUMERICS.NOISE_FLOOR)};`,
    `const PSI_TOL: f32 = ${f(NUMERICS.PSI_TOL)};`,
    `const FIELD_TOL: f32 = ${f(NUMERICS.FIELD_TOL)};`,
    `const NEG_TOL: f32 = ${f(NUMERICS.NEG_TOL)};`,
    `const TARGET_RTOL: f32 = ${f(NUMERICS.TARGET_RTOL)};`,
    `const SAFETY: f32 = ${f(NUMERICS.SAFETY)};`,
    `const MAX_GROWTH: f32 = ${f(NUMERICS.MAX_GROWTH)};`,
    `const GAMMA: f32 = ${f(G)};`,
    `const CD: f32 = ${f(G / 2)};`,
    `const A_BDF: f32 = ${f(1 / (G * (2 - G)))};`,
    `const B_BDF: f32 = ${f(((1 - G) * (1 - G)) / (G * (2 - G)))};`,
    `const C_ERR: f32 = ${f((-3 * G * G + 4 * G - 2) / (12 * (2 - G)))};`,
    '// ---- end of the generated block ----',
    '',
  ];
  return lines.join('\n');
}

// ---- residuals against measured profiles (shaders/residual.wgsl) ----

/**
 * One residual row: an observation's species on the GPU. Row descriptors
 * (u32 × RD_STRIDE) open the `rdesc` buffer; each row's points follow as
 * (first cell, cell count, weight offset into `rdat`) triplets; `rdat` holds
 * the operator weights and the targets. Output `out`, member-fastest: the
 * row's sum of squares at out[row·M + j], and with keepModel the model at
 * point p of the row at out[(R + modelOffset + p)·M + j].
 */
export const RD_FIELDS = ['pointBase', 'points', 'active', 'targetOffset', 'modelOffset'] as const;
export const RD_STRIDE = RD_FIELDS.length;

export interface ResidualRowSpec {
  /** the operator of the row's observation (src/fit/observe.ts) */
  op: { points: number; first: Int32Array; count: Int32Array; offset: Int32Array; w: Float64Array };
  /** active species index (of the stage layout) whose density is compared */
  active: number;
  /** target at each point */
  target: ArrayLike<number>;
}

export interface ResidualLayout {
  rows: number;
  rdesc: Uint32Array;
  rdat: Float32Array;
  /** values per member in `out` (rows + model values) */
  outPerMember: number;
  /** start of each row's model values within the model part of `out` */
  modelOffset: number[];
}

/** Pack residual rows (operators shared by rows of the same observation are packed once). */
export function residualLayout(rows: ResidualRowSpec[]): ResidualLayout {
  const desc: number[] = new Array(rows.length * RD_STRIDE).fill(0);
  const dat: number[] = [];
  const opWeights = new Map<ResidualRowSpec['op'], number>();
  const opPoints = new Map<ResidualRowSpec['op'], number>();
  const modelOffset: number[] = [];
  let model = 0;
  rows.forEach((r, k) => {
    let wOff = opWeights.get(r.op);
    if (wOff === undefined) {
      wOff = dat.length;
      for (const w of r.op.w) dat.push(w);
      opWeights.set(r.op, wOff);
    }
    let pBase = opPoints.get(r.op);
    if (pBase === undefined) {
      pBase = desc.length;
      for (let p = 0; p < r.op.points; p++) desc.push(r.op.first[p], r.op.count[p], wOff + r.op.offset[p]);
      opPoints.set(r.op, pBase);
    }
    const tOff = dat.length;
    for (let p = 0; p < r.op.points; p++) dat.push(r.target[p]);
    modelOffset.push(model);
    const d = [pBase, r.op.points, r.active, tOff, model];
    for (let f = 0; f < RD_STRIDE; f++) desc[k * RD_STRIDE + f] = d[f];
    model += r.op.points;
  });
  return { rows: rows.length, rdesc: Uint32Array.from(desc), rdat: Float32Array.from(dat), outPerMember: rows.length + model, modelOffset };
}

/** The WGSL constants of the residual rows' descriptor layout (appended to wgslPrelude for residual.wgsl). */
export function residualPrelude(): string {
  return [`const RD_STRIDE: u32 = ${u(RD_STRIDE)};`, ...RD_FIELDS.map((f, i) => `const RD_${f.toUpperCase()}: u32 = ${u(i)};`), ''].join('\n');
}
