/// <reference types="@webgpu/types" />
/**
 * The WebGPU ensemble engine: many independent NPP lattices advanced in
 * parallel by float32 compute shaders (shaders/npp_qn.wgsl), one invocation
 * per member. The scheme is an exact f32 port of the f64 twin
 * `simulate(tabulateProtocol(P with solver.formulation = 'quasineutral', K))`:
 * same grid, unknowns, SG fluxes, boundary faces, TR-BDF2 with the same
 * Newton and step control, same D tables (see src/gpu/layout.ts for what
 * f32 forces).
 *
 * All members of a request must share species, stages (beams, species per
 * stage, D model kinds) and grid: only numeric parameters vary. Members run
 * stage by stage, each from its own end state of the previous stage. A
 * member that fails is flagged with a reason; the others complete.
 *
 * Platform-neutral (no Node imports): the shader source is passed in
 * (src/gpu/node-shaders.ts reads it from disk in Node; a page can import it
 * as a string).
 *
 * @example
 * const gpu = await openNodeDevice('swiftshader');
 * const engine = new WebGpuEngine(gpu, webGpuEngineShaders()); // both shaders, read by src/gpu/node-shaders.ts
 * const res = await engine.run(request);
 */
import type { DModel, Protocol, Stage } from '../config/schema.js';
import { InputError } from '../config/validate.js';
import { ELEMENTARY_CHARGE, kT_eV } from '../physics/constants.js';
import { makeDiffusivity } from '../physics/diffusion.js';
import { TABLE_POINTS, tabulateLnD, tabulateModel } from '../physics/tabulate.js';
import { gridOf } from '../solver/simulate.js';
import type { Grid } from '../solver/grid.js';
import { SolverError, type StageResult } from '../solver/types.js';
import { memberFailureReason, memberStage } from '../ensemble/member.js';
import { combineResidual, observationOperator, speciesResidual, type ObservationOperator, type ObservationResidual, type SpeciesResidual } from '../fit/observe.js';
import type { EnsembleEngine, EnsembleRequest, EnsembleResult, EnsembleRunOptions, MemberResult, MemberStage } from '../ensemble/types.js';
import { type AcquiredDevice, GpuError, describeAdapter } from './device.js';
import { readBuffer, withErrorScope } from './readback.js';
import {
  NEWTON_FAIL,
  P,
  PARAM_FIELDS,
  STATE_FIELDS,
  STATUS,
  ST,
  S_MAX,
  type StageLayout,
  stageLayout,
  wgslPrelude,
  workBytesPerMember,
  residualLayout,
  residualPrelude,
  type ResidualLayout,
  type ResidualRowSpec,
  geometryArray,
} from './layout.js';

const M2_TO_NM2 = 1e18;
const LN_M2_TO_NM2 = Math.log(M2_TO_NM2);

// GPUBufferUsage / GPUShaderStage bits spelled out (the globals may be missing before the webgpu package loads)
const BU_STORAGE = 0x0080;
const BU_COPY_SRC = 0x0004;
const BU_COPY_DST = 0x0008;
const BU_UNIFORM = 0x0040;
const SS_COMPUTE = 0x4;

/** Pipelines per device and shader text (and workgroup size): shared by every engine on that device. */
const pipelineCache = new WeakMap<GPUDevice, Map<string, Promise<Pipelines>>>();
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

/** The residual pipeline per device and shader text. */
const residualCache = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>();

export interface WebGpuEngineOptions {
  /** the text of shaders/npp_qn.wgsl */
  shaderSource: string;
  /** D table points over θ ∈ [0, 1] (default TABLE_POINTS); the f64 twin must use the same */
  tablePoints?: number;
  /** step dispatches per submit before the status is read back (default 32) */
  stepsPerSubmit?: number;
  /** most members per batch (default 4096; less when the work buffer would exceed maxStorageBufferBindingSize) */
  maxMembersPerBatch?: number;
  /** workgroup size (default 64) */
  workgroupSize?: number;
  /** the text of shaders/residual.wgsl: needed for requests with observations (residuals on the GPU) */
  residualShaderSource?: string;
}

interface Pipelines {
  layout: GPUBindGroupLayout;
  init: GPUComputePipeline;
  step: GPUComputePipeline;
}

/**
 * What both float32 engines (webgpu, gpujs) can run: members that share
 * species, stages and grid (only numbers vary), the arithmetic face D, no
 * snapshot records, 2..S_MAX species per stage, nref = bulk, table models on
 * a uniform θ grid from 0 to 1. Returns the shared grid; throws InputError
 * naming the member and the field.
 */
export function checkFloat32Request(req: EnsembleRequest, engine: string): Grid {
  const ms = req.members;
  if (ms.length === 0) throw new InputError('the request has no members');
  for (let i = 1; i < ms.length; i++) {
    const v = varyingStructure(ms[0], ms[i]);
    if (v) throw new InputError(`${engine} engine: all members must share species, stages and grid; member ${i} differs from member 0 at ${v}`);
  }
  ms.forEach((p, i) => {
    if (p.solver.face_D !== 'arithmetic') throw new InputError(`member ${i}: solver.face_D: the ${engine} engine implements the arithmetic face average only`);
    p.stages.forEach((st, k) => {
      if (st.record.times_s.length || st.record.charges_C.length)
        throw new InputError(`member ${i}: stages.${k}.record: the ${engine} engine records no snapshots (leave times_s and charges_C empty)`);
      const names = Object.keys(st.D);
      if (names.length < 2 || names.length > S_MAX) throw new InputError(`member ${i}: stages.${k}.D: the ${engine} engine needs 2..${S_MAX} species per stage`);
      for (const nm of names) {
        const d = st.D[nm];
        if ((d.model === 'sed' || d.model === 'table') && d.nref === 'stageStart')
          throw new InputError(`member ${i}: stages.${k}.D.${nm}.nref: the ${engine} engine supports nref = bulk only`);
        if (d.model === 'table') {
          const n = d.theta.length;
          const uniform = n >= 2 && d.theta.every((t, j) => Math.abs(t - j / (n - 1)) <= 1e-12);
          if (!uniform) throw new InputError(`member ${i}: stages.${k}.D.${nm}: the ${engine} engine needs table models on a uniform θ grid from 0 to 1`);
        }
      }
    });
  });
  return gridOf(ms[0]);
}

/** The value at a dotted path where two member protocols differ in structure (not just a number), or in a numeric field that must be shared. */
export function varyingStructure(a: unknown, b: unknown, path: string[] = []): string | undefined {
  const p = path.join('.');
  if (path.length === 1 && (path[0] === 'name' || path[0] === 'description')) return undefined;
  if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b) || (a === null) !== (b === null)) return p || '(root)';
  if (typeof a === 'number') {
    const shared = path[0] === 'grid' || p === 'sample.thickness_m' || (path[0] === 'species' && path[2] === 'z');
    return shared && a !== b ? p : undefined;
  }
  if (typeof a !== 'object' || a === null) return a === b ? undefined : p || '(root)';
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return p;
    for (let i = 0; i < a.length; i++) {
      const r = varyingStructure(a[i], bb[i], [...path, String(i)]);
      if (r) return r;
    }
    return undefined;
  }
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return p || '(root)';
  for (const k of ka) {
    const r = varyingStructure((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], [...path, k]);
    if (r) return r;
  }
  return undefined;
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

/** The model the f64 twin evaluates (the tabulated one). */
function twinModel(model: DModel, T_K: number, K: number): DModel {
  return tabulateModel(model, T_K, K);
}

interface MemberState {
  index: number;
  protocol: Protocol;
  /** densities per protocol species, f64 */
  dens: Float64Array[];
  failed?: string;
  stages: MemberStage[];
  /** per request observation, once its stage has run */
  residuals: ObservationResidual[];
  t0: number;
  wall_s: number;
}

export class WebGpuEngine implements EnsembleEngine {
  readonly name = 'webgpu';
  readonly adapter: string;
  private readonly K: number;
  private readonly B: number;
  private readonly wg: number;

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
    this.B = opts.stepsPerSubmit ?? 32;
    this.wg = opts.workgroupSize ?? 64;
  }

  /** WGSL of one stage layout (the generated prelude + the shader). */
  shaderFor(L: StageLayout): string {
    return wgslPrelude(L) + this.opts.shaderSource;
  }

  /** Compile (cached) the init and step pipelines of a stage layout. */
  pipelinesFor(L: StageLayout): Promise<Pipelines> {
    const code = this.shaderFor(L);
    const device = this.gpu.device;
    return cachedPerDevice(pipelineCache, device, `${this.wg}\n${code}`, 'building npp_qn.wgsl', async () => {
      const module = await compileModule(device, 'npp_qn.wgsl', code);
      const layout = device.createBindGroupLayout({
        label: 'npp_qn',
        entries: [0, 1, 2, 3, 4, 5].map((binding) => ({
          binding,
          visibility: SS_COMPUTE,
          buffer: { type: binding < 3 ? ('read-only-storage' as const) : binding < 5 ? ('storage' as const) : ('uniform' as const) },
        })),
      });
      const pl = device.createPipelineLayout({ bindGroupLayouts: [layout] });
      const mk = (entryPoint: string) =>
        device.createComputePipelineAsync({ label: `npp_qn ${entryPoint}`, layout: pl, compute: { module, entryPoint, constants: { WG: this.wg } } });
      const settled = await Promise.allSettled([mk('init'), mk('step')]);
      for (const s of settled) if (s.status === 'rejected') throw s.reason;
      const [init, step] = settled.map((s) => (s as PromiseFulfilledResult<GPUComputePipeline>).value);
      return { layout, init, step };
    });
  }

  /** Checks a request can run here; returns the shared grid. Throws InputError naming what varies or is unsupported. */
  check(req: EnsembleRequest): Grid {
    return checkFloat32Request(req, this.name);
  }

  async run(req: EnsembleRequest, opts: EnsembleRunOptions = {}): Promise<EnsembleResult> {
    const t0 = performance.now();
    const grid = this.check(req);
    const base = req.members[0];
    const maxS = Math.max(...base.stages.map((st) => Object.keys(st.D).length));
    const limit = this.gpu.device.limits.maxStorageBufferBindingSize;
    const perMember = workBytesPerMember(grid.N, maxS);
    const fit = Math.floor(limit / perMember);
    if (fit < 1) throw new GpuError(`one member needs ${perMember} bytes of work buffer, more than maxStorageBufferBindingSize = ${limit}`);
    const Mb = Math.max(1, Math.min(this.opts.maxMembersPerBatch ?? 4096, fit));
    // the observation operators on the shared grid (f64, made once; InputError for depths outside the sample)
    const ops = (req.observations ?? []).map((o) => observationOperator(grid.faces, o.depth_nm, o.resolution));
    if (ops.length && !this.opts.residualShaderSource)
      throw new GpuError('the request has observations but the webgpu engine was built without shaders/residual.wgsl (residualShaderSource)');
    const results: MemberResult[] = new Array(req.members.length);
    const total = req.members.length;
    let done = 0;
    let failed = 0;
    for (let start = 0; start < total; start += Mb) {
      const idx = Array.from({ length: Math.min(Mb, total - start) }, (_, j) => start + j);
      const members: MemberState[] = idx.map((i) => {
        const protocol = req.members[i];
        const species = Object.keys(protocol.species);
        return {
          index: i,
          protocol,
          dens: species.map((nm) => new Float64Array(grid.N).fill(protocol.species[nm].initial)),
          stages: [],
          residuals: [],
          t0: performance.now(),
          wall_s: 0,
        };
      });
      for (let k = 0; k < base.stages.length; k++) {
        if (opts.signal?.aborted) throw new GpuError('the webgpu run was aborted');
        await this.runStage(members, k, grid, req, opts, ops);
      }
      for (const m of members) {
        const res: MemberResult = m.failed
          ? { index: m.index, values: [...(req.values[m.index] ?? [])], status: 'failed', reason: m.failed, cells: grid.N, stages: [], wall_s: (performance.now() - m.t0) / 1000 }
          : { index: m.index, values: [...(req.values[m.index] ?? [])], status: 'ok', cells: grid.N, stages: m.stages, wall_s: (performance.now() - m.t0) / 1000 };
        if (!m.failed && req.observations?.length) res.residuals = m.residuals;
        results[m.index] = res;
        done++;
        if (m.failed) failed++;
        opts.onProgress?.({
          done,
          total,
          failed,
          elapsed_s: (performance.now() - t0) / 1000,
          runningByStage: base.stages.map(() => 0), // members of a batch finish together, after their last stage
          finished: { index: m.index, status: res.status, ...(res.reason ? { reason: res.reason } : {}) },
        });
      }
    }
    return { engine: this.name, adapter: this.adapter, members: results, wall_s: (performance.now() - t0) / 1000 };
  }

  /** Runs stage k of every live member of a batch on the GPU; updates their densities, stages or failure. */
  private async runStage(
    members: MemberState[],
    k: number,
    grid: Grid,
    req: EnsembleRequest,
    opts: EnsembleRunOptions,
    ops: ObservationOperator[],
  ): Promise<void> {
    const device = this.gpu.device;
    const base = members[0].protocol;
    const stage0 = base.stages[k];
    const species = Object.keys(base.species);
    const active = species.map((_, j) => j).filter((j) => species[j] in stage0.D);
    const names = active.map((j) => species[j]);
    const z = names.map((nm) => base.species[nm].z);
    const beam = names.indexOf(stage0.beam);
    if (beam < 0) throw new InputError(`stages.${k}: beam species ${stage0.beam} has no D model`);
    const { N, h, d, x, L_nm } = grid;
    const inventory = (a: Float64Array) => {
      let v = 0;
      for (let i = 0; i < N; i++) v += a[i] * h[i];
      return v;
    };
    // the closing species as the twin chooses it (largest inventory at the stage start, not the beam)
    const closingOf = (m: MemberState) => {
      let best = -1;
      let bestInv = -1;
      active.forEach((j, s) => {
        if (s === beam) return;
        const inv = inventory(m.dens[j]);
        if (inv > bestInv) {
          bestInv = inv;
          best = s;
        }
      });
      return best;
    };
    for (const m of members) {
      if (m.failed) continue;
      species.forEach((nm, j) => {
        if (!(nm in m.protocol.stages[k].D) && m.dens[j].some((v) => v > 1e-12))
          m.failed = memberFailureReason(
            new SolverError(`species ${nm} is present at the start of stage "${m.protocol.stages[k].name}" but the stage has no D model for it`, {
              stage: m.protocol.stages[k].name,
              species: nm,
            }),
          );
      });
    }
    const live = members.filter((m) => !m.failed);
    if (live.length === 0) return;
    const closing = closingOf(live[0]);
    for (const m of live) {
      const c = closingOf(m);
      if (c !== closing)
        m.failed = `webgpu engine: stage "${m.protocol.stages[k].name}" closes with ${names[c]} for this member but ${names[closing]} for the others (one layout per batch)`;
    }
    const M = members.length;
    // the reference shift zeroes ψ' at the cell nearest L/2 (deep in the bulk)
    let ib = 0;
    for (let i = 1; i < N; i++) if (Math.abs(x[i] - L_nm / 2) < Math.abs(x[ib] - L_nm / 2)) ib = i;
    const L = stageLayout(M, N, z, beam, closing, ib);
    const pipes = await this.pipelinesFor(L);

    // ---- host → GPU
    const prm = new Float32Array(PARAM_FIELDS.length * M);
    const st = new Float32Array(STATE_FIELDS.length * M);
    const wk = new Float32Array(L.workPerMember * M);
    const pool: number[] = [];
    const poolIndex = new Map<string, number>();
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
      const set = (f: keyof typeof P, v: number) => (prm[P[f] * M + j] = v);
      set('frontLin', (-psiU * d[0]) / L_nm);
      set('cpsi', psiU / L_nm);
      set('backLin', (psiU * d[N]) / L_nm);
      const cRes = p.front.c_res;
      set('cRes', cRes);
      set('Dres', makeDiffusivity(twinModel(stage.D[names[beam]], stage.T_K, this.K), stage.T_K).D(cRes) * M2_TO_NM2);
      set('qTarget', stopQ !== undefined ? stopQ / (zBeam * toAmp) : -1);
      set('stopT', stopT ?? -1);
      set('maxT', maxT);
      set('dt0', p.solver.dt0_s);
      set('dtMax', p.solver.dt_max_s);
      set('rtol', p.solver.rtol);
      set('atol', p.solver.atol);
      set('maxSteps', p.solver.max_steps);
      names.forEach((nm, s) => {
        const model = stage.D[nm];
        const key = `${stage.T_K}|${JSON.stringify(model)}`;
        let off = poolIndex.get(key);
        let len: number;
        if (off === undefined) {
          const t = lnDTable(model, stage.T_K, this.K);
          off = pool.length;
          poolIndex.set(key, off);
          for (const v of t) pool.push(v);
          len = t.length;
        } else len = model.model === 'constant' || model.model === 'arrhenius' ? 1 : model.model === 'table' ? model.theta.length : this.K;
        prm[(P.tabOff0 + 2 * s) * M + j] = off;
        prm[(P.tabK0 + 2 * s) * M + j] = len;
      });
      st[ST.status * M + j] = m.failed ? STATUS.skip : STATUS.running;
      st[ST.dt * M + j] = Math.min(p.solver.dt0_s, maxT);
      st[ST.lastFreeDt * M + j] = -1;
      for (let i = 0; i < N; i++) {
        for (let u = 0; u < L.U; u++) wk[(L.region.Y0 + i * L.m + u) * M + j] = m.dens[active[L.unknown[u]]][i];
        wk[(L.region.Y0 + i * L.m + L.U) * M + j] = 0; // ψ' = 0: the linear profile
      }
      return { stage, kT, psiU, toAmp, zBeam, stopQ, maxT, inv0: active.map((a) => inventory(m.dens[a])) };
    });
    const geo = geometryArray(h, d, x, L_nm);

    const mkBuf = (label: string, data: Float32Array, usage: number) => {
      const b = device.createBuffer({ label, size: Math.max(16, data.byteLength), usage: usage | BU_COPY_DST });
      device.queue.writeBuffer(b, 0, data);
      return b;
    };
    const bufs = await withErrorScope(
      device,
      () => ({
        prm: mkBuf('npp params', prm, BU_STORAGE),
        geo: mkBuf('npp grid', geo, BU_STORAGE),
        tab: mkBuf('npp D tables', Float32Array.from(pool), BU_STORAGE),
        st: mkBuf('npp status', st, BU_STORAGE | BU_COPY_SRC),
        wk: mkBuf('npp work', wk, BU_STORAGE | BU_COPY_SRC),
        cfg: mkBuf('npp batch size', new Float32Array(new Uint32Array([M, 0, 0, 0]).buffer), BU_UNIFORM),
      }),
      'uploading the ensemble state',
    );
    try {
      const bind = device.createBindGroup({
        layout: pipes.layout,
        entries: [bufs.prm, bufs.geo, bufs.tab, bufs.st, bufs.wk, bufs.cfg].map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      const groups = Math.ceil(M / this.wg);
      const dispatch = (pipeline: GPUComputePipeline, times: number) => {
        const enc = device.createCommandEncoder();
        const pass = enc.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bind);
        for (let b = 0; b < times; b++) pass.dispatchWorkgroups(groups);
        pass.end();
        device.queue.submit([enc.finish()]);
      };
      dispatch(pipes.init, 1);
      let status: Float32Array;
      for (;;) {
        if (opts.signal?.aborted) throw new GpuError('the webgpu run was aborted');
        dispatch(pipes.step, this.B);
        status = await readBuffer(device, bufs.st, Float32Array);
        let running = 0;
        for (let j = 0; j < M; j++) if (status[ST.status * M + j] === STATUS.running) running++;
        if (running === 0) break;
      }
      this.gpu.throwIfUncapturedErrors();
      // residuals of this stage's observations on the GPU, from the end state in the work buffer
      const stageObs = (req.observations ?? []).map((o, oi) => ({ o, oi })).filter(({ o }) => o.stage === k);
      const gpuRows: { oi: number; s: number; row: number }[] = [];
      let resOut: Float32Array | undefined;
      let RL: ResidualLayout | undefined;
      if (stageObs.length) {
        const specs: ResidualRowSpec[] = [];
        for (const { o, oi } of stageObs)
          o.species.forEach((sp, s) => {
            const a = names.indexOf(sp);
            if (a < 0) return; // not transported in this stage: its density is the stage's start, done on the host
            gpuRows.push({ oi, s, row: specs.length });
            specs.push({ op: ops[oi], active: a, target: o.target[s] });
          });
        if (specs.length) {
          RL = residualLayout(specs);
          resOut = await this.residualsOnGpu(L, RL, bufs.wk, M, !!req.keepModel);
        }
      }
      const y = await readBuffer(device, bufs.wk, Float32Array, { offset: L.region.Y0 * M * 4, size: L.n * M * 4 });
      members.forEach((m, j) => {
        if (m.failed) return;
        const I = info[j];
        const S_ = (f: keyof typeof ST) => status[ST[f] * M + j];
        const t = S_('tHi') + S_('tLo');
        const q = (S_('qHi') + S_('qLo')) * I.toAmp;
        const code = S_('status');
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
        // densities: unknowns from y, the closing species from Σ z n = 1
        const val = (i: number, r: number) => y[(i * L.m + r) * M + j];
        const nAll = active.map(() => new Float64Array(N));
        for (let i = 0; i < N; i++) {
          let rem = 1;
          for (let u = 0; u < L.U; u++) {
            const v = val(i, u);
            nAll[L.unknown[u]][i] = v;
            rem -= z[L.unknown[u]] * v;
          }
          nAll[closing][i] = rem / z[closing];
        }
        active.forEach((a, s) => m.dens[a].set(nAll[s]));
        const psi = Float64Array.from({ length: N }, (_, i) => val(i, L.U) + (I.psiU + S_('shift')) * (i === N - 1 ? d[N] / L_nm : 1 - x[i] / L_nm));
        const balance: StageResult['balance'] = {};
        names.forEach((nm, s) => {
          balance[nm] = { start: I.inv0[s], end: inventory(nAll[s]), inFront: S_(`crossF${s}` as keyof typeof ST), outBack: S_(`crossB${s}` as keyof typeof ST) };
        });
        // back current at the end state (the twin's last I_back_A), f64 on the host
        let jBack = 0;
        names.forEach((nm, s) => {
          const drive = (z[s] * psi[N - 1]) / d[N];
          if (drive > 0) {
            const Dm = makeDiffusivity(twinModel(I.stage.D[nm], I.stage.T_K, this.K), I.stage.T_K);
            jBack += z[s] * Dm.D(nAll[s][N - 1]) * M2_TO_NM2 * nAll[s][N - 1] * drive;
          }
        });
        const I_A = I.zBeam * S_('jFront') * I.toAmp;
        const density: Record<string, number[]> = {};
        species.forEach((nm, a) => (density[nm] = Array.from(m.dens[a])));
        const sr: StageResult = {
          name: I.stage.name,
          beam: I.stage.beam,
          duration_s: t,
          charge_C: q,
          final_current_A: I_A,
          depth_nm: Array.from(x),
          density,
          potential_V: Array.from(psi, (p) => p * I.kT),
          current: { t_s: [t], I_A: [I_A], I_back_A: [jBack * I.toAmp], Q_C: [q] },
          snapshots: [],
          balance,
          stats: { steps: S_('steps'), rejected: S_('rejected'), newtonIterations: S_('newtonIts'), factorizations: S_('facts') },
        };
        const bad = [t, q, I_A, ...psi].some((v) => !Number.isFinite(v)) || nAll.some((a) => a.some((v) => !Number.isFinite(v)));
        if (bad) {
          m.failed = memberFailureReason(new SolverError('non-finite value in the GPU result', { stage: I.stage.name, t_s: t }));
          return;
        }
        m.stages.push(memberStage(sr, m.protocol, k, req.profiles));
        for (const { o, oi } of stageObs) {
          // species computed on the GPU: its row's sum and model values; the others (not transported in this stage) here in f64
          const perSpecies: SpeciesResidual[] = o.species.map((sp, s) => {
            const g = gpuRows.find((r) => r.oi === oi && r.s === s);
            if (!g || !resOut || !RL) return speciesResidual(ops[oi], m.dens[species.indexOf(sp)], o.target[s]);
            const from = RL.rows + RL.modelOffset[g.row];
            const model = req.keepModel ? Array.from({ length: o.depth_nm.length }, (_, p) => resOut![(from + p) * M + j]) : [];
            return { sum: resOut[g.row * M + j], model };
          });
          const r = combineResidual(o, perSpecies, req.keepModel);
          if (!Number.isFinite(r.ssr)) {
            m.failed = memberFailureReason(new SolverError(`non-finite residual against ${o.label}`, { stage: I.stage.name, t_s: t }));
            return;
          }
          m.residuals[oi] = r;
        }
      });
    } finally {
      for (const b of Object.values(bufs)) b.destroy();
    }
  }

  /** Run shaders/residual.wgsl over the stage's end state: per (member, row) the sum of squares (and the model values). */
  private async residualsOnGpu(L: StageLayout, RL: ResidualLayout, wk: GPUBuffer, M: number, keepModel: boolean): Promise<Float32Array> {
    const device = this.gpu.device;
    const code = wgslPrelude(L) + residualPrelude() + this.opts.residualShaderSource!;
    const pipeline = await cachedPerDevice(residualCache, device, `${this.wg}\n${code}`, 'building residual.wgsl', async () => {
      const module = await compileModule(device, 'residual.wgsl', code);
      return device.createComputePipelineAsync({ label: 'residual', layout: 'auto', compute: { module, entryPoint: 'residual', constants: { WG: this.wg } } });
    });
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
        entries: [wk, bufs.rdesc, bufs.rdat, bufs.out, bufs.cfg].map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bind);
      pass.dispatchWorkgroups(Math.ceil(M / this.wg), RL.rows);
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
