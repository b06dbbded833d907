/// <reference types="@webgpu/types" />
/**
 * The ensemble engine runner of the page: the browser's WebGPU device
 * (src/gpu/device.ts) driving the WGSL engine (src/gpu/engine.ts;
 * shaders/npp_qn.wgsl, summary.wgsl and residual.wgsl bundled as strings); without WebGPU the gpu.js engine
 * (src/gpujs/engine.ts) on WebGL2. One device per page, opened on first use
 * and reopened after a device loss.
 *
 * `installRunner()` puts {@link CaitRunner} on `window.caitRunner` for
 * puppeteer (`cait headless`, the browser tests, bench/browser.ts): requests
 * and results cross as text (codec.ts) — the result in pieces fetched one by
 * one, so neither side builds one huge string — and progress goes to a
 * function the caller exposed on the window (puppeteer's page.exposeFunction).
 *
 * @example
 * // in Node, with puppeteer
 * await page.exposeFunction('caitProgress', (p) => console.log(p.done, p.total));
 * const run = await page.evaluate((req) => window.caitRunner.runEnsemble(req, { progress: 'caitProgress' }), encodeValue(request));
 * const pieces = [];
 * for (let k = 0; k < run.pieces; k++) pieces.push(await page.evaluate((id, k) => window.caitRunner.piece(id, k), run.id, k));
 * await page.evaluate((id) => window.caitRunner.release(id), run.id);
 * const result = decodeResult(pieces);
 */
import shaderSource from '../../../shaders/npp_qn.wgsl?raw';
import residualShaderSource from '../../../shaders/residual.wgsl?raw';
import summaryShaderSource from '../../../shaders/summary.wgsl?raw';
import { throwIfAborted } from '../../core/errors.js';
import { acquireDevice, GpuError } from '../../gpu/device.js';
import { WebGpuEngine } from '../../gpu/engine.js';
import { chooseEngine } from '../../ensemble/choose.js';
import type { EnsembleEngine, EnsembleProgress, EnsembleRequest, EnsembleResult, EnsembleRunOptions } from '../../ensemble/types.js';
import { decodeValue, encodeResult } from '../../ensemble/wire/codec.js';
import { ENGINE_CHOICES, type CaitRunner, type EngineChoice, type RunHandle } from '../../ensemble/wire/protocol.js';

export { ENGINE_CHOICES, type CaitRunner, type EngineChoice, type RunHandle };

/** An engine of the page and what it runs on. */
export interface PageEngine {
  engine: EnsembleEngine;
  /** 'webgpu' | 'gpujs' */
  kind: Exclude<EngineChoice, 'auto'>;
  /** the adapter as recorded in outputs, with the browser named ("… (Chrome 131 WebGPU)") */
  adapter: string;
  /** with `auto`: why WebGPU was not used */
  fallbackReason?: string;
}

/** "Chrome 131" (HeadlessChrome counts as Chrome), "Firefox 133", or "browser". */
export function browserName(ua: string = globalThis.navigator?.userAgent ?? ''): string {
  const m = /(Edg|Firefox|HeadlessChrome|Chromium|Chrome|Version)\/(\d+)/.exec(ua);
  if (!m) return 'browser';
  const name = { Edg: 'Edge', HeadlessChrome: 'Chrome', Version: 'Safari' }[m[1]] ?? m[1];
  return `${name} ${m[2]}`;
}

/**
 * An engine whose results name `adapter` (the browser's words) instead of the
 * inner engine's. The page keeps its engines for its lifetime; close() closes
 * the inner one (its device, its kernels) and `forget` drops it from the
 * page's cache, so the next run opens a new one.
 */
function renamed(inner: EnsembleEngine, adapter: string, forget: () => void): EnsembleEngine {
  return {
    name: inner.name,
    adapter,
    async run(req: EnsembleRequest, opts?: EnsembleRunOptions): Promise<EnsembleResult> {
      const res = await inner.run(req, opts);
      return { ...res, adapter };
    },
    close() {
      forget();
      return inner.close();
    },
  };
}

let webgpu: Promise<PageEngine> | undefined;
let gpujs: Promise<PageEngine> | undefined;

async function openWebGpu(): Promise<PageEngine> {
  const gpu = await acquireDevice(globalThis.navigator?.gpu, {
    label: 'cait ensemble',
    noAdapterHint: 'this browser offers WebGPU but no adapter (Chromium without a GPU needs --enable-unsafe-webgpu)',
  });
  // a lost device is not reused: the next run opens a new one
  void gpu.lost.then(() => {
    webgpu = undefined;
  });
  let inner: WebGpuEngine;
  try {
    // the page opened this device for the engine: the engine's close() destroys it
    inner = new WebGpuEngine(gpu, { shaderSource, summaryShaderSource, residualShaderSource, ownsDevice: true });
  } catch (e) {
    gpu.destroy();
    throw e;
  }
  const adapter = `${inner.adapter} (${browserName()} WebGPU)`;
  return { engine: renamed(inner, adapter, () => (webgpu = undefined)), kind: 'webgpu', adapter };
}

async function openGpuJs(): Promise<PageEngine> {
  // loaded only when needed: gpu.js is most of the bundle
  const { GpuJsEngine } = await import('../../gpujs/engine.js');
  let inner: EnsembleEngine;
  try {
    inner = new GpuJsEngine({ mode: 'webgl2' });
  } catch (e) {
    throw new GpuError(`the gpu.js engine cannot start on WebGL2 here: ${e instanceof Error ? e.message : String(e)}`);
  }
  const adapter = `${inner.adapter} (${browserName()} WebGL2)`;
  return { engine: renamed(inner, adapter, () => (gpujs = undefined)), kind: 'gpujs', adapter };
}

function cached(kind: Exclude<EngineChoice, 'auto'>): Promise<PageEngine> {
  if (kind === 'webgpu') {
    webgpu ??= openWebGpu();
    webgpu.catch(() => (webgpu = undefined));
    return webgpu;
  }
  gpujs ??= openGpuJs();
  gpujs.catch(() => (gpujs = undefined));
  return gpujs;
}

/**
 * The engine of `choice`: `webgpu` and `gpujs` as named (rejecting with a
 * one-line GpuError when unavailable); `auto` WebGPU when there is an
 * adapter, else gpu.js, saying why in fallbackReason.
 */
export async function pageEngine(choice: EngineChoice = 'auto'): Promise<PageEngine> {
  if (!(ENGINE_CHOICES as readonly string[]).includes(choice))
    throw new GpuError(`engine ${String(choice)}: unknown; use one of ${ENGINE_CHOICES.join(', ')}`);
  const { engine, fallbackReason } = await chooseEngine({
    choice,
    openWebGpu: () => cached('webgpu'),
    openGpuJs: () => cached('gpujs'),
    neither: (e, e2) => new GpuError(`no engine in this browser: ${messageOf(e)}; gpu.js: ${messageOf(e2)}`),
  });
  return fallbackReason !== undefined ? { ...engine, fallbackReason } : engine;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Runs started through the runner or the panel, so that cancel() reaches each. */
const running = new Set<AbortController>();

/** Run a request on the page engine of `choice`; `signal` (or cancelRuns()) aborts it. */
export async function runOnPage(
  req: EnsembleRequest,
  opts: { engine?: EngineChoice; onProgress?: (p: EnsembleProgress) => void; signal?: AbortSignal } = {},
): Promise<{ result: EnsembleResult; engine: PageEngine }> {
  const ctl = new AbortController();
  const onAbort = () => ctl.abort();
  if (opts.signal?.aborted) ctl.abort();
  opts.signal?.addEventListener('abort', onAbort);
  running.add(ctl);
  try {
    const engine = await pageEngine(opts.engine ?? 'auto');
    throwIfAborted(ctl.signal, `the ${engine.kind} run`);
    const result = await engine.engine.run(req, { signal: ctl.signal, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
    return { result, engine };
  } finally {
    running.delete(ctl);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

/** Abort every run in progress; returns how many there were. */
export function cancelRuns(): number {
  const n = running.size;
  for (const c of running) c.abort();
  return n;
}

const finished = new Map<number, string[]>();
let nextId = 1;

function progressSink(name: string | undefined): ((p: EnsembleProgress) => void) | undefined {
  if (!name) return undefined;
  const fn = (globalThis as unknown as Record<string, unknown>)[name];
  if (typeof fn !== 'function') throw new GpuError(`progress function window.${name} does not exist (expose it first)`);
  return (p) => {
    // an exposed function returns a promise; a progress report that cannot be delivered must not fail the run
    void Promise.resolve((fn as (p: EnsembleProgress) => unknown)(p)).catch(() => undefined);
  };
}

export const caitRunner: CaitRunner = {
  async adapter(engine = 'auto') {
    return (await pageEngine(engine)).adapter;
  },
  async describe(engine = 'auto') {
    const e = await pageEngine(engine);
    return { engine: e.engine.name, adapter: e.adapter, ...(e.fallbackReason ? { fallbackReason: e.fallbackReason } : {}) };
  },
  async runEnsemble(requestJson, opts = {}) {
    const req = decodeValue<EnsembleRequest>(requestJson);
    const onProgress = progressSink(opts.progress);
    const { result, engine } = await runOnPage(req, { engine: opts.engine ?? 'auto', ...(onProgress ? { onProgress } : {}) });
    const pieces = await encodeResult(result);
    const id = nextId++;
    finished.set(id, pieces);
    return {
      id,
      pieces: pieces.length,
      engine: result.engine,
      adapter: result.adapter,
      ...(engine.fallbackReason ? { fallbackReason: engine.fallbackReason } : {}),
    };
  },
  piece(id, k) {
    const p = finished.get(id);
    if (!p) throw new Error(`no finished run ${id}`);
    if (!(k >= 0 && k < p.length)) throw new Error(`run ${id} has pieces 0..${p.length - 1}, not ${k}`);
    return p[k];
  },
  release(id) {
    finished.delete(id);
  },
  cancel: cancelRuns,
};

declare global {
  interface Window {
    caitRunner?: CaitRunner;
  }
}

/** Put the runner on window.caitRunner (idempotent). */
export function installRunner(): CaitRunner {
  if (typeof window !== 'undefined') window.caitRunner ??= caitRunner;
  return caitRunner;
}
