/**
 * The ensemble engines of the command line (`--engine`, `--adapter`,
 * `--threads`), shared by every command that runs members (ensemble, fit,
 * sensitivity). Engines load lazily: the CPU engine (and the solver), Dawn
 * or gpu.js only when a run needs them.
 *
 * --engine webgpu --adapter auto falls back to the gpu.js engine (its
 * WebAssembly kernels in Node) when there is no WebGPU adapter at all, and
 * says so on stderr; an adapter named explicitly never falls back.
 * --engine gpujs takes --adapter auto (gpu.js picks its backend) or a gpu.js
 * mode (webasm, cpu, …).
 *
 * Dawn for Node (`webgpu`) and `gpu.js` are optional dependencies: where one
 * is not installed, the engine that needs it fails with one line saying
 * which package to install (MissingPackageError, exit 1).
 */
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import type { EnsembleEngine } from '../ensemble/types.js';
import { chooseEngine } from '../ensemble/choose.js';
import { InputError } from '../core/errors.js';
import { positiveInt, type CliContext } from './common.js';

/** An optional package an engine needs is not installed. */
export class MissingPackageError extends Error {
  override name = 'MissingPackageError';
}

/** Is `e` Node's "cannot find package NAME" (ERR_MODULE_NOT_FOUND) for that package? */
export function isMissingPackage(e: unknown, name: string): boolean {
  const err = e as { code?: string; message?: string };
  return err?.code === 'ERR_MODULE_NOT_FOUND' && typeof err.message === 'string' && err.message.includes(`'${name}'`);
}

/** `load()`, with Node's module-not-found for the optional package `name` made one line that says what to do. */
export async function withOptionalPackage<T>(name: string, what: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    if (isMissingPackage(e, name))
      throw new MissingPackageError(`${what} needs the optional package ${name}, which is not installed here: run \`npm install ${name}\` in cait's directory (or use --engine cpu)`);
    throw e;
  }
}

/** Engines `--engine` accepts now. */
export const ENGINES = ['cpu', 'webgpu', 'gpujs'] as const;

/** The engine options of a command. */
export interface EngineOptions {
  engine: string;
  adapter: string;
  threads?: number;
}

/** The options --engine, --adapter and --threads (EngineOptions), as `cait gsa` declares them. */
export function addEngineOptions(cmd: Command): Command {
  return cmd
    .option('--engine <name>', `ensemble engine (${ENGINES.join(', ')})`, 'cpu')
    .option('--adapter <kind>', 'WebGPU adapter of --engine webgpu: auto, vulkan, swiftshader, null; a gpu.js mode with --engine gpujs', 'auto')
    .option('--threads <N>', `worker threads of the cpu engine (default: all ${availableParallelism()} cores)`, positiveInt);
}

/** An engine made for a command, and the one way to let it go: `close()` is the engine's own (EnsembleEngine.close). */
export interface MadeEngine {
  engine: EnsembleEngine;
  close(): Promise<void>;
}

/** `engine` with its close() as the one way to let it go (awaited, errors swallowed: closing never hides a run's error). */
export function madeEngine(engine: EnsembleEngine): MadeEngine {
  return { engine, close: async () => void (await Promise.resolve(engine.close()).catch(() => undefined)) };
}

/** The engine of --engine; the CPU engine (and with it the solver) is loaded only when a run needs it. Close it with close(). */
export async function makeEngine(opts: EngineOptions, ctx: CliContext): Promise<MadeEngine> {
  if (!(ENGINES as readonly string[]).includes(opts.engine))
    throw new InputError(`--engine ${opts.engine}: unknown engine; available: ${ENGINES.join(', ')}`);
  if (opts.engine === 'gpujs') return madeEngine(await gpujsEngine(opts.adapter));
  if (opts.engine === 'webgpu') {
    const { openNodeDevice, NODE_GPU_KINDS } = await import('../gpu/node.js');
    const kind = NODE_GPU_KINDS.find((k) => k === opts.adapter.trim().toLowerCase());
    if (!kind) throw new InputError(`--adapter ${opts.adapter}: unknown adapter; use one of ${NODE_GPU_KINDS.join(', ')}`);
    const { webGpuEngineShaders } = await import('../gpu/node-shaders.js');
    const { WebGpuEngine } = await import('../gpu/engine.js');
    const { GpuError } = await import('../gpu/device.js');
    const openWebGpu = async (): Promise<EnsembleEngine> => {
      let gpu: Awaited<ReturnType<typeof openNodeDevice>>;
      try {
        gpu = await openNodeDevice(kind);
      } catch (e) {
        // Dawn for Node missing: say which package (src/gpu/node.ts reports it as a GpuError "cannot load Dawn for Node")
        if (kind !== 'auto' && e instanceof GpuError && /cannot load Dawn for Node/.test(e.message) && /Cannot find package 'webgpu'/.test(e.message))
          throw new MissingPackageError(`the WebGPU engine in Node needs the optional package webgpu (Dawn), which is not installed here: run \`npm install webgpu\` in cait's directory (or use --engine cpu)`);
        throw e;
      }
      try {
        // the engine owns the device it was opened for: its close() destroys it
        return new WebGpuEngine(gpu, { ...webGpuEngineShaders(), ownsDevice: true });
      } catch (e) {
        gpu.close();
        throw e;
      }
    };
    // with auto, no usable WebGPU adapter (none at all, or one the engine refuses: llvmpipe) means gpu.js
    const { engine } = await chooseEngine<EnsembleEngine>({
      choice: kind === 'auto' ? 'auto' : 'webgpu',
      openWebGpu,
      openGpuJs: () => gpujsEngine('auto'),
      fallsBack: (e) => e instanceof GpuError,
      neither: (e, err) => (err instanceof MissingPackageError ? new MissingPackageError(`no WebGPU adapter (${(e as Error).message}), and ${err.message}`) : err),
      onFallback: (why, gpujs) => ctx.stderr(`cait: ${why}; running the gpu.js engine instead (${gpujs.adapter})\n`),
    });
    return madeEngine(engine);
  }
  const { CpuEngine } = await import('../ensemble/cpu.js');
  // a stand-in solver (tests) runs in this thread; the real one on worker threads
  if (ctx.simulate) return madeEngine(new CpuEngine({ mode: 'serial', simulate: ctx.simulate }));
  return madeEngine(new CpuEngine({ threads: opts.threads }));
}

/** The gpu.js engine in Node: `auto` lets gpu.js pick its backend (WebAssembly kernels without headless-gl), anything else is a gpu.js mode. */
async function gpujsEngine(adapter: string): Promise<EnsembleEngine> {
  const { GpuJsEngine } = await withOptionalPackage('gpu.js', 'the gpu.js engine', () => import('../gpujs/engine.js'));
  const mode = adapter.trim().toLowerCase();
  return mode === 'auto' ? new GpuJsEngine() : new GpuJsEngine({ mode });
}
