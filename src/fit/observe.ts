/**
 * @deprecated The observation model lives in src/observe/observe.ts (below the
 * engines). This re-export keeps src/gpu/engine.ts and tests/gpu-engine.test.ts
 * working until the engine rebuild (issue 9) imports it from there; then
 * delete this file (scripts/check-layers.ts PENDING says so).
 */
export * from '../observe/observe.js';
