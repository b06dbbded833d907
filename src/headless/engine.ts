/**
 * BrowserEngine (Node only): an EnsembleEngine whose members run in headless
 * Chromium, on the page's engine (src/web/run/runner.ts: the browser's
 * WebGPU, or gpu.js on WebGL2). run() sends the request to
 * window.caitRunner, relays its progress, fetches the result in pieces and
 * returns it; the adapter it records is the browser's
 * ("… (Chrome 131 WebGPU)").
 *
 * @example
 * const engine = await BrowserEngine.open({ engine: 'webgpu' });
 * try {
 *   const res = await engine.run(request, { onProgress: (p) => console.error(`${p.done}/${p.total}`) });
 * } finally { await engine.close(); }
 */
import { InputError, RunAbortedError, isRunAborted, throwIfAborted } from '../core/errors.js';
import { GpuError } from '../gpu/device.js';
import { SolverError } from '../solver/types.js';
import type { EnsembleEngine, EnsembleProgress, EnsembleRequest, EnsembleResult, EnsembleRunOptions } from '../ensemble/types.js';
import { decodeResult, encodeValue } from '../ensemble/wire/codec.js';
import type { CaitRunner, EngineChoice, RunHandle } from '../ensemble/wire/protocol.js';
import { openBrowserSession, type BrowserSession, type BrowserSessionOptions } from './browser.js';

export interface BrowserEngineOptions extends BrowserSessionOptions {
  /** the page engine: auto (WebGPU, else gpu.js), webgpu, gpujs (default auto) */
  engine?: EngineChoice;
}

/** The name puppeteer exposes on the window for the runner's progress reports. */
const PROGRESS_FN = '__caitHeadlessProgress';

type Outcome<T> = { ok: true; value: T } | { ok: false; name: string; message: string };
type RunnerWindow = Window & { caitRunner: CaitRunner };

/** What an abort of this engine's run names. */
const ABORTED = 'the browser run';

/** The page's error as the matching Node error: InputError (bad request, exit 2), RunAbortedError (cancelled), SolverError (engine failure, exit 3). */
function pageError(name: string, message: string): Error {
  if (name === 'InputError') return new InputError(message);
  if (name === 'AbortError') return new RunAbortedError(ABORTED);
  if (name === 'GpuError' || name === 'GpuDeviceLostError') return new GpuError(`browser: ${message}`);
  return new SolverError(`browser engine: ${name ? `${name}: ` : ''}${message}`);
}

export class BrowserEngine implements EnsembleEngine {
  /** whether a run is in flight (the page runs one at a time) */
  private busy = false;
  private onProgress: ((p: EnsembleProgress) => void) | undefined;

  private constructor(
    readonly session: BrowserSession,
    readonly choice: EngineChoice,
    readonly name: string,
    readonly adapter: string,
    /** with engine auto: why the page did not use WebGPU */
    readonly fallbackReason: string | undefined,
  ) {}

  /** Start the browser session and the page engine of `opts.engine`. */
  static async open(opts: BrowserEngineOptions = {}): Promise<BrowserEngine> {
    const session = await openBrowserSession(opts);
    try {
      const choice = opts.engine ?? 'auto';
      const d = await session.page.evaluate(async (c: EngineChoice): Promise<Outcome<{ engine: string; adapter: string; fallbackReason?: string }>> => {
        try {
          return { ok: true, value: await (window as unknown as RunnerWindow).caitRunner.describe(c) };
        } catch (e) {
          return { ok: false, name: (e as Error)?.name ?? '', message: (e as Error)?.message ?? String(e) };
        }
      }, choice);
      if (!d.ok) throw pageError(d.name, d.message);
      const engine = new BrowserEngine(session, choice, d.value.engine, d.value.adapter, d.value.fallbackReason);
      await session.page.exposeFunction(PROGRESS_FN, (p: EnsembleProgress) => engine.onProgress?.(p));
      return engine;
    } catch (e) {
      await session.close();
      throw e;
    }
  }

  async run(req: EnsembleRequest, opts: EnsembleRunOptions = {}): Promise<EnsembleResult> {
    if (this.busy) throw new SolverError('browser engine: a run is already in progress on this page');
    throwIfAborted(opts.signal, ABORTED);
    this.busy = true;
    const page = this.session.page;
    // the page stops between GPU submits (or gpu.js rounds); run() then rejects
    const onAbort = () => void page.evaluate(() => (window as unknown as RunnerWindow).caitRunner.cancel()).catch(() => undefined);
    opts.signal?.addEventListener('abort', onAbort);
    this.onProgress = opts.onProgress;
    try {
      return await this.runOnPage(req, opts);
    } catch (e) {
      if (e instanceof InputError || e instanceof GpuError || e instanceof SolverError || isRunAborted(e)) throw e;
      // puppeteer's own failures: the browser crashed or was closed, the page navigated away
      throw new SolverError(`browser engine: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      this.onProgress = undefined;
      this.busy = false;
    }
  }

  private async runOnPage(req: EnsembleRequest, opts: EnsembleRunOptions): Promise<EnsembleResult> {
    const page = this.session.page;
    const out = await page.evaluate(
      async (json: string, engine: EngineChoice, progress: string): Promise<Outcome<RunHandle>> => {
        try {
          return { ok: true, value: await (window as unknown as RunnerWindow).caitRunner.runEnsemble(json, { engine, progress }) };
        } catch (e) {
          return { ok: false, name: (e as Error)?.name ?? '', message: (e as Error)?.message ?? String(e) };
        }
      },
      encodeValue(req),
      this.choice,
      PROGRESS_FN,
    );
    if (!out.ok) {
      throwIfAborted(opts.signal, ABORTED);
      throw pageError(out.name, out.message);
    }
    const h = out.value;
    if (opts.signal?.aborted) {
      // the run finished before the page saw the cancel: the caller asked for no result
      await page.evaluate((id: number) => (window as unknown as RunnerWindow).caitRunner.release(id), h.id);
      throwIfAborted(opts.signal, ABORTED);
    }
    const pieces: string[] = [];
    for (let k = 0; k < h.pieces; k++)
      pieces.push(await page.evaluate((id: number, i: number) => (window as unknown as RunnerWindow).caitRunner.piece(id, i), h.id, k));
    await page.evaluate((id: number) => (window as unknown as RunnerWindow).caitRunner.release(id), h.id);
    return decodeResult(pieces);
  }

  /** Close the browser and the server (idempotent). */
  close(): Promise<void> {
    return this.session.close();
  }
}
