/**
 * How every engine records its finished members and reports progress
 * (EnsembleProgress): one {@link ProgressTracker} per run holds the results
 * in member order, counts done and failed, keeps how many members run each
 * stage, and calls onProgress — with `finished` once per member. Engines
 * that follow each member say where it is (`started`, `stage`); an engine
 * that only knows how many members run a stage (the WebGPU engine: one
 * status word per submit) sets the counts (`setRunning`).
 * Platform-neutral (no Node imports).
 *
 * @example
 * const tr = new ProgressTracker(req, opts.onProgress);
 * tr.started(0);
 * tr.stage(0, 1);
 * tr.finish(failedMember(0, req.values[0], 'the reason', cells, 0.5));
 * return tr.result('cpu', adapter);
 */
import { clockMs } from '../core/clock.js';
import type { EnsembleProgress, EnsembleRequest, EnsembleResult, MemberResult } from './types.js';

export interface ProgressTrackerOptions {
  /** minimum wall time between the reports of tick(), ms (default 250) */
  intervalMs?: number;
  /** clock, ms (default performance.now / Date.now) */
  now?: () => number;
}

export class ProgressTracker {
  /** one per request member, in request order (filled by finish) */
  readonly results: MemberResult[];
  readonly total: number;
  done = 0;
  failed = 0;
  private readonly stageCount: number;
  /** members now running each stage */
  private readonly counts: number[];
  /** member → the stage it runs (members followed one by one) */
  private readonly at = new Map<number, number>();
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly t0: number;
  private last = -Infinity;

  constructor(
    req: Pick<EnsembleRequest, 'base' | 'members'>,
    private readonly onProgress?: (p: EnsembleProgress) => void,
    opts: ProgressTrackerOptions = {},
  ) {
    this.total = req.members.length;
    this.results = new Array(this.total);
    this.stageCount = req.base.stages.length;
    this.counts = new Array<number>(this.stageCount).fill(0);
    this.now = opts.now ?? clockMs;
    this.intervalMs = opts.intervalMs ?? 250;
    this.t0 = this.now();
  }

  /** wall time since the run began, s */
  elapsed(): number {
    return (this.now() - this.t0) / 1000;
  }

  /** Member `index` started (on stage `stage`, default the first). */
  started(index: number, stage = 0): void {
    this.move(index, stage);
  }

  /** Member `index` now runs stage `stage`; returns whether that stage is new for it. */
  stage(index: number, stage: number): boolean {
    const was = this.at.get(index);
    // a late report of a member already finished (or never started) changes nothing
    if (was === undefined || was === stage) return false;
    this.move(index, stage);
    return true;
  }

  /** How many members run each stage (for an engine that does not follow members one by one). */
  setRunning(counts: readonly number[]): void {
    for (let k = 0; k < this.stageCount; k++) this.counts[k] = Math.max(0, counts[k] ?? 0);
  }

  /** A progress event (without `finished`). */
  report(): void {
    this.emit();
  }

  /** A progress event, when `intervalMs` passed since the last one. */
  tick(): void {
    if (this.now() - this.last >= this.intervalMs) this.emit();
  }

  /**
   * Record a finished member (ok or failed): it stops running, counts as
   * done (and failed), and a progress event reports it in `finished`.
   */
  finish(r: MemberResult): void {
    this.leave(r.index);
    this.results[r.index] = r;
    this.done++;
    if (r.status === 'failed') this.failed++;
    const f: NonNullable<EnsembleProgress['finished']> = { index: r.index, status: r.status };
    if (r.reason !== undefined) f.reason = r.reason;
    this.emit(f);
  }

  /** The run's result: every member recorded, in request order. */
  result(engine: string, adapter: string, wall_s = this.elapsed()): EnsembleResult {
    return { engine, adapter, members: this.results, wall_s };
  }

  private move(index: number, stage: number): void {
    this.leave(index);
    this.at.set(index, stage);
    if (stage >= 0 && stage < this.stageCount) this.counts[stage]++;
  }

  private leave(index: number): void {
    const s = this.at.get(index);
    if (s === undefined) return;
    this.at.delete(index);
    if (s >= 0 && s < this.stageCount) this.counts[s] = Math.max(0, this.counts[s] - 1);
  }

  private emit(finished?: EnsembleProgress['finished']): void {
    this.last = this.now();
    if (!this.onProgress) return;
    const p: EnsembleProgress = { done: this.done, total: this.total, failed: this.failed, elapsed_s: this.elapsed(), runningByStage: [...this.counts] };
    if (finished) p.finished = finished;
    this.onProgress(p);
  }
}
