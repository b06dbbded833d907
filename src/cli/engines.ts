/**
 * The ensemble engines of the command line (`--engine`, `--adapter`,
 * `--threads`), shared by every command that runs members (ensemble, fit,
 * sensitivity). Engines load lazily: the CPU engine (and the solver) or
 * Dawn only when a run needs them.
 */
import type { EnsembleEngine } from '../ensemble/types.js';
import { InputError } from '../config/validate.js';
import type { CliContext } from './common.js';

/** Engines `--engine` accepts now. */
export const ENGINES = ['cpu', 'webgpu'] as const;

/** The engine options of a command. */
export interface EngineOptions {
  engine: string;
  adapter: string;
  threads?: number;
}

/** The engine of --engine; the CPU engine (and with it the solver) is loaded only when a run needs it. */
export async function makeEngine(opts: EngineOptions, ctx: CliContext): Promise<{ engine: EnsembleEngine; close(): void }> {
  if (!(ENGINES as readonly string[]).includes(opts.engine))
    throw new InputError(`--engine ${opts.engine}: unknown engine; available: ${ENGINES.join(', ')}`);
  if (opts.engine === 'webgpu') {
    const { openNodeDevice, NODE_GPU_KINDS } = await import('../gpu/node.js');
    const kind = NODE_GPU_KINDS.find((k) => k === opts.adapter.trim().toLowerCase());
    if (!kind) throw new InputError(`--adapter ${opts.adapter}: unknown adapter; use one of ${NODE_GPU_KINDS.join(', ')}`);
    const { loadNppQnShader } = await import('../gpu/node-shaders.js');
    const { WebGpuEngine } = await import('../gpu/engine.js');
    const gpu = await openNodeDevice(kind);
    try {
      return { engine: new WebGpuEngine(gpu, { shaderSource: loadNppQnShader() }), close: () => gpu.close() };
    } catch (e) {
      gpu.close();
      throw e;
    }
  }
  const { CpuEngine } = await import('../ensemble/cpu.js');
  // a stand-in solver (tests) runs in this thread; the real one on worker threads
  if (ctx.simulate) return { engine: new CpuEngine({ mode: 'serial', simulate: ctx.simulate }), close: () => {} };
  return { engine: new CpuEngine({ threads: opts.threads }), close: () => {} };
}

