/**
 * What the solvers return: per stage, the delivered charge, the current
 * record and the final profiles (n/n0 on the cell centres). The result file
 * (`cait-result/1`, src/io/result.ts) is written from these.
 */
import type { BlockSystemHook, StepNumerics } from './simulate.js';

export interface Snapshot {
  t_s: number;
  charge_C: number;
  /** n/n0 per species on the cell centres */
  density: Record<string, number[]>;
}

export interface StageStats {
  steps: number;
  rejected: number;
  newtonIterations: number;
  factorizations: number;
}

export interface StageResult {
  name: string;
  beam: string;
  duration_s: number;
  /** delivered charge e·A·∫J_beam(0,t)dt, C */
  charge_C: number;
  /** current through the front face at the end of the stage, A */
  final_current_A: number;
  depth_nm: number[];
  /** n/n0 per species of the protocol (species absent in the stage are zero) */
  density: Record<string, number[]>;
  /** electric potential on the cell centres at the end, V */
  potential_V: number[];
  current: {
    t_s: number[];
    /** current through the front face, A */
    I_A: number[];
    /** current through the back electrode, A */
    I_back_A: number[];
    /** delivered charge so far, C */
    Q_C: number[];
  };
  /** profiles at the requested times / charges of the stage */
  snapshots: Snapshot[];
  /** particle bookkeeping: inventory (per area, units of n0·m) and what crossed the faces */
  balance: Record<string, { start: number; end: number; inFront: number; outBack: number }>;
  stats: StageStats;
}

export interface GridInfo {
  cells: number;
  h_min_nm: number;
  h_max_nm: number;
  /** cell faces, nm (cells + 1 values, 0 … L) */
  faces_nm: number[];
}

export interface ProtocolResult {
  species: string[];
  grid: GridInfo;
  stages: StageResult[];
}

export interface Progress {
  stageIndex: number;
  stageCount: number;
  stageName: string;
  t_s: number;
  charge_C: number;
  /** 0..1 progress within the stage (by charge or by time) */
  fraction: number;
  steps: number;
}

export interface RunOptions {
  onProgress?: (p: Progress) => void;
  /** Newton and step-control constants (default F64_NUMERICS; TWIN_NUMERICS: the WebGPU engine's algorithm in f64) */
  numerics?: StepNumerics;
  /** LINEAR = `block`: called with every Newton system before it is solved (bench/blocksolve.ts measures the f32 solve) */
  onBlockSystem?: BlockSystemHook;
  /** minimum wall time between progress callbacks, ms (default 100) */
  progressIntervalMs?: number;
}

/** A failed step: where and why. Never a silent wrong answer. */
export class SolverError extends Error {
  override name = 'SolverError';
  constructor(
    message: string,
    readonly where: { stage?: string; t_s?: number; depth_nm?: number; species?: string } = {},
  ) {
    super(message);
  }
}
