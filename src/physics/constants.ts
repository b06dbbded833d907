/** CODATA 2018 exact / recommended values, SI. */
export const ELEMENTARY_CHARGE = 1.602176634e-19; // C
export const BOLTZMANN = 1.380649e-23; // J/K
export const EPSILON_0 = 8.8541878128e-12; // F/m

/** m² in nm²: D in m²/s to the solver's nm²/s (scaled units, docs/model.md §2). */
export const M2_TO_NM2 = 1e18;

/** Thermal energy kT in eV at temperature T (K). */
export function kT_eV(T_K: number): number {
  return (BOLTZMANN * T_K) / ELEMENTARY_CHARGE;
}
