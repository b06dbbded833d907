/**
 * The one choice between the float32 engines, for the CLI (src/cli/engines.ts,
 * `--engine webgpu --adapter auto`) and the page (src/web/run/runner.ts,
 * engine `auto`): WebGPU when it opens, else gpu.js, saying why. A choice
 * named explicitly opens that engine and never falls back. Platform-neutral:
 * the callers pass how to open each engine on their platform.
 *
 * @example
 * const { engine, fallbackReason } = await chooseEngine({
 *   choice: 'auto',
 *   openWebGpu: () => openMyWebGpuEngine(),
 *   openGpuJs: async () => new GpuJsEngine(),
 *   onFallback: (why, e) => console.error(`${why}; running the gpu.js engine instead (${e.adapter})`),
 * });
 */

/** auto: WebGPU, else gpu.js; webgpu, gpujs: that engine only. */
export type EngineChoiceKind = 'auto' | 'webgpu' | 'gpujs';

export interface ChooseEngineOptions<E> {
  choice: EngineChoiceKind;
  openWebGpu(): Promise<E>;
  openGpuJs(): Promise<E>;
  /** with auto: whether WebGPU's failure is one to fall back from (default: any); others are thrown as they are */
  fallsBack?(e: unknown): boolean;
  /** with auto, after gpu.js opened in WebGPU's place: why WebGPU was not used */
  onFallback?(reason: string, engine: E): void;
  /** with auto, when gpu.js fails too: the error to throw (default: gpu.js's own) */
  neither?(webgpu: unknown, gpujs: unknown): unknown;
}

/** A message of an error, for a one-line reason. */
function reasonOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The engine of `choice`; with auto and gpu.js in WebGPU's place, `fallbackReason` says why. */
export async function chooseEngine<E>(o: ChooseEngineOptions<E>): Promise<{ engine: E; fallbackReason?: string }> {
  if (o.choice === 'gpujs') return { engine: await o.openGpuJs() };
  if (o.choice === 'webgpu') return { engine: await o.openWebGpu() };
  try {
    return { engine: await o.openWebGpu() };
  } catch (e) {
    if (o.fallsBack && !o.fallsBack(e)) throw e;
    const reason = reasonOf(e);
    let engine: E;
    try {
      engine = await o.openGpuJs();
    } catch (e2) {
      throw o.neither ? o.neither(e, e2) : e2;
    }
    o.onFallback?.(reason, engine);
    return { engine, fallbackReason: reason };
  }
}
