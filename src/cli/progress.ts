/**
 * Progress on stderr for long runs, shared by `cait ensemble` and `cait fit`:
 * off a terminal a line at least every few seconds (ProgressLines), the time
 * left for the bar, and a warning with the member count and a memory
 * estimate before a very large sweep.
 */
import type { Protocol } from '../config/schema.js';
import { makeGrid } from '../solver/grid.js';
import type { ProfilesLevel } from '../ensemble/types.js';
import type { CliContext } from './common.js';

/** Seconds between progress lines off a terminal, at most. */
export const PROGRESS_EVERY_S = 5;

/** The heartbeat period: CAIT_PROGRESS_EVERY_S from the environment (seconds > 0), else PROGRESS_EVERY_S. */
export function progressEvery(ctx: CliContext): number {
  const v = Number(ctx.env.CAIT_PROGRESS_EVERY_S);
  return v > 0 ? v : PROGRESS_EVERY_S;
}

/** Time left at the present rate, as text (`12 s`, `3.4 min`, `2.1 h`), or `?` before anything finished. */
export function etaText(done: number, total: number, elapsed_s: number): string {
  if (!(done > 0) || !(elapsed_s > 0) || done >= total) return done >= total ? '0 s' : '?';
  const left = (elapsed_s * (total - done)) / done;
  return left < 90 ? `${Math.ceil(left)} s` : left < 5400 ? `${(left / 60).toFixed(1)} min` : `${(left / 3600).toFixed(1)} h`;
}

/**
 * Progress lines off a terminal: `line()` prints one; a heartbeat prints the
 * text of `heartbeat()` whenever nothing was printed for `every_s` seconds
 * (a slow member or a huge sweep never leaves a long silence). The timer
 * does not keep the process alive; `stop()` ends it.
 */
export class ProgressLines {
  private last = performance.now();
  private timer?: ReturnType<typeof setInterval>;
  private heartbeat?: () => string | undefined;

  constructor(
    private readonly ctx: CliContext,
    private readonly every_s = PROGRESS_EVERY_S,
  ) {}

  line(text: string): void {
    this.ctx.stderr(text.endsWith('\n') ? text : `${text}\n`);
    this.last = performance.now();
  }

  /** What a heartbeat prints (undefined: nothing); starts the heartbeat. */
  beat(text: () => string | undefined): void {
    this.heartbeat = text;
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (performance.now() - this.last < this.every_s * 1000) return;
      const t = this.heartbeat?.();
      if (t) this.line(t);
    }, Math.max(100, (this.every_s * 1000) / 5));
    (this.timer as { unref?: () => void }).unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** Members from which a sweep is "very large" (a warning first). */
export const LARGE_SWEEP_MEMBERS = 100_000;
/** Estimated bytes from which a sweep is very large. */
export const LARGE_SWEEP_BYTES = 1e9;

/**
 * Bytes of a sweep's result file, estimated per member from the protocol:
 * the scalars of every stage (~400 B per species and stage, as measured on
 * the paper preset: ~2.5 kB per member with --profiles none) and, with
 * profiles, ~20 characters per number of the final profiles (cells ×
 * (species + 2) per stage; `all` adds the current record and snapshots, ×1.5).
 * The run holds about three times that in memory (the members as objects,
 * then the JSON text).
 */
export function sweepBytesEstimate(base: Protocol, members: number, profiles: ProfilesLevel): { file: number; memory: number } {
  const stages = base.stages.length;
  const species = Object.keys(base.species).length;
  let perMember = 400 + stages * species * 400;
  if (profiles !== 'none') {
    let cells = 1000;
    try {
      cells = makeGrid(base.sample.thickness_m * 1e9, base.grid.h_fine_nm, base.grid.x_fine_nm, base.grid.growth).N;
    } catch {
      // an impossible grid fails later with its own message
    }
    perMember += stages * cells * (species + 2) * 20 * (profiles === 'all' ? 1.5 : 1);
  }
  const file = perMember * members;
  return { file, memory: 3 * file };
}

function bytesText(b: number): string {
  return b >= 1e9 ? `${(b / 1e9).toFixed(1)} GB` : b >= 1e6 ? `${Math.round(b / 1e6)} MB` : `${Math.round(b / 1e3)} kB`;
}

/** Before a very large sweep: one warning line with the member count and what it will take. */
export function warnLargeSweep(base: Protocol, members: number, profiles: ProfilesLevel, ctx: CliContext): void {
  const est = sweepBytesEstimate(base, members, profiles);
  if (members < LARGE_SWEEP_MEMBERS && est.memory < LARGE_SWEEP_BYTES) return;
  ctx.stderr(
    `cait: warning: a very large sweep: ${members.toLocaleString('en-US')} members; with --profiles ${profiles} about ${bytesText(est.memory)} of memory and a ${bytesText(est.file)} result file${profiles === 'none' ? '' : ' (--profiles none keeps only the scalars)'}\n`,
  );
}
