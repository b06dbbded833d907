/**
 * The ensemble engine in the browser: `cait headless` (BrowserEngine over
 * window.caitRunner in headless Chromium) and the page's live-sweep panel,
 * against the Node WebGPU engine on the same adapter (SwiftShader). Same f32
 * scheme, so the results must agree far inside the float32 engines' tolerances
 * (blurred profiles to 0.01, fronts to 0.5 nm; docs/numerics.md §6); cancel must stop a run.
 * The page is built into a temporary folder (vite build --outDir), so this
 * file never races the page's own tests over dist-web/.
 * CI-sized: the reduced two-stage paper protocol of tests/gpu-engine.test.ts
 * (~100 cells, 0.63 + 0.57 mC), two members.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'puppeteer-core';
import { compareProfiles } from '../src/analysis/profiles.js';
import { runCli } from '../src/cli/main.js';
import { getPreset } from '../src/config/presets.js';
import { ensembleJsonChunks, type EnsembleFile } from '../src/ensemble/output.js';
import { requestFromGrid } from '../src/ensemble/types.js';
import { BrowserEngine } from '../src/headless/engine.js';
import { configSha256 } from '../src/io/result.js';
import { InputError } from '../src/core/errors.js';
import { SolverError } from '../src/solver/types.js';
import { startStaticServer, type StaticServer } from '../src/serve/static.js';
import { buildGrid, parseVary } from '../src/sweep/index.js';
import { decodeResult, decodeValue, encodeResult, encodeValue } from '../src/ensemble/wire/codec.js';
import { ensembleJsonPieces } from '../src/web/run/download.js';
import { launchChromium, REPO_ROOT } from './helpers/web.js';
import { needs } from './helpers/require.js';

const browserGpu = needs('chromium', 'swiftshader');
const OUT = join(REPO_ROOT, 'tests', 'output');

/** The reduced paper protocol of tests/gpu-engine.test.ts as --vary settings, then D(Cs+) of stage 2 (m²/s). */
const REDUCED = [
  'grid.h_fine_nm=1',
  'grid.x_fine_nm=60',
  'grid.growth=1.3',
  'stages.0.stop.charge_C=0.63e-3',
  'stages.1.stop.charge_C=0.57e-3',
];
const D_CS = 'stages.1.D.Cs.D_m2s=2.4e-23,3.8e-23';
const SWEEP = [...REDUCED, D_CS];
const varyArgs = SWEEP.flatMap((v) => ['--vary', v]);

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    ctx: { stdout: (s: string) => void out.push(s), stderr: (s: string) => void err.push(s), stderrIsTTY: false },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

/**
 * The two files describe the same members with results equal within §6:
 * every stage's blurred profiles (1 nm, 2–150 nm) to `tol`, the Li front to
 * 0.5 nm, durations and charges to 1e-4 relative. Returns the worst profile difference.
 */
function expectAgreement(a: EnsembleFile, b: EnsembleFile, tol = 0.01): number {
  expect(a.parameters).toEqual(b.parameters);
  expect(a.members.map((m) => m.values)).toEqual(b.members.map((m) => m.values));
  let worst = 0;
  a.members.forEach((m, i) => {
    const n = b.members[i];
    expect(m.status, m.reason).toBe('ok');
    expect(n.status, n.reason).toBe('ok');
    expect(m.stages.length).toBe(b.base.stages.length);
    m.stages.forEach((st, k) => {
      const ref = n.stages[k];
      const c = compareProfiles({ depth_nm: st.depth_nm!, density: st.density! }, { depth_nm: ref.depth_nm!, density: ref.density! });
      worst = Math.max(worst, c.worst);
      expect(c.worst, `member ${i} stage ${k + 1} blurred profiles`).toBeLessThanOrEqual(tol);
      expect(c.front.diff, `member ${i} stage ${k + 1} Li front`).toBeLessThanOrEqual(0.5);
      expect(Math.abs(st.duration_s / ref.duration_s - 1), `member ${i} stage ${k + 1} duration`).toBeLessThan(1e-4);
      expect(Math.abs(st.charge_C / ref.charge_C - 1), `member ${i} stage ${k + 1} charge`).toBeLessThan(1e-4);
      for (const s of Object.keys(ref.front_nm)) {
        const x = st.front_nm[s];
        const y = ref.front_nm[s];
        if (y === null || y === undefined || !Number.isFinite(y)) expect(x ?? null).toBe(y ?? null);
        else expect(Math.abs((x as number) - y), `member ${i} stage ${k + 1} ${s} front`).toBeLessThanOrEqual(0.5);
      }
    });
  });
  return worst;
}

describe('codec: the text between Node and the page', () => {
  it('a result round-trips with NaN, ±Infinity and typed arrays, in pieces no larger than asked', async () => {
    const member = (index: number) => ({
      index,
      values: [index * 1e-23],
      status: 'ok' as const,
      cells: 3,
      wall_s: 0.5,
      stages: [{ x: Float64Array.of(1, NaN, -Infinity), y: Infinity, front_nm: { Li: NaN, Rb: 2.5 } }],
    });
    const result = { engine: 'webgpu', adapter: 'test', wall_s: 1.5, members: [0, 1, 2, 3, 4].map(member) };
    const pieces = await encodeResult(result as never, { maxPieceChars: 150 });
    expect(pieces.length).toBeGreaterThan(2); // a header and several member groups
    for (const p of pieces.slice(1)) expect(Array.isArray(JSON.parse(p))).toBe(true);
    const back = decodeResult(pieces);
    expect(back.members.length).toBe(5);
    const st = back.members[3].stages[0] as unknown as { x: number[]; y: number; front_nm: { Li: number; Rb: number } };
    expect(st.x[0]).toBe(1);
    expect(st.x[1]).toBeNaN();
    expect(st.x[2]).toBe(-Infinity);
    expect(st.y).toBe(Infinity);
    expect(st.front_nm.Li).toBeNaN();
    expect(back.members[3].values[0]).toBe(3e-23);
    expect(decodeValue(encodeValue({ a: [NaN, 1] }))).toEqual({ a: [NaN, 1] });
  });
});

describe("the page's JSON download", () => {
  it('is, slice by slice, exactly the text of ensembleJsonChunks (sizes around the slice boundaries)', async () => {
    const base = getPreset('quick');
    for (const n of [0, 1, 3, 4, 5, 9, 13]) {
      const members = Array.from({ length: n }, (_, i) => ({
        values: [i * 1e-23],
        status: (i % 5 === 4 ? 'failed' : 'ok') as 'ok' | 'failed',
        ...(i % 5 === 4 ? { reason: 'step control gave up' } : {}),
        cells: 10,
        wall_s: 0.1 * i,
        stages: i % 5 === 4 ? [] : [{ name: 'Rb+', duration_s: 100 + i, front_nm: { Li: i === 2 ? NaN : 3.5 } } as never],
      }));
      const file = {
        schema: 'cait-ensemble/1',
        version: '0',
        provenance: { version: '0', date: 'd', config_sha256: 'x', node: 'browser', platform: 'p', engine: 'e', adapter: 'a', wall_s: 1 },
        engine: 'e',
        adapter: 'a',
        profiles: 'none',
        design: 'grid',
        base,
        parameters: ['stages.0.D.Rb.D_m2s'],
        species: Object.keys(base.species),
        counts: { members: n, ok: members.filter((m) => m.status === 'ok').length, failed: members.filter((m) => m.status === 'failed').length },
        members,
      } as unknown as EnsembleFile;
      const whole = ensembleJsonChunks(file).join('');
      const sliced = (await ensembleJsonPieces(file, 4)).join('');
      expect(sliced, `${n} members`).toBe(whole);
      expect(JSON.parse(sliced).members.length).toBe(n);
    }
  });
});

describe('cait headless without the page', () => {
  it('names npm run build when the page is not built, and writes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cait-headless-'));
    const c = capture();
    const code = await runCli(['headless', '--preset', 'quick', '--web-root', join(dir, 'none'), '--out', join(dir, 'x.json')], c.ctx);
    expect(code).toBe(2);
    expect(c.err()).toMatch(/npm run build/);
    expect(existsSync(join(dir, 'x.json'))).toBe(false);
  });

  it('refuses an unknown --browser-engine', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cait-headless-'));
    const c = capture();
    const code = await runCli(['headless', '--preset', 'quick', '--browser-engine', 'cuda', '--out', join(dir, 'x.json')], c.ctx);
    expect(code).toBe(2);
    expect(c.err()).toMatch(/--browser-engine cuda: unknown engine; use one of auto, webgpu, gpujs/);
  });
});

describe.skipIf(browserGpu.skip)('the ensemble engine in headless Chromium (WebGPU on SwiftShader)', () => {
  browserGpu.assertPresent();
  let webRoot: string;
  let work: string;
  /** the Node WebGPU engine on SwiftShader: the reference for every browser run */
  let nodeFile: EnsembleFile;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'cait-headless-'));
    webRoot = join(work, 'web');
    mkdirSync(OUT, { recursive: true });
    execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--outDir', webRoot, '--emptyOutDir', '--logLevel', 'warn'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const c = capture();
    const out = join(work, 'node.json');
    const code = await runCli(['ensemble', '--preset', 'paper', ...varyArgs, '--engine', 'webgpu', '--adapter', 'swiftshader', '-q', '--out', out], c.ctx);
    expect(code, c.err()).toBe(0);
    nodeFile = JSON.parse(readFileSync(out, 'utf8')) as EnsembleFile;
    expect(nodeFile.members.length).toBe(2);
    expect(nodeFile.members[0].cells).toBeGreaterThan(80);
    expect(nodeFile.members[0].cells).toBeLessThan(130);
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("(a) cait headless writes the cait-ensemble/1 of cait ensemble --engine webgpu --adapter swiftshader, recording the browser's adapter", async () => {
    const c = capture();
    const out = join(work, 'headless.json');
    const csv = join(work, 'headless.csv');
    const code = await runCli(['headless', '--preset', 'paper', ...varyArgs, '--browser-engine', 'webgpu', '--web-root', webRoot, '--out', out, '--csv', csv], c.ctx);
    expect(code, c.err()).toBe(0);
    const file = JSON.parse(readFileSync(out, 'utf8')) as EnsembleFile;
    expect(file.schema).toBe('cait-ensemble/1');
    expect(file.engine).toBe('webgpu');
    expect(file.adapter).toMatch(/swiftshader/i);
    expect(file.adapter).toMatch(/\((Chrome|Chromium) \d+ WebGPU\)$/);
    expect(file.provenance.adapter).toBe(file.adapter);
    expect(file.adapter).not.toBe(nodeFile.adapter);
    expect(file.provenance.config_sha256).toBe(nodeFile.provenance.config_sha256);
    expect(file.profiles).toBe('final');
    expect(c.err()).toMatch(/browser engine webgpu on .*WebGPU\)/);
    expect(c.err()).toMatch(/ensemble 2\/2 members \(100%\)/);
    expect(c.out()).toMatch(/ensemble: 2 members, 2 ok, 0 failed/);
    expect(readFileSync(csv, 'utf8')).toMatch(/Chrome \d+ WebGPU/);
    const worst = expectAgreement(file, nodeFile);
    console.log(`[headless] cait headless vs Node webgpu (both SwiftShader): worst blurred profile difference ${worst.toExponential(2)}`);
  });

  describe('the live-sweep panel of the page', () => {
    let browser: Browser;
    let server: StaticServer;
    let page: Page;
    beforeAll(async () => {
      server = await startStaticServer({ root: webRoot });
      browser = await launchChromium();
      page = await browser.newPage();
      await page.setViewport({ width: 1200, height: 1400 });
      await page.goto(server.url, { waitUntil: 'load' });
      await page.waitForSelector('[data-cait="run"]', { timeout: 20_000 });
    });
    afterAll(async () => {
      await browser?.close();
      await server?.close();
    });

    /** Fill the form as a user would: preset, one box per --vary, profiles, engine. */
    async function fill(p: Page, preset: string, varies: string[], engine: string): Promise<void> {
      await p.select('[data-cait="preset"]', preset);
      // drop the example box(es), then add one per parameter
      await p.$$eval('.cait-vary', (rows) => rows.forEach((r) => r.remove()));
      for (const v of varies) {
        await p.click('[data-cait="add-vary"]');
        await p.type('.cait-vary:last-child input[data-cait="vary"]', v);
      }
      await p.select('[data-cait="profiles"]', 'final');
      await p.select('[data-cait="engine"]', engine);
    }

    const state = () => page.$eval('form.cait-live-sweep', (f) => (f as HTMLFormElement).dataset.state ?? '');

    it("(b) a sweep started from the form runs on the page's WebGPU and matches the Node engine on SwiftShader", async () => {
      await fill(page, 'paper', SWEEP, 'webgpu');
      // the page must stay responsive while it runs: the longest gap between 10 ms timer ticks
      await page.evaluate(() => {
        const g = ((window as unknown as { caitGap: { max: number; last: number } }).caitGap = { max: 0, last: performance.now() });
        setInterval(() => {
          const now = performance.now();
          g.max = Math.max(g.max, now - g.last);
          g.last = now;
        }, 10);
      });
      await page.click('[data-cait="run"]');
      await page.waitForFunction(() => document.querySelector<HTMLFormElement>('form.cait-live-sweep')?.dataset.state === 'running');
      await page.screenshot({ path: join(OUT, 'live-sweep-running.png'), fullPage: true });
      await page.waitForFunction(() => document.querySelector<HTMLFormElement>('form.cait-live-sweep')?.dataset.state !== 'running', { timeout: 90_000 });
      await page.screenshot({ path: join(OUT, 'live-sweep-done.png'), fullPage: true });
      const status = await page.$eval('[data-cait="status"]', (e) => e.textContent ?? '');
      expect(await state(), status).toBe('done');
      expect(status).toMatch(/2 members, 2 ok, 0 failed/);
      expect(await page.$eval('[data-cait="progress-text"]', (e) => e.textContent ?? '')).toMatch(/^2\/2 members/);
      // the file the page offers for download
      const text = await page.$eval('[data-cait="download"]', async (a) => (await fetch((a as HTMLAnchorElement).href)).text());
      const file = JSON.parse(text) as EnsembleFile;
      expect(file.schema).toBe('cait-ensemble/1');
      expect(file.engine).toBe('webgpu');
      expect(file.adapter).toMatch(/swiftshader/i);
      expect(file.adapter).toMatch(/WebGPU\)$/);
      expect(file.provenance.node).toMatch(/^browser: /);
      // the page's sha256 of the canonical protocol is Node's
      expect(file.provenance.config_sha256).toBe(configSha256(getPreset('paper')));
      expect(file.provenance.config_sha256).toBe(nodeFile.provenance.config_sha256);
      const worst = expectAgreement(file, nodeFile);
      const gap = await page.evaluate(() => (window as unknown as { caitGap: { max: number } }).caitGap.max);
      console.log(`[headless] live sweep (page WebGPU) vs Node webgpu: worst blurred profile difference ${worst.toExponential(2)}; longest main-thread stall ${gap.toFixed(0)} ms`);
      // generous for a shared 2-core machine; a synchronous engine loop or a one-piece JSON of the result would take seconds
      expect(gap).toBeLessThan(1000);
    });

    it('(c) with navigator.gpu taken away, engine auto runs the same sweep through gpu.js (WebGL2 on SwiftShader) and agrees', async () => {
      const p2 = await browser.newPage();
      try {
        await p2.evaluateOnNewDocument(() => {
          Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
        });
        await p2.setViewport({ width: 1200, height: 1400 });
        await p2.goto(server.url, { waitUntil: 'load' });
        await p2.waitForSelector('[data-cait="run"]', { timeout: 20_000 });
        expect(await p2.evaluate(() => 'gpu' in navigator && !!navigator.gpu)).toBe(false);
        await fill(p2, 'paper', SWEEP, 'auto');
        await p2.click('[data-cait="run"]');
        await p2.waitForFunction(() => document.querySelector<HTMLFormElement>('form.cait-live-sweep')?.dataset.state !== 'running', { timeout: 90_000 });
        await p2.screenshot({ path: join(OUT, 'live-sweep-gpujs-done.png'), fullPage: true });
        const status = await p2.$eval('[data-cait="status"]', (e) => e.textContent ?? '');
        expect(status).toMatch(/2 members, 2 ok, 0 failed/);
        expect(status).toMatch(/WebGPU not used: WebGPU is not available here/);
        const text = await p2.$eval('[data-cait="download"]', async (a) => (await fetch((a as HTMLAnchorElement).href)).text());
        const file = JSON.parse(text) as EnsembleFile;
        expect(file.engine).toBe('gpujs');
        expect(file.adapter).toMatch(/^gpu\.js .*\(webgl2\) \((Chrome|Chromium) \d+ WebGL2\)$/);
        const worst = expectAgreement(file, nodeFile);
        console.log(`[headless] live sweep (page gpu.js, WebGL2) vs Node webgpu: worst blurred profile difference ${worst.toExponential(2)}`);
      } finally {
        await p2.close();
      }
    });

    it('a bad --vary box is refused with the sweep parser\'s message, and nothing runs', async () => {
      await fill(page, 'quick', ['stages.0.D.Rb.D_m2s=1e-22:2e-22'], 'webgpu');
      await page.click('[data-cait="run"]');
      const status = await page.$eval('[data-cait="status"]', (e) => ({ text: e.textContent ?? '', error: e.classList.contains('error') }));
      expect(status.error).toBe(true);
      expect(status.text).toMatch(/stages\.0\.D\.Rb\.D_m2s/);
      expect(await state()).not.toBe('running');
      expect(await page.evaluate(() => window.caitRunner!.cancel())).toBe(0);
    });

    it('(d) Cancel stops a live sweep; the form can run again', async () => {
      // the full paper protocol, three members: minutes on SwiftShader, so it is still running when cancelled
      await fill(page, 'paper', ['stages.1.D.Cs.D_m2s=2.4e-23,3.1e-23,3.8e-23'], 'webgpu');
      await page.click('[data-cait="run"]');
      // the form says running once the run is registered with the page's runner (cancel reaches it from then on)
      await page.waitForFunction(() => document.querySelector<HTMLFormElement>('form.cait-live-sweep')?.dataset.state === 'running');
      await page.screenshot({ path: join(OUT, 'live-sweep-cancelling.png'), fullPage: true });
      expect(await state()).toBe('running');
      const t = performance.now();
      await page.click('[data-cait="cancel"]');
      await page.waitForFunction(() => document.querySelector<HTMLFormElement>('form.cait-live-sweep')?.dataset.state !== 'running', { timeout: 20_000 });
      const stopS = (performance.now() - t) / 1000;
      expect(await state()).toBe('cancelled');
      expect(await page.$eval('[data-cait="status"]', (e) => e.textContent)).toBe('cancelled');
      expect(await page.$eval('[data-cait="run"]', (b) => (b as HTMLButtonElement).disabled)).toBe(false);
      expect(await page.$eval('[data-cait="cancel"]', (b) => (b as HTMLButtonElement).disabled)).toBe(true);
      // nothing is left running in the page
      expect(await page.evaluate(() => window.caitRunner!.cancel())).toBe(0);
      console.log(`[headless] live sweep stopped ${stopS.toFixed(2)} s after Cancel`);
    });
  });

  it('(c) Chromium launched without --enable-unsafe-webgpu: BrowserEngine auto picks gpu.js and says why', async () => {
    const engine = await BrowserEngine.open({ webRoot, webgpu: false });
    try {
      expect(engine.name).toBe('gpujs');
      expect(engine.adapter).toMatch(/WebGL2\)$/);
      expect(engine.fallbackReason).toMatch(/no WebGPU adapter/);
    } finally {
      await engine.close();
    }
    await expect(BrowserEngine.open({ webRoot, webgpu: false, engine: 'webgpu' })).rejects.toThrow(/no WebGPU adapter/);
  });

  // two engines (the page's and Node's), each compiling both stages' pipelines on SwiftShader (~15 s each on an idle 2-core machine)
  it('cait headless --fit runs cait fit with its members in the browser: same members and residuals as cait fit on the Node engine; the true grid member fits best', { timeout: 300_000 }, async () => {
    // the reduced protocol as a config file, and member 0's stage-2 profile (Node engine) as the measured data
    const config = join(work, 'reduced.json');
    const p = getPreset('paper');
    p.grid = { h_fine_nm: 1, x_fine_nm: 60, growth: 1.3 };
    p.stages[0].stop = { charge_C: 0.63e-3 };
    p.stages[1].stop = { charge_C: 0.57e-3 };
    writeFileSync(config, JSON.stringify(p));
    const st = nodeFile.members[0].stages[1];
    const rows = ['depth_nm,Li,Rb,Cs'];
    st.depth_nm!.forEach((x, i) => {
      if (x <= 60) rows.push([x, st.density!.Li[i], st.density!.Rb[i], st.density!.Cs[i]].join(','));
    });
    const measured = join(work, 'measured.csv');
    writeFileSync(measured, rows.join('\n') + '\n');
    const fitArgs = ['--config', config, '--measured', measured, '--vary', D_CS, '--refine', '0', '--no-sens', '-q'];

    const c = capture();
    const dir = join(work, 'fit-browser');
    const code = await runCli(['headless', '--fit', ...fitArgs, '--browser-engine', 'webgpu', '--web-root', webRoot, '--out', dir], c.ctx);
    expect(code, c.err()).toBe(0);
    const browserFit = JSON.parse(readFileSync(join(dir, 'fit.json'), 'utf8'));
    expect(browserFit.provenance.engine).toBe('webgpu');
    expect(browserFit.provenance.adapter).toMatch(/swiftshader.*\((Chrome|Chromium) \d+ WebGPU\)$/i);
    // of the grid members, the one the data came from fits best
    const grid = (browserFit.members as { values: number[]; residual: number; source: string }[]).filter((m) => m.source === 'grid');
    expect(grid.map((m) => m.values[0])).toEqual([2.4e-23, 3.8e-23]);
    expect(grid.reduce((a, b) => (b.residual < a.residual ? b : a)).values).toEqual([2.4e-23]);

    const c2 = capture();
    const dir2 = join(work, 'fit-node');
    const code2 = await runCli(['fit', ...fitArgs, '--engine', 'webgpu', '--adapter', 'swiftshader', '--out', dir2], c2.ctx);
    expect(code2, c2.err()).toBe(0);
    const nodeFit = JSON.parse(readFileSync(join(dir2, 'fit.json'), 'utf8'));
    expect(browserFit.members.map((m: { values: number[] }) => m.values)).toEqual(nodeFit.members.map((m: { values: number[] }) => m.values));
    browserFit.members.forEach((m: { residual: number; status: string }, i: number) => {
      expect(m.status).toBe('ok');
      expect(Math.abs(m.residual / nodeFit.members[i].residual - 1), `member ${i} residual`).toBeLessThan(1e-4);
    });
  });

  it('cait ensemble --engine webgpu --adapter auto with no usable WebGPU adapter runs gpu.js (said on stderr) and agrees with the WebGPU engine', () => {
    // a Vulkan driver list that names nothing: Dawn finds no Vulkan adapter (at most llvmpipe, which the engine refuses)
    const dir = mkdtempSync(join(tmpdir(), 'cait-fallback-'));
    const out = join(dir, 'fallback.json');
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'), 'ensemble', '--preset', 'paper', ...varyArgs, '--engine', 'webgpu', '--adapter', 'auto', '--out', out], {
      encoding: 'utf8',
      env: { ...process.env, VK_ICD_FILENAMES: join(dir, 'no-such-icd.json'), VK_DRIVER_FILES: join(dir, 'no-such-icd.json') },
      timeout: 110_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/running the gpu\.js engine instead \(gpu\.js [\d.]+ \(\w+\)\)/);
    const file = JSON.parse(readFileSync(out, 'utf8')) as EnsembleFile;
    expect(file.engine).toBe('gpujs');
    expect(file.adapter).toMatch(/^gpu\.js /);
    const worst = expectAgreement(file, nodeFile);
    console.log(`[headless] Node gpu.js fallback vs Node webgpu: worst blurred profile difference ${worst.toExponential(2)}`);
  });

  it('Ctrl-C during cait headless closes the browser and exits 130 without writing the output', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cait-sigint-'));
    const out = join(dir, 'never.json');
    // the full paper protocol: minutes on SwiftShader, so it is mid-run when interrupted
    const child = spawn(process.execPath, [join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'), 'headless', '--preset', 'paper', '--vary', D_CS, '--browser-engine', 'webgpu', '--web-root', webRoot, '--out', out], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CAIT_PROGRESS_EVERY_S: '0.5' },
    });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // events, not sleeps: the engine line, then a first heartbeat ("still running", every 0.5 s here) says the run is under way
    const said = (re: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (re.test(stderr)) {
            child.stderr.off('data', check);
            child.off('exit', early);
            resolve();
          }
        };
        const early = () => reject(new Error(`cait headless ended before it said ${re}: ${stderr}`));
        child.stderr.on('data', check);
        child.on('exit', early);
        check();
      });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await said(/browser engine webgpu on/);
    // the browser: Chromium, a child of the cait process
    const kids = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(child.pid)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter(([, comm]) => /chrom/i.test(comm ?? ''))
      .map(([pid]) => Number(pid));
    expect(kids).toHaveLength(1); // one browser process; its helpers are its own children
    await said(/still running/);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toMatch(/interrupted; closing the browser/);
    expect(existsSync(out)).toBe(false);
    // gone (or a zombie waiting for a reaper: no longer running)
    const alive = (pid: number) => {
      try {
        return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
      } catch {
        return false;
      }
    };
    // cait waited for the browser to close before it exited 130
    expect(kids.filter(alive)).toEqual([]);
  });

  it('(d) aborting a BrowserEngine run rejects it and stops the page', async () => {
    const engine = await BrowserEngine.open({ webRoot, engine: 'webgpu' });
    try {
      const base = getPreset('paper');
      const req = requestFromGrid(buildGrid(base, [parseVary('stages.1.D.Cs.D_m2s=2.4e-23,3.1e-23,3.8e-23')]), base, 'none');
      const ctl = new AbortController();
      // abort once the request is on its way to the page (run() has sent it): the page's runner registers the run
      // before anything else, so the cancel that follows it reaches the run, whatever it is doing by then
      const running = engine.run(req, { signal: ctl.signal });
      ctl.abort();
      await expect(running).rejects.toThrow(/aborted/);
      expect(await engine.session.page.evaluate(() => window.caitRunner!.cancel())).toBe(0);
      // the page's input errors arrive as InputError (exit 2), with the engine's message
      const bad = structuredClone(req);
      for (const m of bad.members) m.stages[0].record.times_s = [10];
      const err = await engine.run(bad).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toMatch(/member 0: stages\.0\.record: the webgpu engine records no snapshots/);
    } finally {
      await engine.close();
    }
  });

  it('a browser that goes away mid-run fails the run with a one-line engine error (SolverError), not a hang', async () => {
    const engine = await BrowserEngine.open({ webRoot, engine: 'webgpu' });
    try {
      const base = getPreset('paper');
      const req = requestFromGrid(buildGrid(base, [parseVary(D_CS)]), base, 'none');
      // the browser goes away once the request is on its way to the page
      const running = engine.run(req);
      void engine.session.browser.close();
      const err = await running.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SolverError);
      expect((err as Error).message).toMatch(/^browser engine: /);
      expect((err as Error).message).not.toMatch(/\n/);
    } finally {
      await engine.close();
    }
  });
});
