/**
 * Tabulated D models: every D model of a protocol sampled on a uniform θ
 * grid and interpolated linearly in ln D (the `table` model). This is how
 * float32 engines evaluate D; running the f64 solver on the tabulated
 * protocol gives their exact double-precision twin.
 */
import type { DModel, Protocol } from '../config/schema.js';
import { makeDiffusivity, THETA_FLOOR } from './diffusion.js';

/** Default number of table points over θ ∈ [0, 1] (spacing 1/4095 ≈ 2.4e-4: ~41 points across a 0.01 fall-off). */
export const TABLE_POINTS = 4096;

/** θ of table point j of K: j / (K − 1). */
export function tableTheta(K: number): Float64Array {
  return Float64Array.from({ length: K }, (_, j) => j / (K - 1));
}

/**
 * ln D (m²/s) of a model at temperature T on the uniform θ grid of K points.
 * The point θ = 0 is sampled at a tenth of the first positive point, so that
 * ln D stays finite (the SED's D → 0 as θ → 0).
 */
export function tabulateLnD(model: DModel, T_K: number, K = TABLE_POINTS): Float64Array {
  const d = makeDiffusivity(model, T_K);
  const th = tableTheta(K);
  return Float64Array.from(th, (t, j) => Math.log(d.D(j === 0 ? Math.max(th[1] / 10, THETA_FLOOR) : t)));
}

/** The model as a `table` model on K points (keeps its nref and nref_floor). */
export function tabulateModel(model: DModel, T_K: number, K = TABLE_POINTS): DModel {
  if (model.model === 'constant' || model.model === 'arrhenius') return model;
  const lnD = tabulateLnD(model, T_K, K);
  return {
    model: 'table',
    theta: Array.from(tableTheta(K)),
    D_m2s: Array.from(lnD, Math.exp),
    nref: model.nref,
    nref_floor: model.nref_floor,
  };
}

/** A copy of the protocol with every concentration-dependent D model tabulated. */
export function tabulateProtocol(protocol: Protocol, K = TABLE_POINTS): Protocol {
  const p = structuredClone(protocol);
  for (const st of p.stages) for (const sp of Object.keys(st.D)) st.D[sp] = tabulateModel(st.D[sp], st.T_K, K);
  return p;
}
