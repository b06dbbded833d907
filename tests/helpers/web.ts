/**
 * Browser-test helpers: Debian's Chromium through puppeteer (headless, WebGPU
 * on SwiftShader allowed; the flags of src/headless/browser.ts) and the
 * built explorer page (dist-web/) served from 127.0.0.1 by the project's own
 * static server.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { startStaticServer, type StaticServer } from '../../src/serve/static.js';
import { CHROMIUM_BASE_ARGS, CHROMIUM_WEBGPU_ARG, chromiumEnv } from '../../src/headless/browser.js';
import { CHROMIUM_PATH, missing } from './require.js';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const DIST_WEB = join(REPO_ROOT, 'dist-web');
export const CHROMIUM = CHROMIUM_PATH;

/** Chromium flags: those of `cait headless` (no sandbox, SwiftShader allowed, no background traffic) with WebGPU. */
export const CHROMIUM_ARGS = [...CHROMIUM_BASE_ARGS, CHROMIUM_WEBGPU_ARG];

/** Is there a Chromium to launch? Suites gate on needs('chromium') (tests/helpers/require.ts: skipped here, a failure in CI). */
export function hasChromium(): boolean {
  return missing('chromium') === undefined;
}

/** Headless Chromium with the WebGPU/SwiftShader flags; close() it when done. */
export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
    env: chromiumEnv(),
    protocolTimeout: 120_000,
  });
}

/**
 * Build the page with vite into outDir (default dist-web/) unless it is there
 * already (or force). A test that builds into its own temporary folder never
 * empties dist-web/ under another test that serves it.
 */
export function buildPage(force = false, outDir: string = DIST_WEB): void {
  if (!force && existsSync(join(outDir, 'index.html'))) return;
  const args = [join(REPO_ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn', '--outDir', outDir, '--emptyOutDir'];
  execFileSync(process.execPath, args, {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

/** Serve dist-web/ (or another root) on 127.0.0.1, any free port. */
export async function servePage(root: string = DIST_WEB): Promise<StaticServer> {
  if (!existsSync(join(root, 'index.html'))) throw new Error(`${root}/index.html is missing: run npm run build (or vite build) first`);
  return startStaticServer({ root });
}

/**
 * Record every request the page makes; `foreign()` lists those that do not
 * start with `origin` (data:/blob: URLs are local and allowed).
 */
export function watchRequests(page: Page, origin: string): { all: string[]; foreign: () => string[] } {
  const all: string[] = [];
  page.on('request', (req) => void all.push(req.url()));
  return {
    all,
    foreign: () => all.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:')),
  };
}
