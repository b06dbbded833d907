/// <reference types="@webgpu/types" />
/**
 * The WebGPU ensemble engine: many independent NPP lattices advanced in
 * parallel by float32 compute shaders, one workgroup per lattice
 * (shaders/npp_qn.wgsl; the design and its cost model: docs/gpu.md). The
 * scheme is the f64 twin's,
 * `simulate(tabulateProtocol(P quasi-neutral, K), { numerics: TWIN_NUMERICS })`:
 * same grid, unknowns, SG fluxes, boundary faces, TR-BDF2 with the same
 * Newton and step control, the same partitioned block-tridiagonal solve and
 * the same D tables (src/gpu/layout.ts says what f32 forces).
 *
 * The host packs each member's parameters, starts dispatches and reads a
 * 16-byte progress word per submit; everything that grows with the grid —
 * the time loop, the summaries (fronts, blurred maxima, mean composition,
 * inventories: shaders/summary.wgsl), the back current, the residuals against
 * measured profiles (shaders/residual.wgsl) — runs on the GPU. Profiles are
 * read back only when the request keeps them.
 *
 * All members of a request must share species, stages (beams, species per
 * stage, D model kinds) and grid: only numeric parameters vary. Members run
 * stage by stage, each from its own end state of the previous stage; a
 * member that fails is flagged with a reason, the others complete.
 *
 * Platform-neutral (no Node imports): the shader sources are passed in
 * (src/gpu/node-shaders.ts reads them from disk in Node; the page imports
 * them as strings).
 *
 * @example
 * const gpu = await openNodeDevice('swiftshader');
 * const engine = new WebGpuEngine(gpu, webGpuEngineShaders()); // the three shaders, read by src/gpu/node-shaders.ts
 * const res = await engine.run(request);
 * engine.lastRun; // dispatches, readback bytes, host time per member, granted limits
 */
import type { DModel, Protocol, Stage } from '../config/schema.js';
import { InputError, RunAbortedError, throwIfAborted } from '../core/errors.js';
import { ELEMENTARY_CHARGE, M2_TO_NM2, kT_eV } from '../physics/constants.js';
import { makeDiffusivity } from '../physics/diffusion.js';
import { TABLE_POINTS, tabulateLnD } from '../physics/tabulate.js';
import { DEFAULT_LANES } from '../solver/blocktri.js';
import { unmodelledSpecies } from '../solver/simulate.js';
import type { Grid } from '../solver/grid.js';
import { SolverError, type StageResult } from '../solver/types.js';
import { failedMember, memberFailureReason, okMember } from '../ensemble/member.js';
import { ProgressTracker } from '../ensemble/progress.js';
import { enteredSpecies, frontSpecies, SUMMARY_DEFAULTS, type StageSummary } from '../ensemble/summary.js';
import { combineResidual, observationOperator, type ObservationOperator, type ObservationResidual } from '../observe/observe.js';
import { checkFloat32Request } from '../ensemble/float32.js';
import type { EnsembleEngine, EnsembleRequest, EnsembleResult, EnsembleRunOptions, MemberStage } from '../ensemble/types.js';
import { type AcquiredDevice, GpuError, describeAdapter, isSoftwareAdapter } from './device.js';
import { readBuffer, withErrorScope } from './readback.js';
import {
  CTL,
  NEWTON_FAIL,
  NO_MEMBER,
  P,
  PF,
  SF,
  SP_MAX,
  ST,
  STATUS,
  SUM,
  SUM_FIELDS,
  SUM_MAX_SAMPLES,
  SUM_NONE,
  type ResidualLayout,
  type ResidualRowSpec,
  type StageLayout,
  bytesPerMember,
  geometryArray,
  packOperator,
  residualLayout,
  residualPrelude,
  stageLayout,
  sumStride,
  summaryPrelude,
  wgslPrelude,
  workgroupFloats,
} from './layout.js';

/** Invocations per lattice on a software adapter (SwiftShader runs a workgroup as SIMD groups of 4). */
export const SOFTWARE_LANES = 4;

const LN_M2_TO_NM2 = Math.log(M2_TO_NM2);

// GPUBufferUsage / GPUShaderStage bits spelled out (the globals may be missing before the webgpu package loads)
const BU_STORAGE = 0x0080;
const BU_COPY_SRC = 0x0004;
const BU_COPY_DST = 0x0008;
const BU_UNIFORM = 0x0040;
const SS_COMPUTE = 0x4;

/** A shader module of `code`; a compilation error becomes a GpuError naming the file, line and source text. */
async function compileModule(device: GPUDevice, label: string, code: string): Promise<GPUShaderModule> {
  const module = device.createShaderModule({ label, code });
  const errors = (await module.getCompilationInfo()).messages.filter((m) => m.type === 'error');
  if (errors.length) {
    const e = errors[0];
    const src = code.split('\n')[e.lineNum - 1]?.trim() ?? '';
    throw new GpuError(`${label} (with its generated prelude) line ${e.lineNum}:${e.linePos}: ${e.message} [${src}]`);
  }
  return module;
}

/** The promise cached under key for this device, made (inside an error scope) on first use; a failure is not cached. */
function cachedPerDevice<T>(store: WeakMap<GPUDevice, Map<string, Promise<T>>>, device: GPUDevice, key: string, what: string, make: () => Promise<T>): Promise<T> {
  let cache = store.get(device);
  if (!cache) store.set(device, (cache = new Map()));
  let p = cache.get(key);
  if (!p) {
    p = withErrorScope(device, make, what);
    cache.set(key, p);
    const c = cache;
    p.catch(() => c.delete(key));
  }
  return p;
}

/** What an abort of this engine's run names. */
const ABORTED = 'the webgpu run';

/** `work`, or a rejection with the abort error (RunAbortedError) as soon as `signal` aborts (the work itself goes on). */
function abortable<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  const aborted = () => new RunAbortedError(ABORTED, signal.reason);
  if (signal.aborted) return Promise.reject(aborted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Pipelines per device and shader text: shared by every engine on that device. */
const pipelineCache = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>();

export interface WebGpuEngineOptions {
  /** the text of shaders/npp_qn.wgsl */
  shaderSource: string;
  /** the text of shaders/summary.wgsl */
  summaryShaderSource: string;
  /** the text of shaders/residual.wgsl: needed for requests with observations (residuals on the GPU) */
  residualShaderSource?: string;
  /** D table points over θ ∈ [0, 1] (default TABLE_POINTS); the f64 twin must use the same */
  tablePoints?: number;
  /**
   * invocations per lattice, the workgroup size (default: DEFAULT_LANES = 64 on a GPU; SOFTWARE_LANES = 4 on a
   * software adapter, where a workgroup runs as one 4-wide SIMD group and barriers are costly, docs/gpu.md §4).
   * The twin's LANES should match for roundoff-level comparisons.
   */
  lanes?: number;
  /** step attempts of a workgroup per dispatch (default 8; a bound on a dispatch's length, see docs/gpu.md §3) */
  attemptsPerDispatch?: number;
  /** dispatches per submit before the 16-byte progress readback (default 4) */
  dispatchesPerSubmit?: number;
  /** workgroups per dispatch, i.e. lattices in flight (default min(members, 2048)) */
  maxWorkgroups?: number;
  /** most members per batch (default: as many as the device's granted buffer limits allow) */
  maxMembersPerBatch?: number;
  /**
   * whether the engine owns `gpu` (default false): close() then destroys the
   * device and forgets its cached pipelines. An engine on a device it does
   * not own (the caller's, shared with other engines) leaves both to the
   * device's owner, who destroys it when done.
   */
  ownsDevice?: boolean;
}

/** What the last `run` did (bench/gpu.ts prints it; docs/gpu.md §5 defines the figures). */
export interface WebGpuRunStats {
  lanes: number;
  /** per stage: invocations per lattice (fewer than `lanes` where the workgroup memory would not fit), partitions, largest partition (cells per lane), workgroup memory in bytes, unknowns per cell, dispatches and bytes read back */
  stages: {
    lanes: number;
    partitions: number;
    cellsPerLane: number;
    workgroupBytes: number;
    unknownsPerCell: number;
    dispatches: number;
    readbackBytes: number;
    layout: StageLayout;
    /** over the stage's members: step attempts rejected after a failed Newton solve (by the last failure's NEWTON_FAIL code) and by the error or positivity control; the smallest scaled block pivot */
    rejectedNewton: number;
    newtonFailures: Record<string, number>;
    rejectedError: number;
    minPivot: number;
  }[];
  batches: number;
  membersPerBatch: number;
  workgroupsPerDispatch: number;
  attemptsPerDispatch: number;
  /** host work (packing, decoding) per member, ms */
  hostMsPerMember: number;
  /** the device's limits as granted */
  limits: Record<string, number>;
}

/** ln D (nm²/s) table of a model on the uniform θ grid of K points (table models: checked uniform by checkFloat32Request); 1 point for a constant D. */
function lnDTable(model: DModel, T_K: number, K: number): Float64Array {
  switch (model.model) {
    case 'constant':
      return Float64Array.of(Math.log(model.D_m2s) + LN_M2_TO_NM2);
    case 'arrhenius':
      return Float64Array.of(Math.log(makeDiffusivity(model, T_K).D1) + LN_M2_TO_NM2);
    case 'sed':
      return tabulateLnD(model, T_K, K).map((v) => v + LN_M2_TO_NM2);
    case 'table':
      return Float64Array.from(model.D_m2s, (d) => Math.log(d) + LN_M2_TO_NM2);
  }
}



interface MemberState {
  index: number;
  protocol: Protocol;
  failed?: string;
  stages: MemberStage[];
  /** per request observation, once its stage has run */
  residuals: ObservationResidual[];
  /** ∫ n dx (n0·nm) and the largest cell value of every protocol species at the start of the next stage */
  inv: Float64Array;
  peak: Float64Array;
  /** the member's profiles at the end of its last stage (when the request keeps them) */
  t0: number;
}

/** The D models' ln D tables in one pool (one copy per distinct model), and D at the reservoir per model. */
class TablePool {
  /** tabulated models of earlier runs (a tabulation is ~4096 evaluations of the SED; up to 256 kept) */
  private static readonly tables = new Map<string, Float64Array>();
  readonly values: number[] = [];
  private readonly index = new Map<string, { off: number; len: number; Dres: Map<number, number> }>();
  constructor(readonly K: number) {}
  get(model: DModel, T_K: number): { off: number; len: number; Dres: Map<number, number> } {
    const key = `${T_K}|${JSON.stringify(model)}`;
    let e = this.index.get(key);
    if (!e) {
      let t = TablePool.tables.get(`${this.K}|${key}`);
      if (!t) {
        t = lnDTable(model, T_K, this.K);
        if (TablePool.tables.size >= 256) TablePool.tables.clear();
        TablePool.tables.set(`${this.K}|${key}`, t);
      }
      e = { off: this.values.length, len: t.length, Dres: new Map() };
      for (const v of t) this.values.push(v);
      this.index.set(key, e);
    }
    return e;
  }
  /**
   * D(c_res) of the beam's model as the twin evaluates it (its tabulated model: ln D linear between the
   * uniform θ points, constant beyond the ends), nm²/s, from the pooled table.
   */
  dRes(model: DModel, T_K: number, cRes: number): number {
    const e = this.get(model, T_K);
    let v = e.Dres.get(cRes);
    if (v === undefined) {
      const t = this.values;
      const K = e.len;
      if (K === 1 || cRes <= 0) v = Math.exp(t[e.off]);
      else if (cRes >= 1) v = Math.exp(t[e.off + K - 1]);
      else {
        const x = cRes * (K - 1);
        const j = Math.min(Math.floor(x), K - 2);
        v = Math.exp(t[e.off + j] + (t[e.off + j + 1] - t[e.off + j]) * (x - j));
      }
      e.Dres.set(cRes, v);
    }
    return v;
  }
}

export class WebGpuEngine implements EnsembleEngine {
  readonly name = 'webgpu';
  readonly adapter: string;
  /** what the last run did (dispatches, readbacks, host time, limits) */
  lastRun?: WebGpuRunStats;
  private readonly K: number;
  readonly lanes: number;
  private readonly attempts: number;
  private readonly perSubmit: number;

  constructor(
    readonly gpu: AcquiredDevice,
    readonly opts: WebGpuEngineOptions,
  ) {
    const info = gpu.adapterInfo;
    this.adapter = describeAdapter(info);
    if (/llvmpipe/i.test(`${info.device} ${info.description}`) || info.backend === 'opengles') {
      throw new GpuError(
        `the webgpu engine cannot run on ${this.adapter}: llvmpipe cuts an invocation off after 65,535 loop iterations per dispatch and one NPP step needs far more; use SwiftShader (--adapter swiftshader) or a real GPU`,
      );
    }
    this.K = opts.tablePoints ?? TABLE_POINTS;
    this.lanes = opts.lanes ?? (isSoftwareAdapter(info) ? SOFTWARE_LANES : DEFAULT_LANES);
    this.attempts = opts.attemptsPerDispatch ?? 8;
    this.perSubmit = opts.dispatchesPerSubmit ?? 4;
    const lim = gpu.device.limits;
    if (this.lanes > lim.maxComputeInvocationsPerWorkgroup || this.lanes > lim.maxComputeWorkgroupSizeX)
      throw new GpuError(`${this.lanes} invocations per lattice exceed this device's workgroup size (${lim.maxComputeWorkgroupSizeX}, ${lim.maxComputeInvocationsPerWorkgroup} invocations)`);
    if (!(this.attempts >= 1 && this.perSubmit >= 1)) throw new RangeError('attemptsPerDispatch and dispatchesPerSubmit must be at least 1');
  }

  private closed = false;

  /**
   * Release what the engine holds (idempotent). A run's buffers are
   * destroyed as it ends (also on failure or abort), so what is left are the
   * pipelines, cached per device, and the device: with `ownsDevice` both go
   * (the device is destroyed); otherwise they stay the device owner's.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.opts.ownsDevice) {
      pipelineCache.delete(this.gpu.device);
      this.gpu.destroy();
    }
  }

  /** WGSL of one stage layout: the generated prelude and the step shader. */
  shaderFor(L: StageLayout): string {
    return wgslPrelude(L) + this.opts.shaderSource;
  }

  /** The step pipeline of a stage layout (compiled once per device). */
  pipelineFor(L: StageLayout): Promise<GPUComputePipeline> {
    const code = this.shaderFor(L);
    const device = this.gpu.device;
    return cachedPerDevice(pipelineCache, device, code, 'building npp_qn.wgsl', async () => {
      const module = await compileModule(device, 'npp_qn.wgsl', code);
      const layout = device.createBindGroupLayout({
        label: 'npp_qn',
        entries: [0, 1, 2, 3, 4, 5, 6, 7].map((binding) => ({
          binding,
          visibility: SS_COMPUTE,
          buffer: { type: binding < 3 ? ('read-only-storage' as const) : binding < 7 ? ('storage' as const) : ('uniform' as const) },
        })),
      });
      return device.createComputePipelineAsync({ label: 'npp_qn run', layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }), compute: { module, entryPoint: 'run' } });
    });
  }

  private auxPipeline(label: string, code: string, entryPoint: string): Promise<GPUComputePipeline> {
    const device = this.gpu.device;
    return cachedPerDevice(pipelineCache, device, code, `building ${label}`, async () => {
      const module = await compileModule(device, label, code);
      return device.createComputePipelineAsync({ label, layout: 'auto', compute: { module, entryPoint } });
    });
  }

  /** Checks a request can run here; returns the shared grid. Throws InputError naming what varies or is unsupported. */
  check(req: EnsembleRequest): Grid {
    const grid = checkFloat32Request(req, this.name);
    const sp = Object.keys(req.members[0].species).length;
    if (sp > SP_MAX) throw new InputError(`species: the ${this.name} engine handles at most ${SP_MAX} species per protocol, not ${sp}`);
    return grid;
  }

  async run(req: EnsembleRequest, opts: EnsembleRunOptions = {}): Promise<EnsembleResult> {
    if (this.closed) throw new GpuError('the webgpu engine is closed');
    const t0 = performance.now();
    const grid = this.check(req);
    const base = req.members[0];
    const SP = Object.keys(base.species).length;
    const device = this.gpu.device;
    const lim = device.limits;
    // the largest per-member binding over the stages sizes the batches
    const mMax = Math.max(...base.stages.map((st) => Object.keys(st.D).length));
    const probe = stageLayout({ N: grid.N, SP, active: Array.from({ length: mMax }, (_, s) => s), z: Array(mMax).fill(1), beam: mMax - 1, closing: 0, stage: 0, lanes: this.lanes });
    const per = bytesPerMember(probe);
    const largest = Math.max(per.prm, per.st, per.ys, per.dens, per.sum);
    const fit = Math.floor(Math.min(lim.maxStorageBufferBindingSize, lim.maxBufferSize) / largest);
    if (fit < 1) throw new GpuError(`one member needs ${largest} bytes in one buffer, more than this device allows (maxStorageBufferBindingSize ${lim.maxStorageBufferBindingSize})`);
    const Mb = Math.max(1, Math.min(this.opts.maxMembersPerBatch ?? Infinity, fit));
    // the observation operators on the shared grid (f64, made once; InputError for depths outside the sample)
    const ops = (req.observations ?? []).map((o) => observationOperator(grid.faces, o.depth_nm, o.resolution));
    if (ops.length && !this.opts.residualShaderSource)
      throw new GpuError('the request has observations but the webgpu engine was built without shaders/residual.wgsl (residualShaderSource)');
    const total = req.members.length;
    const tr = new ProgressTracker(req, opts.onProgress);
    const stats: WebGpuRunStats = {
      lanes: this.lanes,
      stages: [],
      batches: 0,
      membersPerBatch: Math.min(Mb, total),
      workgroupsPerDispatch: 0,
      attemptsPerDispatch: this.attempts,
      hostMsPerMember: 0,
      limits: { ...this.gpu.limits },
    };
    let hostMs = 0;
    for (let start = 0; start < total; start += Mb) {
      const idx = Array.from({ length: Math.min(Mb, total - start) }, (_, j) => start + j);
      const th = performance.now();
      const members: MemberState[] = idx.map((i) => {
        const protocol = req.members[i];
        const init = Object.values(protocol.species).map((s) => s.initial);
        return {
          index: i,
          protocol,
          stages: [],
          residuals: [],
          inv: Float64Array.from(init, (v) => v * grid.L_nm),
          peak: Float64Array.from(init),
          t0: performance.now(),
        };
      });
      hostMs += performance.now() - th;
      hostMs += await this.runBatch(members, grid, req, opts, ops, stats, tr);
      stats.batches++;
      const tf = performance.now();
      // the batch is through its last stage: none of its members runs any more
      tr.setRunning([]);
      for (const m of members) {
        const values = req.values[m.index] ?? [];
        const wall_s = (performance.now() - m.t0) / 1000;
        tr.finish(m.failed ? failedMember(m.index, values, m.failed, grid.N, wall_s) : okMember(m.index, values, m.stages, grid.N, wall_s, req.observations?.length ? m.residuals : undefined));
      }
      hostMs += performance.now() - tf;
    }
    stats.hostMsPerMember = hostMs / total;
    this.lastRun = stats;
    return tr.result(this.name, this.adapter, (performance.now() - t0) / 1000);
  }

  /** Every stage of one batch; returns the host time spent (ms). */
  private async runBatch(
    members: MemberState[],
    grid: Grid,
    req: EnsembleRequest,
    opts: EnsembleRunOptions,
    ops: ObservationOperator[],
    stats: WebGpuRunStats,
    tr: ProgressTracker,
  ): Promise<number> {
    const device = this.gpu.device;
    const base = members[0].protocol;
    const SP = Object.keys(base.species).length;
    const M = members.length;
    const G = Math.max(1, Math.min(M, this.opts.maxWorkgroups ?? 2048, device.limits.maxComputeWorkgroupsPerDimension));
    stats.workgroupsPerDispatch = Math.max(stats.workgroupsPerDispatch, G);
    const { N, h, d, x, L_nm } = grid;
    // the summary's blurred samples (src/ensemble/summary.ts: 1 nm Gaussian from 2 nm to min(150 nm, the last centre) every 0.25 nm)
    const o = SUMMARY_DEFAULTS;
    const to = Math.min(o.to_nm, x[N - 1]);
    const ns = to >= o.from_nm ? Math.floor((to - o.from_nm) / o.step_nm + 1e-9) + 1 : 0;
    if (ns > SUM_MAX_SAMPLES) throw new GpuError(`the summary takes ${ns} blurred samples, more than ${SUM_MAX_SAMPLES}`);
    const sumOp = ns > 0 ? observationOperator(grid.faces, Array.from({ length: ns }, (_, j) => o.from_nm + j * o.step_nm), { kind: 'gauss', sigma_nm: o.blur_nm }) : undefined;
    const sIdx: number[] = [];
    const sW: number[] = [];
    if (sumOp) packOperator(sumOp, sIdx, sW);
    const mk = (label: string, size: number, usage: number, data?: ArrayBufferView) => {
      const b = device.createBuffer({ label, size: Math.max(16, Math.ceil(size / 4) * 4), usage: usage | BU_COPY_DST });
      if (data) device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
      return b;
    };
    const mMax = Math.max(...base.stages.map((st) => Object.keys(st.D).length));
    const densStride = (SP + 1) * N;
    const bufs = await withErrorScope(
      device,
      () => ({
        geo: mk('npp grid', 4 * (4 * N + 2), BU_STORAGE, geometryArray(h, d, x, L_nm)),
        dens: mk('npp profiles', 4 * M * densStride, BU_STORAGE | BU_COPY_SRC),
        ys: mk('npp state', 4 * M * Math.ceil(N / Math.min(this.lanes, Math.floor(N / 2))) * mMax * this.lanes, BU_STORAGE),
        ctl: mk('npp queue', 4 * (CTL.slot0 + G), BU_STORAGE | BU_COPY_SRC),
        sidx: mk('summary samples', 4 * sIdx.length, BU_STORAGE, Uint32Array.from(sIdx)),
        swt: mk('summary weights', 4 * sW.length, BU_STORAGE, Float32Array.from(sW)),
      }),
      'allocating the ensemble buffers',
    );
    let host = 0;
    try {
      for (let k = 0; k < base.stages.length; k++) {
        throwIfAborted(opts.signal, ABORTED);
        host += await this.runStage(members, k, grid, req, opts, ops, stats, bufs, { G, ns, tr });
      }
    } finally {
      for (const b of Object.values(bufs)) b.destroy();
    }
    return host;
  }

  /** Stage k of every live member of a batch on the GPU; returns the host time spent (ms). */
  private async runStage(
    members: MemberState[],
    k: number,
    grid: Grid,
    req: EnsembleRequest,
    opts: EnsembleRunOptions,
    ops: ObservationOperator[],
    stats: WebGpuRunStats,
    bufs: { geo: GPUBuffer; dens: GPUBuffer; ys: GPUBuffer; ctl: GPUBuffer; sidx: GPUBuffer; swt: GPUBuffer },
    ctx: { G: number; ns: number; tr: ProgressTracker },
  ): Promise<number> {
    const device = this.gpu.device;
    let hostTotal = 0;
    let th = performance.now();
    const base = members[0].protocol;
    const stage0 = base.stages[k];
    const species = Object.keys(base.species);
    const SP = species.length;
    const active = species.map((_, j) => j).filter((j) => species[j] in stage0.D);
    const names = active.map((j) => species[j]);
    const z = names.map((nm) => base.species[nm].z);
    const beam = names.indexOf(stage0.beam);
    if (beam < 0) throw new InputError(`stages.${k}: beam species ${stage0.beam} has no D model`);
    const { N, x, L_nm } = grid;
    const M = members.length;
    // a species present at the stage start must have a D model
    for (const m of members) {
      if (m.failed) continue;
      const absent = unmodelledSpecies(m.protocol.stages[k], species, (j) => m.peak[j]);
      if (absent) m.failed = memberFailureReason(absent);
    }
    // the closing species as the twin chooses it (largest inventory at the stage start, not the beam); one per batch
    const closingOf = (m: MemberState) => {
      let best = -1;
      let bestInv = -1;
      active.forEach((j, s) => {
        if (s === beam) return;
        if (m.inv[j] > bestInv) {
          bestInv = m.inv[j];
          best = s;
        }
      });
      return best;
    };
    const live = members.filter((m) => !m.failed);
    const closing = live.length ? closingOf(live[0]) : active.findIndex((_, s) => s !== beam);
    for (const m of live) {
      const c = closingOf(m);
      if (c !== closing)
        m.failed = `stage "${m.protocol.stages[k].name}" closes with ${names[c]} for this member but ${names[closing]} for the others (one layout per batch)`;
    }
    // the reference shift zeroes ψ' at the cell nearest L/2 (deep in the bulk)
    let ib = 0;
    for (let i = 1; i < N; i++) if (Math.abs(x[i] - L_nm / 2) < Math.abs(x[ib] - L_nm / 2)) ib = i;
    // the engine's lanes, halved while the stage's workgroup memory would exceed what the device grants
    let lanes = this.lanes;
    const wgLimit = device.limits.maxComputeWorkgroupStorageSize;
    let L = stageLayout({ N, SP, active, z, beam, closing, ib, stage: k, lanes });
    while (4 * workgroupFloats(L) > wgLimit && lanes > 1) {
      lanes = Math.max(1, lanes >> 1);
      L = stageLayout({ N, SP, active, z, beam, closing, ib, stage: k, lanes });
    }
    const wgBytes = 4 * workgroupFloats(L);
    if (wgBytes > wgLimit)
      throw new GpuError(`one lattice needs ${wgBytes} bytes of workgroup memory at ${L.m} unknowns per cell; this device grants ${wgLimit}`);
    const entered = enteredSpecies(base, k);
    const fs = frontSpecies(base);
    const roles = species.map((nm) => (base.species[nm].initial > 0 ? 1 : entered.has(nm) ? 2 : 0));
    const sumCode = wgslPrelude(L) + summaryPrelude({ role: roles, frontSpecies: fs === undefined ? -1 : species.indexOf(fs) }, SUMMARY_DEFAULTS) + this.opts.summaryShaderSource;
    host(0);
    // an abort does not wait for the compiler (a pipeline can take tens of seconds on a software adapter; it stays cached)
    const [runPipe, sumPipe] = await abortable(Promise.all([this.pipelineFor(L), this.auxPipeline('summary.wgsl', sumCode, 'summary')]), opts.signal);
    th = performance.now();

    // ---- host → GPU: parameters, status, D tables
    const pool = new TablePool(this.K);
    const prm = new Float32Array(PF * M);
    const st = new Float32Array(SF * M);
    const info = members.map((m, j) => {
      const p = m.protocol;
      const stage: Stage = p.stages[k];
      const kT = kT_eV(stage.T_K);
      const psiU = stage.U_V / kT;
      const toAmp = ELEMENTARY_CHARGE * p.sample.area_m2 * p.sample.n0_m3 * 1e-9;
      const zBeam = z[beam];
      const stopQ = 'charge_C' in stage.stop ? stage.stop.charge_C : undefined;
      const stopT = 'duration_s' in stage.stop ? stage.stop.duration_s : undefined;
      const maxT = stopT ?? stage.max_duration_s;
      const set = (f: keyof typeof P, v: number) => (prm[j * PF + P[f]] = v);
      set('frontLin', (-psiU * grid.d[0]) / L_nm);
      set('cpsi', psiU / L_nm);
      set('backLin', (psiU * grid.d[N]) / L_nm);
      set('psiU', psiU);
      const cRes = p.front.c_res;
      set('cRes', cRes);
      set('Dres', pool.dRes(stage.D[names[beam]], stage.T_K, cRes));
      set('qTarget', stopQ !== undefined ? stopQ / (zBeam * toAmp) : -1);
      set('stopT', stopT ?? -1);
      set('maxT', maxT);
      set('dt0', p.solver.dt0_s);
      set('dtMax', p.solver.dt_max_s);
      set('rtol', p.solver.rtol);
      set('atol', p.solver.atol);
      set('maxSteps', p.solver.max_steps);
      names.forEach((nm, s) => {
        const t = pool.get(stage.D[nm], stage.T_K);
        prm[j * PF + P.tabOff0 + 2 * s] = t.off;
        prm[j * PF + P.tabK0 + 2 * s] = t.len;
      });
      species.forEach((nm, sp) => (prm[j * PF + P.init0 + sp] = p.species[nm].initial));
      st[j * SF + ST.status] = m.failed ? STATUS.skip : STATUS.running;
      st[j * SF + ST.dt] = Math.min(p.solver.dt0_s, maxT);
      st[j * SF + ST.lastFreeDt] = -1;
      st[j * SF + ST.minPivot] = 3e38;
      return { stage, kT, toAmp, zBeam, stopQ, maxT };
    });
    const G = ctx.G;
    const ctl = new Uint32Array(CTL.slot0 + G).fill(NO_MEMBER);
    ctl[CTL.next] = 0;
    ctl[CTL.finished] = 0;
    ctl[CTL.attempts] = 0;
    ctl[3] = 0;
    device.queue.writeBuffer(bufs.ctl, 0, ctl);
    const mk = (label: string, data: ArrayBufferView, usage: number) => {
      const b = device.createBuffer({ label, size: Math.max(16, Math.ceil(data.byteLength / 4) * 4), usage: usage | BU_COPY_DST });
      device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
      return b;
    };
    const sbufs = await withErrorScope(
      device,
      () => ({
        prm: mk('npp params', prm, BU_STORAGE),
        tab: mk('npp D tables', Float32Array.from(pool.values), BU_STORAGE),
        st: mk('npp status', st, BU_STORAGE | BU_COPY_SRC),
        cfg: mk('npp dispatch', new Uint32Array([M, this.attempts, 0, 0]), BU_UNIFORM),
        sum: device.createBuffer({ label: 'summary', size: Math.max(16, 4 * M * sumStride(SP)), usage: BU_STORAGE | BU_COPY_SRC }),
        scfg: mk('summary dispatch', new Uint32Array([M, ctx.ns, Math.min(M, 65535), 0]), BU_UNIFORM),
      }),
      'uploading the stage',
    );
    host(1);
    const stageStats: WebGpuRunStats['stages'][number] = {
      lanes,
      partitions: L.P,
      cellsPerLane: L.cpt,
      workgroupBytes: wgBytes,
      unknownsPerCell: L.m,
      dispatches: 0,
      readbackBytes: 0,
      layout: L,
      rejectedNewton: 0,
      newtonFailures: {},
      rejectedError: 0,
      minPivot: Infinity,
    };
    stats.stages[k] = stageStats;
    try {
      const bind = device.createBindGroup({
        layout: runPipe.getBindGroupLayout(0),
        entries: [sbufs.prm, bufs.geo, sbufs.tab, sbufs.st, bufs.ys, bufs.dens, bufs.ctl, sbufs.cfg].map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      // progress: this batch's members in stage k (the others of the run are done or not started)
      const running = new Array<number>(base.stages.length).fill(0);
      const liveCount = members.reduce((n, m) => n + (m.failed ? 0 : 1), 0);
      for (;;) {
        throwIfAborted(opts.signal, ABORTED);
        const enc = device.createCommandEncoder();
        const pass = enc.beginComputePass();
        pass.setPipeline(runPipe);
        pass.setBindGroup(0, bind);
        for (let b = 0; b < this.perSubmit; b++) pass.dispatchWorkgroups(G);
        pass.end();
        device.queue.submit([enc.finish()]);
        stageStats.dispatches += this.perSubmit;
        const word = await abortable(readBuffer(device, bufs.ctl, Uint32Array, { offset: 0, size: 16 }), opts.signal);
        stageStats.readbackBytes += 16;
        const finished = word[CTL.finished];
        // members of the batch still in stage k, from the queue's count of lattices through it (skipped ones count too)
        running[k] = Math.max(0, Math.min(liveCount, M - finished));
        ctx.tr.setRunning(running);
        ctx.tr.report();
        if (finished >= M) break;
      }
      this.gpu.throwIfUncapturedErrors();
      // summaries, then the residuals of this stage's observations, on the GPU
      {
        const enc = device.createCommandEncoder();
        const pass = enc.beginComputePass();
        pass.setPipeline(sumPipe);
        pass.setBindGroup(
          0,
          device.createBindGroup({
            layout: sumPipe.getBindGroupLayout(0),
            entries: [bufs.dens, bufs.geo, bufs.sidx, bufs.swt, sbufs.sum, sbufs.scfg].map((buffer, binding) => ({ binding, resource: { buffer } })),
          }),
        );
        pass.dispatchWorkgroups(Math.min(M, 65535), Math.ceil(M / 65535));
        pass.end();
        device.queue.submit([enc.finish()]);
      }
      const stageObs = (req.observations ?? []).map((o, oi) => ({ o, oi })).filter(({ o }) => o.stage === k);
      const rows: { oi: number; s: number; row: number }[] = [];
      let resOut: Float32Array | undefined;
      let RL: ResidualLayout | undefined;
      if (stageObs.length) {
        const specs: ResidualRowSpec[] = [];
        for (const { o, oi } of stageObs)
          o.species.forEach((sp, s) => {
            rows.push({ oi, s, row: specs.length });
            specs.push({ op: ops[oi], species: species.indexOf(sp), target: o.target[s] });
          });
        RL = residualLayout(specs);
        resOut = await this.residualsOnGpu(L, RL, bufs.dens, M, !!req.keepModel);
        stageStats.readbackBytes += resOut.byteLength;
      }
      const status = await readBuffer(device, sbufs.st, Float32Array);
      const sum = await readBuffer(device, sbufs.sum, Float32Array, { offset: 0, size: 4 * M * sumStride(SP) });
      stageStats.readbackBytes += status.byteLength + sum.byteLength;
      const keep = req.profiles === 'final' || req.profiles === 'all';
      const prof = keep ? await readBuffer(device, bufs.dens, Float32Array, { offset: 0, size: 4 * M * L.densStride }) : undefined;
      if (prof) stageStats.readbackBytes += prof.byteLength;
      this.gpu.throwIfUncapturedErrors();
      th = performance.now();
      const ss = sumStride(SP);
      members.forEach((m, j) => {
        if (m.failed) return;
        const I = info[j];
        const S_ = (f: keyof typeof ST) => status[j * SF + ST[f]];
        const t = S_('tHi') + S_('tLo');
        const q = (S_('qHi') + S_('qLo')) * I.toAmp;
        const code = S_('status');
        stageStats.rejectedNewton += S_('rejNewton');
        stageStats.rejectedError += S_('rejError');
        stageStats.minPivot = Math.min(stageStats.minPivot, S_('minPivot'));
        if (S_('rejNewton') > 0) {
          const c = String(S_('lastNewtonFail'));
          stageStats.newtonFailures[c] = (stageStats.newtonFailures[c] ?? 0) + 1;
        }
        const where = { stage: I.stage.name, t_s: code === STATUS.done ? t : S_('tFail') };
        if (code !== STATUS.done) {
          let text = this.failureText(code, S_('code'), m.protocol, I, q, S_('jFront'), S_('err'), S_('dt'));
          if (code === STATUS.stepFailed || code === STATUS.initFailed) {
            // where the last Newton iteration was worst, like the twin's `at`
            const at = S_('nWorst');
            const cell = Math.floor(at / L.m);
            const v = at % L.m;
            Object.assign(where, { depth_nm: x[Math.min(cell, N - 1)], species: v < L.U ? names[L.unknown[v]] : 'potential' });
            text += ` (last update: densities ${S_('nDmax').toPrecision(3)}, potential ${S_('nDpsi').toPrecision(3)} tolerance units)`;
          }
          m.failed = memberFailureReason(new SolverError(text, where));
          return;
        }
        const rec = (sp: number, f: keyof typeof SUM) => sum[j * ss + sp * SUM_FIELDS.length + SUM[f]];
        const some = (v: number) => v > SUM_NONE;
        const I_A = I.zBeam * S_('jFront') * I.toAmp;
        const front_nm: StageSummary['front_nm'] = {};
        const max: StageSummary['max'] = {};
        const balance: StageResult['balance'] = {};
        const inv = Float64Array.from(species, (_, sp) => rec(sp, 'inventory'));
        const peak = Float64Array.from(species, (_, sp) => rec(sp, 'peak'));
        species.forEach((nm, sp) => {
          const f = rec(sp, 'front');
          front_nm[nm] = roles[sp] && some(f) ? f : null;
          max[nm] = roles[sp] && ctx.ns > 0 ? { value: rec(sp, 'maxValue'), depth_nm: rec(sp, 'maxDepth') } : null;
        });
        names.forEach((nm, s) => {
          balance[nm] = { start: m.inv[active[s]], end: inv[active[s]], inFront: S_(`crossF${s}` as keyof typeof ST), outBack: S_(`crossB${s}` as keyof typeof ST) };
        });
        const meanTo = sum[j * ss + SP * SUM_FIELDS.length];
        const mean: StageSummary['mean'] = some(meanTo)
          ? { from_nm: SUMMARY_DEFAULTS.from_nm, to_nm: meanTo, density: Object.fromEntries(species.map((nm, sp) => [nm, rec(sp, 'mean')])) }
          : null;
        const scalars = [t, q, I_A, S_('jBack'), ...inv, ...Object.values(max).flatMap((v) => (v ? [v.value, v.depth_nm] : []))];
        if (scalars.some((v) => !Number.isFinite(v))) {
          m.failed = memberFailureReason(new SolverError('non-finite value in the GPU result', { stage: I.stage.name, t_s: t }));
          return;
        }
        const out: MemberStage = {
          name: I.stage.name,
          beam: I.stage.beam,
          duration_s: t,
          charge_C: q,
          final_current_A: I_A,
          front_nm,
          max,
          mean,
          stats: { steps: S_('steps'), rejected: S_('rejected'), newtonIterations: S_('newtonIts'), factorizations: S_('facts') },
          balance,
        };
        if (prof) {
          const o = j * L.densStride;
          const density: Record<string, number[]> = {};
          species.forEach((nm, sp) => (density[nm] = Array.from(prof.subarray(o + sp * N, o + (sp + 1) * N))));
          const bad = Object.entries(density).find(([, a]) => a.some((v) => !Number.isFinite(v)));
          if (bad) {
            m.failed = memberFailureReason(new SolverError(`non-finite density of ${bad[0]} in the GPU result`, { stage: I.stage.name, t_s: t }));
            return;
          }
          out.depth_nm = Array.from(x);
          out.density = density;
          out.potential_V = Array.from(prof.subarray(o + SP * N, o + (SP + 1) * N), (p) => p * I.kT);
        }
        if (req.profiles === 'all') {
          out.current = { t_s: [t], I_A: [I_A], I_back_A: [S_('jBack') * I.toAmp], Q_C: [q] };
          out.snapshots = [];
        }
        m.inv = inv;
        m.peak = peak;
        m.stages.push(out);
        for (const { o, oi } of stageObs) {
          const perSpecies = o.species.map((_, s) => {
            const g = rows.find((r) => r.oi === oi && r.s === s)!;
            const from = RL!.rows + RL!.modelOffset[g.row];
            const model = req.keepModel ? Array.from({ length: o.depth_nm.length }, (_, p) => resOut![(from + p) * M + j]) : [];
            return { sum: resOut![g.row * M + j], model };
          });
          const r = combineResidual(o, perSpecies, req.keepModel);
          if (!Number.isFinite(r.ssr)) {
            m.failed = memberFailureReason(new SolverError(`non-finite residual against ${o.label}`, { stage: I.stage.name, t_s: t }));
            return;
          }
          m.residuals[oi] = r;
        }
      });
      host(1);
    } finally {
      for (const b of Object.values(sbufs)) b.destroy();
    }
    return hostTotal;

    function host(add: number) {
      if (add) hostTotal += performance.now() - th;
      th = performance.now();
    }
  }

  /** Run shaders/residual.wgsl over the stage's end profiles: per (member, row) the sum of squares (and the model values). */
  private async residualsOnGpu(L: StageLayout, RL: ResidualLayout, dens: GPUBuffer, M: number, keepModel: boolean): Promise<Float32Array> {
    const device = this.gpu.device;
    const code = wgslPrelude(L) + residualPrelude() + this.opts.residualShaderSource!;
    const pipeline = await this.auxPipeline('residual.wgsl', code, 'residual');
    const outLen = (keepModel ? RL.outPerMember : RL.rows) * M;
    const mk = (label: string, data: ArrayBufferView & { byteLength: number }, usage: number) => {
      const b = device.createBuffer({ label, size: Math.max(16, data.byteLength), usage: usage | BU_COPY_DST });
      device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
      return b;
    };
    const bufs = await withErrorScope(
      device,
      () => ({
        rdesc: mk('residual rows', RL.rdesc, BU_STORAGE),
        rdat: mk('residual weights and targets', RL.rdat, BU_STORAGE),
        out: device.createBuffer({ label: 'residual out', size: Math.max(16, outLen * 4), usage: BU_STORAGE | BU_COPY_SRC }),
        cfg: mk('residual cfg', new Uint32Array([M, RL.rows, keepModel ? 1 : 0, 0]), BU_UNIFORM),
      }),
      'uploading the residual rows',
    );
    try {
      const bind = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [dens, bufs.rdesc, bufs.rdat, bufs.out, bufs.cfg].map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bind);
      pass.dispatchWorkgroups(Math.ceil(M / 64), RL.rows);
      pass.end();
      device.queue.submit([enc.finish()]);
      const out = await readBuffer(device, bufs.out, Float32Array, { offset: 0, size: outLen * 4 });
      this.gpu.throwIfUncapturedErrors();
      return out;
    } finally {
      for (const b of Object.values(bufs)) b.destroy();
    }
  }

  private failureText(
    code: number,
    sub: number,
    p: Protocol,
    I: { stopQ?: number; maxT: number; zBeam: number; toAmp: number },
    q: number,
    jFront: number,
    err: number,
    dt: number,
  ): string {
    const newton = (c: number) => {
      const stageName = c >= NEWTON_FAIL.bdf2 ? 'BDF2 stage' : 'TR stage';
      const r = c % NEWTON_FAIL.bdf2;
      const why =
        r === NEWTON_FAIL.singular
          ? 'singular Newton matrix'
          : r === NEWTON_FAIL.nonFinite
            ? 'Newton update is not finite'
            : r === NEWTON_FAIL.diverged
              ? 'Newton diverged'
              : r === NEWTON_FAIL.tinyPivot
                ? 'tiny pivot in a block of the Newton matrix'
                : `Newton did not converge in 12 iterations`;
      return `${stageName}: ${why}`;
    };
    switch (code) {
      case STATUS.stepLimit:
        return `step limit reached (${p.solver.max_steps} steps) at Q = ${(q * 1e3).toPrecision(4)} mC`;
      case STATUS.dtUnderflow:
        return 'time step underflow';
      case STATUS.stepFailed:
        return `step failed at Δt = ${(4 * dt).toExponential(2)} s: ${newton(sub)}`;
      case STATUS.errUnderflow:
        return `time step underflow: error estimate ${err.toPrecision(3)}`;
      case STATUS.cannotDeliver:
        return `stage cannot deliver its charge: after max_duration_s = ${I.maxT.toExponential(3)} s only ${(q * 1e3).toPrecision(4)} of ${((I.stopQ ?? 0) * 1e3).toPrecision(4)} mC were delivered (current ${(I.zBeam * jFront * I.toAmp * 1e9).toPrecision(3)} nA)`;
      case STATUS.initFailed:
        return `initial potential: ${newton(sub).replace(/^TR stage: /, '')}`;
      default:
        return `GPU status ${code}`;
    }
  }
}
