/**
 * What the benchmarks share: their `--name value` arguments and the
 * protocols they time (`paper`, the preset; `reduced`, the CI-sized
 * two-stage protocol of the GPU tests: 1 nm cells to 60 nm, growth 1.3,
 * 0.63 mC then 0.57 mC).
 */
import { getPreset } from '../src/config/presets.js';
import type { Protocol } from '../src/config/schema.js';
import { requestFromGrid, type EnsembleRequest, type ProfilesLevel } from '../src/ensemble/types.js';
import { buildGrid, parseVary } from '../src/sweep/index.js';

/** The value of `--name` on the command line, or dflt. */
export function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

/** The benchmark protocol `paper` or `reduced`. */
export function benchProtocol(name: string): Protocol {
  const p = getPreset('paper');
  if (name === 'paper') return p;
  if (name !== 'reduced') throw new Error(`--protocol ${name}: paper or reduced`);
  p.grid = { h_fine_nm: 1, x_fine_nm: 60, growth: 1.3 };
  p.stages[0].stop = { charge_C: 0.63e-3 };
  p.stages[1].stop = { charge_C: 0.57e-3 };
  return p;
}

/** n members of `base` with D(Cs+) of stage 2 (`stages.1.D.Cs.D_m2s`) spread geometrically over 2.4e-23..3.8e-23 m²/s (one member: the base). */
export function dcsSweep(base: Protocol, n: number, profiles: ProfilesLevel): EnsembleRequest {
  const grid = buildGrid(base, n > 1 ? [parseVary(`stages.1.D.Cs.D_m2s=2.4e-23:3.8e-23:${n}:log`)] : []);
  return requestFromGrid(grid, base, profiles);
}
