/**
 * What crosses to the GPU for the ensemble engine (shaders/npp_qn.wgsl,
 * summary.wgsl, residual.wgsl): the ONE place that defines the per-member
 * parameter block, status block, state and profile regions, the work-queue
 * words, the summary record and the residual rows, with their offsets. The
 * WGSL side gets the same numbers as `const` declarations generated here
 * (`wgslPrelude`) and prepended to each shader, so host and shader cannot
 * drift apart; so do the numerics constants the shader shares with the f64
 * twin (src/solver/simulate.ts). See docs/gpu.md for the design.
 *
 * One workgroup advances one lattice (member) at a time: its LANES
 * invocations own the P partitions of the cells (src/solver/blocktri.ts),
 * keep their cells' working vectors in private memory and meet in
 * workgroup memory only for the partition boundaries, the reduced system
 * and the reductions. Per member in global memory: the parameter block
 * (read-only), the status block, the state between dispatches (`ys`,
 * partition-interleaved so the lanes' loads coalesce) and the profiles
 * (`dens`: every protocol species and ψ, cell order; the end state of a
 * stage is the start of the next).
 *
 * Platform-neutral: no Node imports (the engine runs in browsers too).
 */
import { BLOCK_PIVOT_TOL, cellsPerPartition, partitionCount } from '../solver/blocktri.js';
import { F32_NUMERICS, GAMMA } from '../solver/simulate.js';
import { FLOAT32_MAX_SPECIES } from '../ensemble/float32.js';

/** Most active species per stage (the closing one included): the float32 engines' limit. */
export const S_MAX = FLOAT32_MAX_SPECIES;
/** Most species in a protocol (active or not in a stage). */
export const SP_MAX = 8;
/** Right-hand sides of every block solve: −residual, the border vector e, the error estimate. */
export const QC = 3;

/** Per-member parameter block of one stage (f32 each; integers are stored exactly as f32), at j·PF + field. */
export const PARAM_FIELDS = [
  /** ψ_lin(0-face) − ψ_U: −ψ_U·d_0/L (the linear profile's drop across the front half cell), kT/e */
  'frontLin',
  /** ψ_U / L (kT/e per nm): the interior face drop of the linear profile is −cpsi·d_k */
  'cpsi',
  /** ψ_lin(x_{N−1}) = ψ_U·d_N/L, kT/e */
  'backLin',
  /** ψ_U = eU/kT: the absolute ψ of the profile output is ψ' + (ψ_U + shift)·w_i */
  'psiU',
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
  // per active species s < S_MAX: offset into the table pool and its point count (1: constant D)
  ...Array.from({ length: S_MAX }, (_, s) => [`tabOff${s}`, `tabK${s}`]).flat(),
  // per protocol species: its initial density (n0), written into the profiles by the first stage
  ...Array.from({ length: SP_MAX }, (_, s) => `init${s}`),
] as const;
export type ParamField = (typeof PARAM_FIELDS)[number];
export const P: Record<ParamField, number> = Object.fromEntries(PARAM_FIELDS.map((f, i) => [f, i])) as Record<ParamField, number>;
export const PF = PARAM_FIELDS.length;

/** Per-member status block (f32 each), at j·SF + field; read back once per stage. */
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
  /** back current Σ z J_back at the last accepted state (n0·nm/s) */
  'jBack',
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
  /** smallest scaled block pivot of the stage's Newton systems */
  'minPivot',
  /** 1 once the member's lattice has been set up for the stage (initial potential solved) */
  'started',
  /** rejected step attempts: by a failed Newton solve (and the last one's NEWTON_FAIL code), by the error estimate or a negative density */
  'rejNewton',
  'lastNewtonFail',
  'rejError',
  ...Array.from({ length: S_MAX }, (_, s) => [`crossF${s}`, `crossB${s}`]).flat(),
] as const;
export type StateField = (typeof STATE_FIELDS)[number];
export const ST: Record<StateField, number> = Object.fromEntries(STATE_FIELDS.map((f, i) => [f, i])) as Record<StateField, number>;
export const SF = STATE_FIELDS.length;

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
  /** the smallest scaled pivot of a block inverse was below PIVOT_TOL */
  tinyPivot: 5,
  bdf2: 16,
} as const;

/** The work-queue words (atomic u32): the next member to take, the members finished, then one slot per workgroup. */
export const CTL = { next: 0, finished: 1, attempts: 2, slot0: 4 } as const;
/** A slot without a member. */
export const NO_MEMBER = 0xffffffff;

/**
 * Numerics of the scheme: the float32 engines' step numerics (src/solver/simulate.ts F32_NUMERICS: the f64
 * twin's, except where f32 forces a floor), the TR-BDF2 γ, the block pivot tolerance and the ψ re-basing. Every constant the shader shares with the twin is generated
 * into the WGSL prelude from here (wgslPrelude), so the step control cannot drift apart.
 */
export const NUMERICS = {
  ...F32_NUMERICS,
  GAMMA,
  /** the smallest scaled block pivot a Newton system may have (as the twin) */
  PIVOT_TOL: BLOCK_PIVOT_TOL,
  /** ψ' at the bulk cell above which `rebase` re-chooses the reference, kT/e */
  REBASE_AT: 1e-3,
} as const;

/**
 * The grid buffer (shared by all members): h_i (N), d_k (N + 1), w_i = 1 − x_i/L (N), 1/L (1), x_i (N);
 * offsets in the shader are N-relative (`geo[N + k]` is d_k, `geo[2N + 1 + i]` is w_i, `geo[3N + 1]` is
 * 1/L, `geo[3N + 2 + i]` is x_i).
 */
export function geometryArray(h: ArrayLike<number>, d: ArrayLike<number>, x: ArrayLike<number>, L_nm: number): Float32Array {
  const N = h.length;
  const g = new Float32Array(4 * N + 2);
  for (let i = 0; i < N; i++) {
    g[i] = h[i];
    g[2 * N + 1 + i] = i === N - 1 ? d[N] / L_nm : 1 - x[i] / L_nm;
    g[3 * N + 2 + i] = x[i];
  }
  for (let k = 0; k <= N; k++) g[N + k] = d[k];
  g[3 * N + 1] = 1 / L_nm;
  return g;
}

/**
 * Per-member summary record (shaders/summary.wgsl), at j·sumStride: per protocol species sp the fields
 * below at sp·SUM_FIELDS.length, then the end of the mean-composition window (nm). Fronts, maxima and
 * means follow src/ensemble/summary.ts; where it has null the record holds SUM_NONE (≤ −1e38); `inventory` is ∫ n dx (n0·nm)
 * and `peak` the largest cell value (n0).
 */
export const SUM_FIELDS = ['front', 'maxValue', 'maxDepth', 'mean', 'inventory', 'peak'] as const;
export const SUM: Record<(typeof SUM_FIELDS)[number], number> = Object.fromEntries(SUM_FIELDS.map((f, i) => [f, i])) as Record<
  (typeof SUM_FIELDS)[number],
  number
>;
export function sumStride(SP: number): number {
  return SP * SUM_FIELDS.length + 1;
}

/** Everything fixed for one stage of one batch: sizes, species roles, partitions, per-member strides. */
export interface StageLayout {
  /** cells */
  N: number;
  /** species of the protocol */
  SP: number;
  /** active species (the closing one included) */
  S: number;
  /** unknown densities per cell (S − 1) */
  U: number;
  /** unknowns per cell (U + 1: ψ last) */
  m: number;
  /** protocol index of each active species */
  active: number[];
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
  /** 0-based stage index (stage 0 writes the initial densities) */
  stage: number;
  /** invocations per lattice (workgroup size) */
  lanes: number;
  /** partitions of the cells (≤ lanes, ≥ 2 cells each) and the largest one */
  P: number;
  cpt: number;
  /** floats per member: state between dispatches (partition-interleaved unknowns), profiles (SP species + ψ, cell order) */
  ysStride: number;
  densStride: number;
}

export function stageLayout(opts: {
  N: number;
  SP: number;
  active: number[];
  z: number[];
  beam: number;
  closing: number;
  ib?: number;
  stage: number;
  lanes: number;
}): StageLayout {
  const { N, SP, active, z, beam, closing, stage, lanes } = opts;
  const S = z.length;
  if (S < 2 || S > S_MAX) throw new RangeError(`the webgpu engine handles 2..${S_MAX} active species per stage, not ${S}`);
  if (SP > SP_MAX) throw new RangeError(`the webgpu engine handles at most ${SP_MAX} species per protocol, not ${SP}`);
  if (closing === beam || closing < 0 || closing >= S) throw new RangeError(`closing species ${closing} must differ from the beam ${beam}`);
  const unknown = z.map((_, s) => s).filter((s) => s !== closing);
  const U = unknown.length;
  const m = U + 1;
  const uOf = z.map(() => -1);
  unknown.forEach((s, u) => (uOf[s] = u));
  const P = partitionCount(N, lanes);
  const cpt = cellsPerPartition(N, P);
  return {
    N,
    SP,
    S,
    U,
    m,
    active,
    beam,
    closing,
    z,
    unknown,
    uOf,
    ib: opts.ib ?? Math.floor(N / 2),
    stage,
    lanes,
    P,
    cpt,
    ysStride: cpt * m * lanes,
    densStride: (SP + 1) * N,
  };
}

/** Bytes per member in each per-member buffer of a stage (for batch sizing against the device limits). */
export function bytesPerMember(L: Pick<StageLayout, 'ysStride' | 'densStride' | 'SP'>): { prm: number; st: number; ys: number; dens: number; sum: number } {
  return { prm: 4 * PF, st: 4 * SF, ys: 4 * L.ysStride, dens: 4 * L.densStride, sum: 4 * sumStride(L.SP) };
}

/** Floats of workgroup memory the step shader declares (see the `var<workgroup>` block of npp_qn.wgsl). */
export function workgroupFloats(L: Pick<StageLayout, 'm' | 'P' | 'lanes'>): number {
  const mm = L.m * L.m;
  const mq = L.m * QC;
  const pub = L.P * Math.max(3 * mm + mq, 2 * mm + mq);
  return 2 * L.P * L.m + pub + L.P * mq + 4 * L.lanes + 4 * S_MAX + 8;
}

/**
 * What one step attempt costs, counted from the shader's loops (docs/gpu.md §5): floating-point operations
 * per lattice, global-memory bytes, workgroup barriers per Newton iteration and the length of one lane's
 * critical path (floating-point operations in sequence). `newton` per Newton iteration, `rates` per
 * evaluation of the rates, `attempt` for a step attempt of `newtonPerAttempt` iterations.
 */
export interface CostModel {
  flopsPerNewton: number;
  flopsPerRates: number;
  criticalFlopsPerNewton: number;
  barriersPerNewton: number;
  globalBytesPerDispatch: number;
}

export function costModel(L: StageLayout): CostModel {
  const { N, S, m, P, cpt } = L;
  const mm = m * m;
  const inv = 2 * m * m * m + 4 * m * m; // Gauss–Jordan on [M | I]
  const mmul = 2 * m * m * m;
  const mrhs = 2 * m * m * QC;
  // per face: D(n) (an exp and a lerp) per cell side, Bernoulli (an exp), SG flux and 4 derivatives: ~40 flops per species
  const face = S * 40;
  const assemble = N * (face + 2 * S * 10 + mm * 6);
  const forward = N * (inv + 3 * mmul + 2 * mrhs);
  const backward = N * (2 * mmul + mrhs);
  const reduced = P * (2 * inv + 8 * mmul + 4 * mrhs);
  const levels = Math.ceil(Math.log2(Math.max(P, 2)));
  const pcr = levels * P * (inv + 6 * mmul + 2 * mrhs);
  const back = N * (2 * mrhs) + P * mrhs;
  const update = N * m * 6;
  const flopsPerNewton = assemble + forward + backward + reduced + pcr + back + update;
  const criticalFlopsPerNewton =
    cpt * (face + 2 * S * 10 + mm * 6 + inv + 5 * mmul + 3 * mrhs + 2 * mrhs) + 2 * inv + 8 * mmul + levels * (inv + 6 * mmul + 2 * mrhs) + 4 * L.lanes;
  // barriers: boundary exchange, publish F rows, reduced rows, 2 per PCR level, x_t, border, reduction (2)
  const barriersPerNewton = 1 + 1 + 1 + 2 * levels + 1 + 1 + 2;
  const flopsPerRates = N * (face / 2 + 4 * S);
  // per dispatch and lattice: the state in and out, the status block, the parameters; profiles once per stage
  const globalBytesPerDispatch = 2 * 4 * (L.ysStride + SF) + 4 * PF;
  return { flopsPerNewton, flopsPerRates, criticalFlopsPerNewton, barriersPerNewton, globalBytesPerDispatch };
}

const f = (x: number): string => {
  if (!Number.isFinite(x)) throw new RangeError(`non-finite WGSL constant ${x}`);
  const s = x.toPrecision(9);
  return /[.e]/.test(s) ? s : `${s}.0`;
};
const u = (x: number): string => `${x}u`;

/**
 * The WGSL `const` block of a stage layout; prepend it to the shaders. The member count is not in it (the
 * shaders read it from their uniform `cfg`), so one pipeline serves every batch size.
 */
export function wgslPrelude(L: StageLayout): string {
  const pad = <T>(a: T[], v: T, n = S_MAX): T[] => [...a, ...Array<T>(n - a.length).fill(v)];
  const G = NUMERICS.GAMMA;
  const N_ = NUMERICS;
  const lines = [
    '// ---- generated by src/gpu/layout.ts (wgslPrelude): do not edit ----',
    `const N: u32 = ${u(L.N)};`,
    `const SP: u32 = ${u(L.SP)};`,
    `const S: u32 = ${u(L.S)};`,
    `const UU: u32 = ${u(L.U)};`,
    `const MM: u32 = ${u(L.m)};`,
    `const MM2: u32 = ${u(L.m * L.m)};`,
    `const QC: u32 = ${u(QC)};`,
    `const MQ: u32 = ${u(L.m * QC)};`,
    `const BEAM: u32 = ${u(L.beam)};`,
    `const IB: u32 = ${u(L.ib)};`,
    `const CLOSING: u32 = ${u(L.closing)};`,
    `const ZC: f32 = ${f(L.z[L.closing])};`,
    `const STAGE: u32 = ${u(L.stage)};`,
    `const LANES: u32 = ${u(L.lanes)};`,
    `const NP: u32 = ${u(L.P)};`,
    `const CPT: u32 = ${u(L.cpt)};`,
    `const YS_STRIDE: u32 = ${u(L.ysStride)};`,
    `const DENS_STRIDE: u32 = ${u(L.densStride)};`,
    `const PF: u32 = ${u(PF)};`,
    `const SF: u32 = ${u(SF)};`,
    `const SUM_STRIDE: u32 = ${u(sumStride(L.SP))};`,
    `const SUM_FIELDS: u32 = ${u(SUM_FIELDS.length)};`,
    `const Z_INIT = array<f32, ${S_MAX}>(${pad(L.z, 0).map(f).join(', ')});`,
    `const UNKNOWN_INIT = array<u32, ${S_MAX}>(${pad(L.unknown, 0).map(u).join(', ')});`,
    `const UOF_INIT = array<i32, ${S_MAX}>(${pad(L.uOf, -1).join(', ')});`,
    `const ACTIVE_INIT = array<u32, ${S_MAX}>(${pad(L.active, 0).map(u).join(', ')});`,
    ...PARAM_FIELDS.map((p, i) => `const P_${p.toUpperCase()}: u32 = ${u(i)};`),
    ...STATE_FIELDS.map((p, i) => `const ST_${p.toUpperCase()}: u32 = ${u(i)};`),
    ...SUM_FIELDS.map((p, i) => `const SUM_${p.toUpperCase()}: u32 = ${u(i)};`),
    ...Object.entries(STATUS).map(([k, v]) => `const STATUS_${k.toUpperCase()}: f32 = ${f(v)};`),
    ...Object.entries(NEWTON_FAIL).map(([k, v]) => `const NF_${k.toUpperCase()}: u32 = ${u(v)};`),
    ...Object.entries(CTL).map(([k, v]) => `const CTL_${k.toUpperCase()}: u32 = ${u(v)};`),
    `const NO_MEMBER: u32 = ${u(NO_MEMBER)};`,
    `const MAX_NEWTON: u32 = ${u(N_.MAX_NEWTON)};`,
    `const STAGNATION: f32 = ${f(N_.STAGNATION)};`,
    `const MAX_SECANT: f32 = ${f(N_.MAX_SECANT)};`,
    ...(
      [
        'NEWTON_TOL',
        'NOISE_FLOOR',
        'DIVERGED',
        'PSI_TOL',
        'FIELD_TOL',
        'NEG_TOL',
        'TARGET_RTOL',
        'SAFETY',
        'MAX_GROWTH',
        'MIN_GROWTH',
        'MIN_CUT',
        'REJECT_SAFETY',
        'NEWTON_CUT',
        'NEGATIVE_CUT',
        'DT_FLOOR',
        'PIVOT_TOL',
        'REBASE_AT',
      ] as const
    ).map((k) => `const ${k}: f32 = ${f(N_[k])};`),
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
export const RD_FIELDS = ['pointBase', 'points', 'species', 'targetOffset', 'modelOffset'] as const;
export const RD_STRIDE = RD_FIELDS.length;

/** Sparse weights of a linear operator on a profile: point p sees cells first[p] … first[p] + count[p] − 1 with weights w[offset[p] + k]. */
export interface SparseOperator {
  points: number;
  first: Int32Array;
  count: Int32Array;
  offset: Int32Array;
  w: Float64Array;
}

export interface ResidualRowSpec {
  /** the operator of the row's observation (src/observe/observe.ts) */
  op: SparseOperator;
  /** protocol index of the species whose density is compared */
  species: number;
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

/** (first, count, weight offset) triplets of an operator's points into `desc`, its weights into `dat`; returns where the triplets start. */
export function packOperator(op: SparseOperator, desc: number[], dat: number[]): number {
  const wOff = dat.length;
  for (const w of op.w) dat.push(w);
  const pBase = desc.length;
  for (let p = 0; p < op.points; p++) desc.push(op.first[p], op.count[p], wOff + op.offset[p]);
  return pBase;
}

/** Pack residual rows (operators shared by rows of the same observation are packed once). */
export function residualLayout(rows: ResidualRowSpec[]): ResidualLayout {
  const desc: number[] = new Array(rows.length * RD_STRIDE).fill(0);
  const dat: number[] = [];
  const opPoints = new Map<SparseOperator, number>();
  const modelOffset: number[] = [];
  let model = 0;
  rows.forEach((r, k) => {
    let pBase = opPoints.get(r.op);
    if (pBase === undefined) {
      pBase = packOperator(r.op, desc, dat);
      opPoints.set(r.op, pBase);
    }
    const tOff = dat.length;
    for (let p = 0; p < r.op.points; p++) dat.push(r.target[p]);
    modelOffset.push(model);
    const d = [pBase, r.op.points, r.species, tOff, model];
    for (let fl = 0; fl < RD_STRIDE; fl++) desc[k * RD_STRIDE + fl] = d[fl];
    model += r.op.points;
  });
  return { rows: rows.length, rdesc: Uint32Array.from(desc), rdat: Float32Array.from(dat), outPerMember: rows.length + model, modelOffset };
}

/** The WGSL constants of the residual rows' descriptor layout (appended to wgslPrelude for residual.wgsl). */
export function residualPrelude(): string {
  return [`const RD_STRIDE: u32 = ${u(RD_STRIDE)};`, ...RD_FIELDS.map((fl, i) => `const RD_${fl.toUpperCase()}: u32 = ${u(i)};`), ''].join('\n');
}

// ---- per-member summaries (shaders/summary.wgsl) ----

/** Roles of the protocol species in a stage's summary (src/ensemble/summary.ts). */
export interface SummaryRoles {
  /** per protocol species: 1 native (rising front), 2 foreign and entered (falling front), 0 neither (no front, no maximum) */
  role: number[];
  /** protocol index of the species whose front bounds the mean composition (−1: none) */
  frontSpecies: number;
}

/** "none" in a summary record (summary.wgsl SUM_NONE): a value at or below it is null. */
export const SUM_NONE = -1e38;

/** Most blurred samples a summary takes (the default 2–150 nm at 0.25 nm: 593). */
export const SUM_MAX_SAMPLES = 2048;

/** The WGSL constants of the summary (appended to wgslPrelude for summary.wgsl). */
export function summaryPrelude(r: SummaryRoles, o: { from_nm: number; margin_nm: number; level: number; step_nm: number }): string {
  const pad = [...r.role, ...Array<number>(SP_MAX - r.role.length).fill(0)];
  return [
    `const ROLE_INIT = array<u32, ${SP_MAX}>(${pad.map(u).join(', ')});`,
    `const FRONT_SPECIES: i32 = ${r.frontSpecies};`,
    `const SUM_FROM: f32 = ${f(o.from_nm)};`,
    `const SUM_MARGIN: f32 = ${f(o.margin_nm)};`,
    `const SUM_LEVEL: f32 = ${f(o.level)};`,
    `const SUM_STEP: f32 = ${f(o.step_nm)};`,
    `const SUM_MAX_SAMPLES: u32 = ${u(SUM_MAX_SAMPLES)};`,
    '',
  ].join('\n');
}
