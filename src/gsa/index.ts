/**
 * Global sensitivity analysis (platform-neutral): the Sobol' sequence,
 * Saltelli's design and the Sobol' indices, Morris elementary effects,
 * bootstrap intervals, test functions with known indices, the model's
 * outputs, the study runner and the `cait-gsa/1` file.
 *
 * @example
 * import { makeDesign, settings, designValues, evaluateFunction, analyze, testFunction } from './gsa/index.js';
 * const f = testFunction('ishigami');
 * const s = settings({ method: 'sobol', samples: 8192 });
 * const d = makeDesign(3, s);
 * const ev = evaluateFunction(f, designValues(d, f.inputs.map((x) => ({ path: x.name, lo: x.lo, hi: x.hi, scale: 'linear' }))));
 * analyze(d, ev, s).outputs.y; // { S1: [0.314, 0.442, 0.000], ST: [0.558, 0.442, 0.244], … }
 */
export * from './sobol-sequence.js';
export * from './bootstrap.js';
export * from './sobol.js';
export * from './morris.js';
export * from './functions.js';
export * from './outputs.js';
export * from './schema.js';
export * from './study.js';
export * from './output.js';
