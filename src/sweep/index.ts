/**
 * Parameter sweeps: dotted paths into a protocol, `--vary`/`--sample`
 * specs, sweep files, and the grid (or LHS sample) of validated members.
 *
 * @example
 * import { buildGrid, parseSweepArgs } from './sweep/index.js';
 * const { specs, sample } = parseSweepArgs({ vary: ['stages.1.D.Cs.D_m2s=2.4e-23,3.1e-23,3.8e-23'] });
 * const grid = buildGrid(getPreset('paper'), specs, sample); // 3 members
 */
export * from './paths.js';
export * from './spec.js';
export * from './lhs.js';
export * from './grid.js';
export * from './file.js';
