/**
 * Ensembles: many members of a parameter sweep run by one engine, their
 * per-stage scalar summaries, the `cait-ensemble/1` file and its CSV
 * (its figures: src/plot/ensemble.ts). Everything exported here is engine-agnostic and free of
 * Node imports; the Node-only parts are imported from their own files:
 * `cpu.ts` (the CPU engine, worker threads) and `write.ts` (atomic writes).
 *
 * @example
 * import { requestFromGrid, buildEnsembleFile, ensembleCsv } from './ensemble/index.js';
 * import { CpuEngine } from './ensemble/cpu.js';
 * const base = getPreset('paper');
 * const grid = buildGrid(base, [parseVary('stages.1.D.Cs.D_m2s=2.4e-23,3.1e-23,3.8e-23')]);
 * const req = requestFromGrid(grid, base, 'final');
 * const res = await new CpuEngine().run(req);
 */
export * from './types.js';
export * from './summary.js';
export * from './member.js';
export * from './progress.js';
export * from './choose.js';
export * from './output.js';
export { ensembleFileSchema, memberEntrySchema, memberStageSchema } from './schema.js';
