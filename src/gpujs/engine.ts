/**
 * The gpu.js ensemble engine: the fallback where WebGPU is missing (browsers
 * with WebGL2 only; Node without a WebGPU adapter, where gpu.js runs its
 * WebAssembly kernels). Same scheme, same requests and same results as the
 * WebGPU engine (src/gpu/engine.ts); its f64 twin is the same
 * `simulate(tabulateProtocol(P with solver.formulation = 'quasineutral', K))`.
 *
 * What runs where (see src/gpujs/kernel.ts and src/gpujs/stage.ts):
 * - gpu.js, f32, one thread per (member, face, species): D(n) from the ln D
 *   tables, the Bernoulli function, the Scharfetter–Gummel flux and its
 *   derivatives — every transcendental of the scheme;
 * - host, f64, per member: the differences fed to the kernel, the twin's
 *   residual and band-matrix rows summed from the fluxes, the banded LU with
 *   partial pivoting, Newton, TR-BDF2, step control and charge landing.
 * Each round gathers the flux requests of every running member into one
 * kernel call (per species count), so members keep their own Δt.
 *
 * Platform-neutral (no Node imports): in a page pass `{ mode: 'webgl2' }`
 * (or a GPU of your own); in Node gpu.js picks its WebAssembly backend.
 *
 * @example
 * const engine = new GpuJsEngine({ mode: 'webgl2' });
 * const res = await engine.run(request, { onProgress: (p) => console.log(`${p.done}/${p.total}`) });
 * engine.adapter; // "gpu.js 2.24.1 (webgl2)"
 */
import { GPU } from 'gpu.js';
import type { DModel, Protocol } from '../config/schema.js';
import { InputError, throwIfAborted } from '../core/errors.js';
import { TABLE_POINTS, tabulateProtocol } from '../physics/tabulate.js';
import { unmodelledSpecies } from '../solver/simulate.js';
import type { Grid } from '../solver/grid.js';
import { SolverError, type ProtocolResult, type StageResult } from '../solver/types.js';
import { failedMember, memberFailureReason, memberFromResult } from '../ensemble/member.js';
import { ProgressTracker } from '../ensemble/progress.js';
import type { EnsembleEngine, EnsembleRequest, EnsembleResult, EnsembleRunOptions } from '../ensemble/types.js';
import { checkFloat32Request } from '../ensemble/float32.js';
import { FluxKernels, GPUJS_VERSION, lnDTable } from './kernel.js';
import { GpuJsStage, type FluxRequest } from './stage.js';

/** The gpu.js modes the engine takes: 'gpu' lets gpu.js pick the best available backend. */
export const GPUJS_MODES = ['gpu', 'webgl2', 'webgl', 'headlessgl', 'webasm', 'cpu'] as const;

/** The modes that work in this environment (gpu.js's own support checks). */
export function gpujsModes(): (typeof GPUJS_MODES)[number][] {
  const ok: Record<(typeof GPUJS_MODES)[number], boolean> = {
    gpu: true,
    webgl2: GPU.isWebGL2Supported,
    webgl: GPU.isWebGLSupported,
    headlessgl: GPU.isHeadlessGLSupported,
    webasm: GPU.isWebAssemblySupported,
    cpu: true,
  };
  return GPUJS_MODES.filter((m) => ok[m]);
}

export interface GpuJsEngineOptions {
  /** gpu.js mode (GPUJS_MODES; default 'gpu': gpu.js picks, in Node without headless-gl its WebAssembly kernels) */
  mode?: string;
  /** a GPU instance of your own (its mode wins) */
  gpu?: GPU;
  /** D table points over θ ∈ [0, 1] (default TABLE_POINTS); the f64 twin must use the same */
  tablePoints?: number;
  /** most members advancing at once (default 1024; each holds its f64 state and band matrix on the host) */
  maxLiveMembers?: number;
  /** most (member, face, species) elements per kernel call (default 2^20; more members go in further calls) */
  maxElementsPerCall?: number;
}

/** What an abort of this engine's run names. */
const ABORTED = 'the gpujs run';

/** What a member generator returns: its stages, or why it failed. */
type MemberOutcome = { stages: StageResult[] };

interface Running {
  index: number;
  protocol: Protocol;
  gen: Generator<FluxRequest, MemberOutcome, void>;
  pending?: FluxRequest;
  t0: number;
}

export class GpuJsEngine implements EnsembleEngine {
  readonly name = 'gpujs';
  readonly gpu: GPU;
  readonly kernels: FluxKernels;
  private readonly K: number;
  private readonly maxLive: number;
  private readonly ownGpu: boolean;
  private readonly maxElements: number;
  private readonly tableCache = new Map<string, Float32Array>();

  constructor(opts: GpuJsEngineOptions = {}) {
    if (!opts.gpu && opts.mode !== undefined) {
      const available = gpujsModes();
      if (!GPUJS_MODES.includes(opts.mode as (typeof GPUJS_MODES)[number]))
        throw new InputError(`gpujs engine: unknown gpu.js mode '${opts.mode}'; use one of ${GPUJS_MODES.join(', ')}`);
      if (!available.includes(opts.mode as (typeof GPUJS_MODES)[number]))
        throw new InputError(`gpujs engine: gpu.js mode '${opts.mode}' is not available here (available: ${available.join(', ')})`);
    }
    this.ownGpu = !opts.gpu;
    this.gpu = opts.gpu ?? (opts.mode ? new GPU({ mode: opts.mode as never }) : new GPU());
    this.kernels = new FluxKernels(this.gpu);
    this.K = opts.tablePoints ?? TABLE_POINTS;
    this.maxLive = Math.max(1, opts.maxLiveMembers ?? 1024);
    this.maxElements = Math.max(1, opts.maxElementsPerCall ?? 1 << 20);
  }

  /** "gpu.js 2.24.1 (webasm)": the backend that ran the kernels (before a run: the one gpu.js chose). */
  get adapter(): string {
    return `gpu.js ${GPUJS_VERSION} (${this.kernels.mode})`;
  }

  /** Checks a request can run here; returns the shared grid. Throws InputError naming what varies or is unsupported. */
  check(req: EnsembleRequest): Grid {
    return checkFloat32Request(req, this.name);
  }

  /** ln D (nm²/s) table of a model of the twin's (tabulated) protocol: K points, or 1 for a constant D. Shared between members. */
  private table(model: DModel, T_K: number): Float32Array {
    const key = `${T_K}|${JSON.stringify(model)}`;
    let t = this.tableCache.get(key);
    if (!t) this.tableCache.set(key, (t = lnDTable(model, T_K)));
    return t;
  }

  /** The twin's protocol of a member: quasi-neutral, every D model tabulated on K points. */
  twinProtocol(p: Protocol): Protocol {
    const q = structuredClone(p);
    q.solver.formulation = 'quasineutral';
    return tabulateProtocol(q, this.K);
  }

  /** All stages of one member, yielding its flux requests. */
  private *member(m: Running, grid: Grid, onStage: (k: number) => void): Generator<FluxRequest, MemberOutcome, void> {
    const twin = this.twinProtocol(m.protocol);
    const species = Object.keys(twin.species);
    const dens = species.map((nm) => new Float64Array(grid.N).fill(twin.species[nm].initial));
    const stages: StageResult[] = [];
    for (let k = 0; k < twin.stages.length; k++) {
      onStage(k);
      const stage = twin.stages[k];
      const absent = unmodelledSpecies(stage, species, (j) => dens[j].reduce((a, v) => Math.max(a, v), 0));
      if (absent) throw absent;
      const active = species.filter((nm) => nm in stage.D);
      const tables = active.map((nm) => this.table(stage.D[nm], stage.T_K));
      const runner = new GpuJsStage(twin, stage, grid, species, dens, tables);
      stages.push(yield* runner.run(dens));
    }
    return { stages };
  }

  async run(req: EnsembleRequest, opts: EnsembleRunOptions = {}): Promise<EnsembleResult> {
    const t0 = now();
    const grid = this.check(req);
    const total = req.members.length;
    const invd = Float64Array.from(grid.d, (d) => 1 / d);
    const gridInfo: ProtocolResult['grid'] = {
      cells: grid.N,
      h_min_nm: Math.min(...grid.h),
      h_max_nm: Math.max(...grid.h),
      faces_nm: Array.from(grid.faces),
    };
    // progress: a report at least every second, and one per finished member
    const tr = new ProgressTracker(req, opts.onProgress, { intervalMs: 1000 });
    let running: Running[] = [];
    const finish = (m: Running, outcome: { stages: StageResult[] } | { reason: string }) => {
      const values = req.values[m.index] ?? [];
      const wall_s = () => (now() - m.t0) / 1000;
      tr.finish(
        'reason' in outcome
          ? failedMember(m.index, values, outcome.reason, grid.N, wall_s())
          : memberFromResult(m.index, m.protocol, values, { species: Object.keys(m.protocol.species), grid: gridInfo, stages: outcome.stages }, { profiles: req.profiles, observations: req.observations, keepModel: req.keepModel, wall_s }),
      );
    };
    const advance = (m: Running) => {
      try {
        const r = m.gen.next();
        if (r.done) {
          m.pending = undefined;
          finish(m, r.value);
        } else m.pending = r.value;
      } catch (e) {
        m.pending = undefined;
        finish(m, { reason: memberFailureReason(e) });
      }
    };
    // a sliding window of live members (each holds its f64 band matrix and state): a finished one makes room for the next
    let next = 0;
    const admit = () => {
      let live = running.filter((r) => r.pending).length;
      while (next < total && live < this.maxLive) {
        const m: Running = { index: next, protocol: req.members[next], t0: now(), gen: undefined as never };
        next++;
        tr.started(m.index);
        m.gen = this.member(m, grid, (k) => tr.stage(m.index, k));
        running.push(m);
        advance(m);
        if (m.pending) live++;
      }
    };
    admit();
    let lastYield = now();
    for (;;) {
      throwIfAborted(opts.signal, ABORTED);
      const live = running.filter((m) => m.pending);
      if (live.length === 0) break;
      // one kernel call per species count (members in different stages may differ)
      const groups = new Map<string, Running[]>();
      for (const m of live) {
        const key = `${m.pending!.S}|${m.pending!.F}`;
        let g = groups.get(key);
        if (!g) groups.set(key, (g = []));
        g.push(m);
      }
      for (const g of groups.values()) {
        const { S, F } = g[0].pending!;
        // at most maxElementsPerCall (member, face, species) elements per call: bounds the output texture and the readback
        const per = Math.max(1, Math.floor(this.maxElements / (S * F)));
        for (let a = 0; a < g.length; a += per) {
          const part = g.slice(a, a + per);
          let outs: Float32Array[];
          try {
            outs = this.kernels.evaluate({ S, F, inputs: part.map((m) => m.pending!.inputs), tables: part.map((m) => m.pending!.tables), invd });
          } catch (e) {
            // the engine itself failed (no member's fault): the run rejects, naming the engine and the backend
            throw new SolverError(`gpujs engine: the flux kernel failed on ${this.adapter}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
          }
          part.forEach((m, j) => (m.pending!.out = outs[j]));
        }
      }
      for (const m of live) advance(m);
      running = running.filter((m) => m.pending);
      admit();
      // let timers, progress handlers and an abort get a turn; a progress event at least every second
      if (now() - lastYield > 50) {
        await new Promise((r) => setTimeout(r, 0));
        lastYield = now();
      }
      tr.tick();
    }
    throwIfAborted(opts.signal, ABORTED);
    return tr.result(this.name, this.adapter, (now() - t0) / 1000);
  }

  private closed = false;

  /** Releases gpu.js's kernels (and the GPU instance if this engine made it; one passed in stays its owner's). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.kernels.destroy();
    if (this.ownGpu) void this.gpu.destroy()?.catch?.(() => {});
  }
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());
