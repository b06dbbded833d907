/**
 * Headless Chromium with the built page (Node only): the static server on
 * dist-web/ (src/serve/static.ts), Debian's Chromium through puppeteer with
 * WebGPU allowed on SwiftShader (CHROMIUM_BASE_ARGS and CHROMIUM_WEBGPU_ARG below),
 * the page open at http://127.0.0.1:PORT/ (navigator.gpu exists only in a
 * secure context) and its engine runner (src/web/run/runner.ts) ready.
 *
 * @example
 * const s = await openBrowserSession();
 * try { console.log(await s.page.evaluate(() => window.caitRunner!.adapter())); } finally { await s.close(); }
 */
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'puppeteer-core';
import { InputError } from '../core/errors.js';
import { startStaticServer, type StaticServer } from '../serve/static.js';

/** Debian's Chromium unless CAIT_CHROMIUM names another. */
export const DEFAULT_CHROMIUM = '/usr/bin/chromium';
/** SwiftShader's Vulkan driver in Debian's chromium package: WebGPU without a GPU. */
export const CHROMIUM_SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Flags of every launch: no sandbox (containers), no background traffic, SwiftShader allowed (WebGL2 for gpu.js, WebGPU's fallback adapter). */
export const CHROMIUM_BASE_ARGS = [
  '--no-sandbox',
  '--enable-unsafe-swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
];
/** Without it Chromium's navigator.gpu.requestAdapter() returns null on Linux. */
export const CHROMIUM_WEBGPU_ARG = '--enable-unsafe-webgpu';

export interface BrowserSessionOptions {
  /** the built page (default: dist-web/ of this package) */
  webRoot?: string;
  /** the Chromium binary (default $CAIT_CHROMIUM or /usr/bin/chromium) */
  chromium?: string;
  /** allow WebGPU (default true); false leaves the page gpu.js only */
  webgpu?: boolean;
  /** more Chromium flags */
  extraArgs?: string[];
  /** the page's console errors and uncaught exceptions, one line each */
  onPageError?: (line: string) => void;
  /** how long to wait for the page's runner, ms (default 30 000) */
  readyTimeout_ms?: number;
}

export interface BrowserSession {
  browser: Browser;
  page: Page;
  server: StaticServer;
  /** the page's address */
  url: string;
  /** close the browser and the server (idempotent; never throws) */
  close(): Promise<void>;
}

/** This package's root: the nearest directory above this file with our package.json (works from src/ and dist/src/). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'shaders'))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

/** dist-web/ of this package: the page `npm run build` makes. */
export function defaultWebRoot(): string {
  return join(packageRoot(), 'dist-web');
}

/**
 * The environment Chromium is launched with: this process's, plus SwiftShader's
 * Vulkan driver from Debian's chromium package when no Vulkan driver is named
 * (WebGPU without a GPU) and a private XDG_RUNTIME_DIR when none is set.
 */
export function chromiumEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  if (!env.VK_ICD_FILENAMES && !env.VK_DRIVER_FILES && existsSync(CHROMIUM_SWIFTSHADER_ICD)) env.VK_ICD_FILENAMES = CHROMIUM_SWIFTSHADER_ICD;
  if (!env.XDG_RUNTIME_DIR) {
    const dir = join(tmpdir(), `cait-xdg-${process.getuid?.() ?? 'user'}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    env.XDG_RUNTIME_DIR = dir;
  }
  return env;
}

/** Serve the built page, launch headless Chromium on it and wait for window.caitRunner. */
export async function openBrowserSession(opts: BrowserSessionOptions = {}): Promise<BrowserSession> {
  const root = resolve(opts.webRoot ?? defaultWebRoot());
  if (!existsSync(join(root, 'index.html')))
    throw new InputError(`the page is not built: ${join(root, 'index.html')} is missing; run \`npm run build\` (it bundles the page into dist-web/)`);
  const chromium = opts.chromium ?? process.env.CAIT_CHROMIUM ?? DEFAULT_CHROMIUM;
  if (!existsSync(chromium))
    throw new InputError(`Chromium not found at ${chromium}: install it (apt-get install chromium libvulkan1) or name it with --chromium PATH`);

  const env = chromiumEnv();

  const server = await startStaticServer({ root });
  let browser: Browser | undefined;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await browser?.close().catch(() => browser?.process()?.kill('SIGKILL'));
    await server.close().catch(() => undefined);
  };
  try {
    // loaded here, not at the top: every `cait` command imports this module, only headless runs need puppeteer
    const { default: puppeteer } = await import('puppeteer-core');
    browser = await puppeteer.launch({
      executablePath: chromium,
      headless: true,
      args: [...CHROMIUM_BASE_ARGS, ...(opts.webgpu === false ? [] : [CHROMIUM_WEBGPU_ARG]), ...(opts.extraArgs ?? [])],
      env,
      // a long ensemble is one evaluate call: no CDP timeout
      protocolTimeout: 0,
      // the caller closes the browser on Ctrl-C (cait headless: abort, close, exit 130)
      handleSIGINT: false,
    });
    const page = await browser.newPage();
    page.on('pageerror', (e) => opts.onPageError?.(`page error: ${e instanceof Error ? e.message : String(e)}`));
    page.on('console', (m) => {
      // the page has no favicon: Chromium logs its 404 as an error
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) opts.onPageError?.(`page console: ${m.text()}`);
    });
    await page.goto(server.url, { waitUntil: 'load' });
    await page
      .waitForFunction(() => !!(window as unknown as { caitRunner?: unknown }).caitRunner, { timeout: opts.readyTimeout_ms ?? 30_000 })
      .catch(() => {
        throw new InputError(`the page at ${server.url} has no engine runner (window.caitRunner): rebuild it with \`npm run build\``);
      });
    return { browser, page, server, url: server.url, close };
  } catch (e) {
    await close();
    throw e;
  }
}
