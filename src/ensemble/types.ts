/**
 * The ensemble engine interface: many protocols (members of a parameter
 * sweep) in, one result per member out, in member order. Engine-agnostic:
 * this file imports nothing from Node, so the CLI, a headless runner and a
 * browser page can all drive any engine (the f64 CPU engine in cpu.ts, the
 * WebGPU engine, the gpu.js engine, the browser engine, the Slurm executor)
 * through {@link EnsembleEngine}: run, abort (RunAbortedError), progress
 * (ProgressTracker in progress.ts) and close — docs/architecture.md §1.
 *
 * @example
 * const base = getPreset('paper');
 * const grid = buildGrid(base, [parseVary('stages.1.D.Cs.D_m2s=2.4e-23,3.1e-23,3.8e-23')]);
 * const req = requestFromGrid(grid, base, 'none');
 * const res = await engine.run(req, { onProgress: (p) => console.log(`${p.done}/${p.total}`) });
 * res.members[2].stages[1].max.Rb; // { value, depth_nm } of the blurred Rb+ maximum after stage 2
 */
import type { Protocol } from '../config/schema.js';
import type { Snapshot, StageResult, StageStats } from '../solver/types.js';
import type { StageSummary } from './summary.js';
import type { Observation, ObservationResidual } from '../observe/observe.js';

/**
 * How much of each member's profiles is kept:
 * - `none`: scalars only (durations, charges, currents, fronts, maxima, mean composition, stats, balance);
 * - `final`: also the profiles at the end of each stage (`depth_nm`, `density`, `potential_V`);
 * - `all`: also the current record and the snapshots, i.e. every field of a `cait-result/1` stage.
 */
export type ProfilesLevel = 'none' | 'final' | 'all';

export const PROFILES_LEVELS: readonly ProfilesLevel[] = ['none', 'final', 'all'];

/** What to run. `members[i]` is `base` with `values[i][j]` written at `parameters[j]` (see buildGrid). */
export interface EnsembleRequest {
  /** the protocol the members were made from (recorded in the output) */
  base: Protocol;
  /** the varied dotted paths (`stages.1.D.Cs.D_m2s`), in the order of each `values` row */
  parameters: string[];
  /** values[i][j]: member i's value of parameters[j] */
  values: number[][];
  /** the validated member protocols, one per row of `values` */
  members: Protocol[];
  /** which profiles the results keep */
  profiles: ProfilesLevel;
  /**
   * Measured profiles to compare every member with (src/observe/observe.ts): the
   * engine computes each member's residual per observation at the end of its
   * stage (the WebGPU engine on the GPU) into MemberResult.residuals.
   */
  observations?: Observation[];
  /** with observations: also return the model at the measured depths (ObservationResidual.model) */
  keepModel?: boolean;
}

export type MemberStatus = 'ok' | 'failed';

/**
 * One stage of a member: the scalar summary (see summary.ts for every field
 * and its unit), the solver statistics and particle balance, and with
 * `profiles` = `final` / `all` the profile fields of a `cait-result/1` stage.
 */
export interface MemberStage extends StageSummary {
  stats: StageStats;
  /** particle bookkeeping per species (inventory per area in n0·nm; what crossed the faces) */
  balance: StageResult['balance'];
  /** `final`, `all`: cell centres, nm */
  depth_nm?: number[];
  /** `final`, `all`: n/n0 of every species of the protocol at the end of the stage */
  density?: Record<string, number[]>;
  /** `final`, `all`: electric potential at the cell centres at the end of the stage, V */
  potential_V?: number[];
  /** `all`: the current record (t in s, currents in A, delivered charge in C) */
  current?: StageResult['current'];
  /** `all`: profiles at the requested times / charges */
  snapshots?: Snapshot[];
}

export interface MemberResult {
  /** position in the request (0-based) */
  index: number;
  /** this member's values of the request's parameters */
  values: number[];
  status: MemberStatus;
  /** why a member failed: the solver's message and where (stage, time, depth, species), or the non-finite value found */
  reason?: string;
  /** cells of the member's grid (0 when the grid itself could not be made) */
  cells: number;
  /** one entry per stage for an `ok` member; empty for a failed one */
  stages: MemberStage[];
  /** wall time spent on this member, s */
  wall_s: number;
  /** one per request observation (same order), for an `ok` member when the request has observations */
  residuals?: ObservationResidual[];
}

export interface EnsembleResult {
  /** engine name (`cpu`) */
  engine: string;
  /** what ran it: CPU model and thread count, or the GPU adapter */
  adapter: string;
  /** one per request member, in request order */
  members: MemberResult[];
  /** wall time of the whole run, s */
  wall_s: number;
}

/** Reported while an ensemble runs (at least once per finished member). */
export interface EnsembleProgress {
  /** members finished, ok or failed */
  done: number;
  total: number;
  /** members finished with status `failed` */
  failed: number;
  /** wall time since the run began, s */
  elapsed_s: number;
  /** runningByStage[k]: members now running stage k (0-based); length = stage count of the base */
  runningByStage: number[];
  /** the member whose completion this event reports, if any */
  finished?: { index: number; status: MemberStatus; reason?: string };
}

export interface EnsembleRunOptions {
  onProgress?(p: EnsembleProgress): void;
  /** aborting rejects the run with RunAbortedError (core/errors.ts; members already finished are lost) */
  signal?: AbortSignal;
}

/** An ensemble engine: runs every member of a request; a member that fails is flagged, the others complete. */
export interface EnsembleEngine {
  /** short name, as `--engine` spells it */
  readonly name: string;
  /** what runs the members (CPU model and threads, GPU adapter), for provenance */
  readonly adapter: string;
  /**
   * Run all members. Resolves with one result per member in request order;
   * rejects only when the engine itself fails (a SolverError naming the
   * engine) or the run is aborted (RunAbortedError).
   */
  run(req: EnsembleRequest, opts?: EnsembleRunOptions): Promise<EnsembleResult>;
  /**
   * Let go of what the engine holds (idempotent; never throws): worker
   * threads, GPU buffers, pipelines and the device it owns, gpu.js kernels,
   * a browser. Whoever made the engine closes it, after its last run and
   * on failure alike (try/finally); a run after close() is not supported.
   */
  close(): Promise<void> | void;
}

/**
 * The request of a sweep grid (src/sweep: buildGrid).
 *
 * @example
 * const base = getPreset('quick');
 * requestFromGrid(buildGrid(base, []), base, 'final').members.length; // 1 (the base itself)
 */
export function requestFromGrid(
  grid: { parameters: string[]; values: number[][]; members: Protocol[] },
  base: Protocol,
  profiles: ProfilesLevel,
): EnsembleRequest {
  return { base, parameters: grid.parameters, values: grid.values, members: grid.members, profiles };
}
