/**
 * The f64 twins of the float32 engines (docs/numerics.md §6): the same
 * protocol in the quasi-neutral formulation with every D model tabulated on
 * K points as the engines tabulate it, run by the f64 solver — with its own
 * numerics (the gpu.js engine's algorithm) or with TWIN_NUMERICS and the
 * engine's lane count (the WebGPU engine's partitioned block solve in
 * double precision). A float32 engine is checked against its twin: blurred
 * profiles to 0.01, fronts to 0.5 nm, and (the WebGPU engine) the same
 * accepted and rejected steps.
 */
import type { Protocol } from '../config/schema.js';
import { TABLE_POINTS, tabulateProtocol } from '../physics/tabulate.js';
import { TWIN_NUMERICS, simulate, type StepNumerics } from './simulate.js';
import type { ProtocolResult } from './types.js';

/** The twin of a float32 engine: quasi-neutral, D tabulated on K points, the given numerics (default: the f64 solver's). */
export function float32Twin(p: Protocol, K = TABLE_POINTS, numerics?: StepNumerics): ProtocolResult {
  const q = structuredClone(p);
  q.solver.formulation = 'quasineutral';
  return simulate(tabulateProtocol(q, K), numerics ? { numerics } : {});
}

/** The numerics of the WebGPU engine's twin with `lanes` invocations per lattice (the same partitions). */
export function gpuTwinNumerics(lanes: number): StepNumerics {
  return { ...TWIN_NUMERICS, LANES: lanes };
}
