/**
 * Node only: the WGSL sources of shaders/ read from disk (from the
 * TypeScript sources under src/gpu/ or the compiled dist/src/gpu/).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Text of shaders/<name> (looked up from src/gpu/ and from dist/src/gpu/). */
export function loadShader(name: string): string {
  const candidates = ['../../shaders/', '../../../shaders/'].map((rel) => fileURLToPath(new URL(rel + name, import.meta.url)));
  for (const c of candidates) if (existsSync(c)) return readFileSync(c, 'utf8');
  throw new Error(`shader ${name} not found (looked in ${candidates.join(', ')})`);
}

/** shaders/npp_qn.wgsl, the quasi-neutral ensemble engine. */
export function loadNppQnShader(): string {
  return loadShader('npp_qn.wgsl');
}

/** shaders/residual.wgsl, the residuals against measured profiles. */
export function loadResidualShader(): string {
  return loadShader('residual.wgsl');
}

/** shaders/summary.wgsl, the per-member summaries at the end of a stage. */
export function loadSummaryShader(): string {
  return loadShader('summary.wgsl');
}

/** The shaders of the WebGPU engine, as its options take them. */
export function webGpuEngineShaders(): { shaderSource: string; summaryShaderSource: string; residualShaderSource: string } {
  return { shaderSource: loadNppQnShader(), summaryShaderSource: loadSummaryShader(), residualShaderSource: loadResidualShader() };
}
