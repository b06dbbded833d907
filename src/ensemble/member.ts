/**
 * One member of an ensemble with the f64 solver: simulate, check that every
 * number is finite, summarise each stage and keep the profiles the request
 * asks for. A solver failure or a non-finite value makes the member
 * `failed` with a reason; nothing is thrown. Shared by the CPU engine's
 * worker threads and its in-process (serial) mode; imports nothing from Node.
 *
 * @example
 * const m = runMember(0, getPreset('quick'), [], { profiles: 'none' });
 * m.status;                  // 'ok'
 * m.stages[0].front_nm.Li;   // 4.06 nm
 */
import { fmtNum } from '../core/format.js';
import { clockMs } from '../core/clock.js';
import type { Protocol } from '../config/schema.js';
import { gridOf, simulate as f64Simulate } from '../solver/simulate.js';
import type { ProtocolResult, RunOptions, StageResult } from '../solver/types.js';
import { summarizeStage, type SummaryOptions } from './summary.js';
import type { MemberResult, MemberStage, ProfilesLevel } from './types.js';
import { observationOperator, observationResidual, type Observation, type ObservationResidual } from '../observe/observe.js';

export type SimulateFn = (protocol: Protocol, opts?: RunOptions) => ProtocolResult;

export interface MemberRunOptions {
  profiles: ProfilesLevel;
  /** the solver (default: the f64 solver of src/solver/simulate.ts) */
  simulate?: SimulateFn;
  /** called as the member advances: stage index (0-based) and progress within it (0..1) */
  onStage?(stage: number, fraction: number): void;
  /** minimum wall time between onStage calls, ms (default 250) */
  progressIntervalMs?: number;
  summary?: SummaryOptions;
  /** clock for wall_s, ms (default performance.now / Date.now) */
  now?: () => number;
  /** measured profiles: the member's residual against each (src/observe/observe.ts) */
  observations?: readonly Observation[];
  /** with observations: keep the model at the measured depths */
  keepModel?: boolean;
}



/**
 * One line for an error thrown while a member ran: a SolverError's message
 * with where it happened (`... (stage "stage 2 (Cs+)", t = 12.5 s, depth 80.2 nm, species Cs)`);
 * any other error as `Name: message`.
 */
export function memberFailureReason(e: unknown): string {
  if (!(e instanceof Error)) return String(e).replace(/\s*\n\s*/g, ' ').trim();
  const msg = e.message.replace(/\s*\n\s*/g, ' ').trim();
  if (e.name === 'SolverError') {
    const w = (e as Error & { where?: { stage?: string; t_s?: number; depth_nm?: number; species?: string } }).where ?? {};
    const parts: string[] = [];
    if (w.stage !== undefined) parts.push(`stage ${JSON.stringify(w.stage)}`);
    if (w.t_s !== undefined) parts.push(`t = ${fmtNum(w.t_s)} s`);
    if (w.depth_nm !== undefined) parts.push(`depth ${fmtNum(w.depth_nm)} nm`);
    if (w.species !== undefined) parts.push(`species ${w.species}`);
    return parts.length ? `${msg} (${parts.join(', ')})` : msg;
  }
  return `${e.name}: ${msg}`;
}

function firstBad(a: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return i;
  return -1;
}

/**
 * Where a run holds a NaN or ±Infinity, as a reason (`non-finite value NaN
 * in stage 2 "stage 2 (Cs+)": density of Rb at depth 12.3 nm`); undefined
 * when every number is finite. Scans scalars, profiles, potential, current
 * record, snapshots and balance.
 */
export function nonFiniteReason(result: ProtocolResult): string | undefined {
  for (let k = 0; k < result.stages.length; k++) {
    const st = result.stages[k];
    const where = `in stage ${k + 1} ${JSON.stringify(st.name)}`;
    const bad = (what: string, v: number) => `non-finite value ${v} ${where}: ${what}`;
    for (const key of ['duration_s', 'charge_C', 'final_current_A'] as const)
      if (!Number.isFinite(st[key])) return bad(key, st[key]);
    const profile = (what: string, a: ArrayLike<number>): string | undefined => {
      const i = firstBad(a);
      if (i < 0) return undefined;
      const x = st.depth_nm[i];
      return bad(`${what}${x !== undefined && Number.isFinite(x) ? ` at depth ${fmtNum(x)} nm` : ` at cell ${i}`}`, a[i]);
    };
    let r = profile('depth_nm', st.depth_nm);
    if (r) return r;
    for (const [s, n] of Object.entries(st.density)) if ((r = profile(`density of ${s}`, n))) return r;
    if ((r = profile('potential_V', st.potential_V))) return r;
    for (const key of ['t_s', 'I_A', 'I_back_A', 'Q_C'] as const) {
      const a = st.current[key];
      const i = firstBad(a);
      if (i >= 0) return bad(`current record ${key} at entry ${i} (t = ${fmtNum(st.current.t_s[i])} s)`, a[i]);
    }
    for (const snap of st.snapshots)
      for (const [s, n] of Object.entries(snap.density))
        if ((r = profile(`snapshot at t = ${fmtNum(snap.t_s)} s, density of ${s}`, n))) return r;
    for (const [s, b] of Object.entries(st.balance))
      for (const [key, v] of Object.entries(b)) if (!Number.isFinite(v)) return bad(`balance of ${s}, ${key}`, v);
  }
  return undefined;
}

/** A stage as an ensemble keeps it: the summary, stats and balance, plus the profiles of `level`. */
export function memberStage(st: StageResult, protocol: Protocol, k: number, level: ProfilesLevel, opts?: SummaryOptions): MemberStage {
  const out: MemberStage = { ...summarizeStage(st, protocol, k, opts), stats: { ...st.stats }, balance: st.balance };
  if (level === 'final' || level === 'all') {
    out.depth_nm = Array.from(st.depth_nm);
    const density: Record<string, number[]> = {};
    for (const s of Object.keys(protocol.species))
      density[s] = st.density[s] ? Array.from(st.density[s]) : new Array<number>(st.depth_nm.length).fill(0);
    out.density = density;
    out.potential_V = Array.from(st.potential_V);
  }
  if (level === 'all') {
    out.current = {
      t_s: Array.from(st.current.t_s),
      I_A: Array.from(st.current.I_A),
      I_back_A: Array.from(st.current.I_back_A),
      Q_C: Array.from(st.current.Q_C),
    };
    out.snapshots = st.snapshots;
  }
  return out;
}

/**
 * Run member `index` (its protocol and its values of the request's
 * parameters). Never throws for a failing member: a thrown error (a
 * SolverError when the step control gives up, a stage that cannot deliver
 * its charge, ...) or a non-finite number in the result gives status
 * `failed` with a reason.
 */
export function runMember(index: number, protocol: Protocol, values: readonly number[], opts: MemberRunOptions): MemberResult {
  const now = opts.now ?? clockMs;
  const t0 = now();
  const sim = opts.simulate ?? f64Simulate;
  let gridCells = 0;
  try {
    gridCells = gridOf(protocol).N;
  } catch {
    /* the solver will say what is wrong with the grid */
  }
  const wall = () => (now() - t0) / 1000;
  let result: ProtocolResult;
  try {
    const every = opts.progressIntervalMs ?? 250;
    result = sim(protocol, {
      progressIntervalMs: every,
      onProgress: opts.onStage ? (p) => opts.onStage!(p.stageIndex, p.fraction) : undefined,
    });
  } catch (e) {
    return failedMember(index, values, memberFailureReason(e), gridCells, wall());
  }
  return memberFromResult(index, protocol, values, result, { ...opts, wall_s: wall });
}

/** A failed member: its reason, no stages. */
export function failedMember(index: number, values: readonly number[], reason: string, cells: number, wall_s: number): MemberResult {
  return { index, values: [...values], status: 'failed', reason, cells, stages: [], wall_s };
}

/** An ok member: its stages, and its residuals when the request has observations. */
export function okMember(index: number, values: readonly number[], stages: MemberStage[], cells: number, wall_s: number, residuals?: ObservationResidual[]): MemberResult {
  const out: MemberResult = { index, values: [...values], status: 'ok', cells, stages, wall_s };
  if (residuals) out.residuals = residuals;
  return out;
}

/**
 * The member of a finished solve (the f64 solver's, the gpu.js engine's):
 * `failed` for a non-finite number ({@link nonFiniteReason}), a missing
 * stage, a summary or a residual that cannot be made; else `ok` with the
 * stages as the request keeps them and the residuals against its
 * observations. `wall_s` is read once the member is made.
 */
export function memberFromResult(
  index: number,
  protocol: Protocol,
  values: readonly number[],
  result: ProtocolResult,
  opts: { profiles: ProfilesLevel; summary?: SummaryOptions; observations?: readonly Observation[]; keepModel?: boolean; wall_s: () => number },
): MemberResult {
  const cells = result.grid.cells;
  const failed = (reason: string) => failedMember(index, values, reason, cells, opts.wall_s());
  const bad = nonFiniteReason(result);
  if (bad) return failed(bad);
  if (result.stages.length !== protocol.stages.length)
    return failed(`the solver returned ${result.stages.length} stages for a protocol of ${protocol.stages.length}`);
  let stages: MemberStage[];
  try {
    stages = result.stages.map((st, k) => memberStage(st, protocol, k, opts.profiles, opts.summary));
  } catch (e) {
    return failed(`summary: ${memberFailureReason(e)}`);
  }
  let residuals: ObservationResidual[] | undefined;
  if (opts.observations?.length) {
    try {
      residuals = memberResiduals(result, opts.observations, !!opts.keepModel);
    } catch (e) {
      return failed(`residual: ${memberFailureReason(e)}`);
    }
  }
  return okMember(index, values, stages, cells, opts.wall_s(), residuals);
}

/** The residual of each observation from the f64 result (the operator is built on this member's grid). */
export function memberResiduals(result: ProtocolResult, observations: readonly Observation[], keepModel: boolean): ObservationResidual[] {
  return observations.map((obs) => {
    const st = result.stages[obs.stage];
    if (!st) throw new Error(`observation ${obs.label} is attached to stage ${obs.stage + 1}, but the protocol has ${result.stages.length}`);
    const op = observationOperator(result.grid.faces_nm, obs.depth_nm, obs.resolution);
    const r = observationResidual(op, obs, st.density, keepModel);
    if (!Number.isFinite(r.ssr)) throw new Error(`observation ${obs.label}: the residual is not finite`);
    return r;
  });
}
