/**
 * What the page's engine runner (runner.ts) and its callers in Node
 * (src/headless/engine.ts) share: the engine choices and the shape of
 * `window.caitRunner`. Types and constants only, so Node can import it
 * (runner.ts itself imports the shader through vite's `?raw`).
 */

/** What the engine selector offers: auto = WebGPU when the browser has an adapter, else gpu.js (WebGL2). */
export const ENGINE_CHOICES = ['auto', 'webgpu', 'gpujs'] as const;
export type EngineChoice = (typeof ENGINE_CHOICES)[number];

/** A finished run waiting to be fetched piece by piece. */
export interface RunHandle {
  id: number;
  /** number of pieces: fetch 0 … pieces-1 with piece(id, k) */
  pieces: number;
  engine: string;
  adapter: string;
  /** with engine auto: why WebGPU was not used */
  fallbackReason?: string;
}

/** What `window.caitRunner` offers to puppeteer. */
export interface CaitRunner {
  /** the adapter a run of `engine` (default auto) would record, e.g. "SwiftShader Device (Subzero) [google swiftshader, core] (Chrome 131 WebGPU)" */
  adapter(engine?: EngineChoice): Promise<string>;
  /** the engine name and adapter of `engine`, and with auto why WebGPU was not used */
  describe(engine?: EngineChoice): Promise<{ engine: string; adapter: string; fallbackReason?: string }>;
  /**
   * Run the request (codec.ts encodeValue of an EnsembleRequest); `progress`
   * names a window function (page.exposeFunction) called with each
   * EnsembleProgress. Resolves when the run is done, with a handle to fetch
   * the result (codec.ts decodeResult of the pieces); rejects with the
   * engine's one-line message (also when cancelled).
   */
  runEnsemble(requestJson: string, opts?: { engine?: EngineChoice; progress?: string }): Promise<RunHandle>;
  /** piece k of a finished run */
  piece(id: number, k: number): string;
  /** forget a finished run's pieces */
  release(id: number): void;
  /** abort every run in progress (the panel's too); returns how many were running */
  cancel(): number;
}

