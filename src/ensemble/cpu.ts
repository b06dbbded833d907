/**
 * The CPU ensemble engine (Node only): the f64 solver on all cores, one
 * member per worker thread at a time (members are handed out as threads
 * become free, so slow and fast members balance), or in this thread one
 * after the other (`serial`: tests, debugging, a stand-in solver).
 *
 * Each member runs {@link runMember}: a member whose solve throws (step
 * control gives up, a stage cannot deliver its charge) or whose result holds
 * NaN/Inf is `failed` with a reason and the others complete. A worker thread
 * that dies while running a member (out of memory, a crash) fails that
 * member and is replaced. The run itself rejects only when no worker thread
 * can be started or it is aborted.
 *
 * The worker script is the compiled `cpu-worker.js` next to this module
 * (`dist/src/ensemble/`); when this module runs from its TypeScript source
 * (vitest), the compiled one of `npm run build` is used.
 *
 * @example
 * const engine = new CpuEngine({ threads: 4 });
 * const res = await engine.run(req, { onProgress: (p) => console.error(`${p.done}/${p.total}`) });
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism, cpus } from 'node:os';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Protocol } from '../config/schema.js';
import { SolverError } from '../solver/types.js';
import { RunAbortedError, throwIfAborted } from '../core/errors.js';
import { failedMember, runMember, type SimulateFn } from './member.js';
import { ProgressTracker } from './progress.js';
import type { Observation } from '../observe/observe.js';
import type { SummaryOptions } from './summary.js';
import type {
  EnsembleEngine,
  EnsembleRequest,
  EnsembleResult,
  EnsembleRunOptions,
  MemberResult,
  ProfilesLevel,
} from './types.js';

/** What an abort of this engine's run names. */
const ABORTED = 'the cpu run';

/** Main thread → worker: run one member. */
export interface WorkerTask {
  index: number;
  protocol: Protocol;
  values: number[];
  profiles: ProfilesLevel;
  progressIntervalMs: number;
  summary?: SummaryOptions;
  observations?: Observation[];
  keepModel?: boolean;
}

/** Worker → main thread. */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'stage'; index: number; stage: number; fraction: number }
  | { type: 'done'; result: MemberResult };

export interface CpuEngineOptions {
  /** worker threads (default: os.availableParallelism()); never more than there are members */
  threads?: number;
  /** `threads` (default) or `serial`: in this thread, one member after the other */
  mode?: 'threads' | 'serial';
  /** serial mode only: the solver (default: the f64 solver) */
  simulate?: SimulateFn;
  /** the compiled worker script (default: see {@link defaultWorkerUrl}) */
  workerUrl?: URL;
  /** minimum wall time between stage progress reports of one member, ms (default 250) */
  progressIntervalMs?: number;
  summary?: SummaryOptions;
}

/** The worker script: cpu-worker.js beside this module, else (running from src/*.ts) the one in dist/. */
export function defaultWorkerUrl(): URL {
  const sibling = new URL('./cpu-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(sibling))) return sibling;
  if (import.meta.url.endsWith('.ts')) {
    const built = new URL('../../dist/src/ensemble/cpu-worker.js', import.meta.url);
    if (existsSync(fileURLToPath(built))) return built;
    throw new Error(`cpu engine: no compiled worker script (${fileURLToPath(built)}); run \`npm run build\` first`);
  }
  throw new Error(`cpu engine: the worker script ${fileURLToPath(sibling)} is missing`);
}

function cpuModel(): string {
  return (cpus()[0]?.model ?? 'unknown CPU').replace(/\s+/g, ' ').trim();
}

export class CpuEngine implements EnsembleEngine {
  readonly name = 'cpu';
  readonly adapter: string;
  /** configured worker threads (1 in serial mode) */
  readonly threads: number;
  readonly mode: 'threads' | 'serial';

  constructor(private readonly opts: CpuEngineOptions = {}) {
    this.mode = opts.mode ?? 'threads';
    if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads >= 1))
      throw new Error(`cpu engine: threads must be an integer >= 1 (got ${opts.threads})`);
    this.threads = this.mode === 'serial' ? 1 : (opts.threads ?? availableParallelism());
    const cores = availableParallelism();
    this.adapter =
      this.mode === 'serial'
        ? `f64 solver, serial in the main thread, ${cpuModel()} (${cores} cores)`
        : `f64 solver, ${this.threads} worker thread${this.threads === 1 ? '' : 's'}, ${cpuModel()} (${cores} cores)`;
  }

  /**
   * Nothing to release: the engine keeps no worker pool between runs (a
   * run's threads end with it, also when it fails or is aborted).
   */
  close(): void {}

  run(req: EnsembleRequest, opts: EnsembleRunOptions = {}): Promise<EnsembleResult> {
    if (req.members.length !== req.values.length)
      return Promise.reject(new Error(`cpu engine: ${req.members.length} members but ${req.values.length} rows of values`));
    return this.mode === 'serial' ? this.runSerial(req, opts) : this.runThreads(req, opts);
  }

  private tracker(req: EnsembleRequest, opts: EnsembleRunOptions): ProgressTracker {
    return new ProgressTracker(req, opts.onProgress, { intervalMs: 250 });
  }

  /** A member's stage report: a progress event when its stage changed, else at most every 250 ms. */
  private static stage(tr: ProgressTracker, index: number, stage: number): void {
    if (tr.stage(index, stage)) tr.report();
    else tr.tick();
  }

  private async runSerial(req: EnsembleRequest, opts: EnsembleRunOptions): Promise<EnsembleResult> {
    const tr = this.tracker(req, opts);
    for (let i = 0; i < tr.total; i++) {
      throwIfAborted(opts.signal, ABORTED);
      tr.started(i);
      const r = runMember(i, req.members[i], req.values[i], {
        profiles: req.profiles,
        simulate: this.opts.simulate,
        progressIntervalMs: this.opts.progressIntervalMs,
        summary: this.opts.summary,
        observations: req.observations,
        keepModel: req.keepModel,
        onStage: (stage) => CpuEngine.stage(tr, i, stage),
      });
      tr.finish(r);
      // let timers, I/O and an abort get a turn between members
      await new Promise<void>((resolve) => setTimeout(resolve, 0));
    }
    throwIfAborted(opts.signal, ABORTED);
    return tr.result(this.name, this.adapter);
  }

  private runThreads(req: EnsembleRequest, opts: EnsembleRunOptions): Promise<EnsembleResult> {
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(new RunAbortedError(ABORTED, signal.reason));
    const total = req.members.length;
    const tr = this.tracker(req, opts);
    if (total === 0) return Promise.resolve(tr.result(this.name, this.adapter, 0));
    let url: URL;
    try {
      url = this.opts.workerUrl ?? defaultWorkerUrl();
    } catch (e) {
      return Promise.reject(e);
    }
    const nThreads = Math.min(this.threads, total);
    const progressIntervalMs = this.opts.progressIntervalMs ?? 250;

    return new Promise<EnsembleResult>((resolve, reject) => {
      const workers = new Set<Worker>();
      let next = 0;
      let settled = false;
      const onAbort = () => settle(new RunAbortedError(ABORTED, signal?.reason));
      const settle = (err?: unknown) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        for (const w of workers) void w.terminate();
        workers.clear();
        if (err !== undefined) reject(err);
        else resolve(tr.result(this.name, this.adapter));
      };
      signal?.addEventListener('abort', onAbort, { once: true });

      const spawn = () => {
        const w = new Worker(url);
        workers.add(w);
        let ready = false;
        let current = -1;
        let gone = false;
        const feed = () => {
          if (settled) return;
          if (next >= total) {
            gone = true;
            workers.delete(w);
            void w.terminate();
            if (tr.done === total) settle();
            return;
          }
          current = next++;
          tr.started(current);
          const task: WorkerTask = {
            index: current,
            protocol: req.members[current],
            values: req.values[current],
            profiles: req.profiles,
            progressIntervalMs,
          };
          if (this.opts.summary) task.summary = this.opts.summary;
          if (req.observations?.length) {
            task.observations = req.observations;
            task.keepModel = !!req.keepModel;
          }
          w.postMessage(task);
        };
        const died = (why: string) => {
          if (gone || settled) return;
          gone = true;
          workers.delete(w);
          if (!ready) {
            settle(new SolverError(`cpu engine: a worker thread could not start (${why})`));
            return;
          }
          if (current >= 0) {
            const i = current;
            current = -1;
            tr.finish(failedMember(i, req.values[i], `the worker thread running this member died (${why})`, 0, 0));
          }
          if (tr.done === total) settle();
          else if (next < total) spawn();
        };
        w.on('message', (m: WorkerMessage) => {
          if (settled) return;
          if (m.type === 'ready') {
            ready = true;
            feed();
          } else if (m.type === 'stage') CpuEngine.stage(tr, m.index, m.stage);
          else if (m.type === 'done') {
            current = -1;
            tr.finish(m.result);
            if (tr.done === total) settle();
            else feed();
          }
        });
        w.on('error', (e) => died(e instanceof Error ? `${e.name}: ${e.message}` : String(e)));
        w.on('exit', (code) => died(`exit code ${code}`));
      };
      for (let k = 0; k < nThreads; k++) spawn();
    });
  }
}
