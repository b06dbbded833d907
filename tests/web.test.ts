/**
 * The explorer page in real headless Chromium (puppeteer, Debian's chromium),
 * built by vite into dist-web/ and served from 127.0.0.1 by src/serve/static.ts;
 * plus `cait serve` and the static server itself.
 *
 * Fixtures: tests/fixtures/web/fit-small.json (a cait-fit/1 of a 6 × 5 grid
 * computed with the f64 solver, see make-fit-small.mjs), ensemble-small.json
 * (cait ensemble --preset quick, 3 members, --profiles final), the SIMS files
 * of tests/fixtures/sims. Screenshots go to tests/output/; with
 * CAIT_UPDATE_SCREENSHOT=1 the README screenshot
 * tests/fixtures/web/screenshot-heatmap.png is rewritten.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { color } from 'd3-color';
import { interpolateViridis } from 'd3-scale-chromatic';
import { DOMParser } from 'linkedom';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fmtNum } from '../src/core/format.js';
import { InputError } from '../src/core/errors.js';
import type { EnsembleFile } from '../src/ensemble/output.js';
import type { FitFile } from '../src/fit/schema.js';
import { runCli } from '../src/cli/main.js';
import { mimeType, startStaticServer, type StaticServer } from '../src/serve/static.js';
import { importSims } from '../src/sims/index.js';
import { buildPage, launchChromium, REPO_ROOT, watchRequests } from './helpers/web.js';
import { needs } from './helpers/require.js';

const FIX = join(REPO_ROOT, 'tests', 'fixtures', 'web');
const SIMS = join(REPO_ROOT, 'tests', 'fixtures', 'sims');
const OUT = join(REPO_ROOT, 'tests', 'output');
const fit: FitFile = JSON.parse(readFileSync(join(FIX, 'fit-small.json'), 'utf8'));
const ens: EnsembleFile = JSON.parse(readFileSync(join(FIX, 'ensemble-small.json'), 'utf8'));

// ---- helpers -------------------------------------------------------------------------------------

interface Cell {
  i: number;
  j: number;
  member: number;
  value: number;
  fill: string;
  region: boolean;
}

async function cells(page: Page): Promise<Cell[]> {
  return page.$$eval('#heatmap-plot rect.cell', (rs) =>
    rs.map((r) => ({
      i: Number(r.getAttribute('data-i')),
      j: Number(r.getAttribute('data-j')),
      member: Number(r.getAttribute('data-member')),
      value: r.getAttribute('data-value') === '' ? NaN : Number(r.getAttribute('data-value')),
      fill: r.getAttribute('fill') ?? '',
      region: r.getAttribute('data-region') === '1',
    })),
  );
}

/** The points of every drawn path in a figure, in data units (inverted through the panel's scales). */
async function drawnSeries(page: Page, host: string, series: string): Promise<{ panel: number; stage: number; species: string; member: number; x: number[]; y: number[] }[]> {
  const raw = await page.$$eval(
    `${host} g.panel path[data-series="${series}"]`,
    (ps) =>
      ps.map((p) => {
        const g = p.closest('g.panel')!;
        return {
          panel: Number(g.getAttribute('data-panel')),
          stage: Number(g.getAttribute('data-stage')),
          species: p.getAttribute('data-species')!,
          member: Number(p.getAttribute('data-member') ?? -1),
          d: p.getAttribute('d')!,
          xd: g.getAttribute('data-xdomain')!.split(',').map(Number),
          xr: g.getAttribute('data-xrange')!.split(',').map(Number),
          yd: g.getAttribute('data-ydomain')!.split(',').map(Number),
          yr: g.getAttribute('data-yrange')!.split(',').map(Number),
        };
      }),
  );
  const inv = (v: number, d: number[], r: number[]) => d[0] + ((v - r[0]) * (d[1] - d[0])) / (r[1] - r[0]);
  return raw.map((s) => {
    const pts = [...s.d.matchAll(/[ML]\s*(-?[\d.]+(?:e[-+]?\d+)?)[ ,](-?[\d.]+(?:e[-+]?\d+)?)/g)].map((m) => [Number(m[1]), Number(m[2])]);
    return { panel: s.panel, stage: s.stage, species: s.species, member: s.member, x: pts.map((p) => inv(p[0], s.xd, s.xr)), y: pts.map((p) => inv(p[1], s.yd, s.yr)) };
  });
}

/** Do something that redraws (a control change, a load) and wait until the page has drawn it. */
async function redrawn(page: Page, action: () => Promise<unknown>): Promise<void> {
  const before = await page.$eval('body', (b) => Number(b.dataset.renders ?? 0));
  await action();
  await page.waitForFunction((n) => Number(document.body.dataset.renders ?? 0) > n, { timeout: 60_000 }, before);
}

function expectClose(actual: number[], expected: number[], tol: number, what: string): void {
  expect(actual.length, `${what}: number of points`).toBe(expected.length);
  const worst = Math.max(0, ...actual.map((a, k) => Math.abs(a - expected[k])));
  expect(worst, `${what}: largest deviation`).toBeLessThan(tol);
}

function minResidual(f: FitFile): number {
  return Math.min(...f.residual.filter((r): r is number => r !== null));
}

/** A 3-parameter fit from fit-small: a third axis (stage 1 U_V, 3 values) scaling the residual smoothly. */
function threeParameterFit(): FitFile {
  const third = [10, 15, 20];
  const axes = [...fit.grid.axes, third];
  const residual: number[] = [];
  const members: FitFile['members'] = [];
  fit.residual.forEach((r0, m) => {
    third.forEach((u, k) => {
      const r = (r0 as number) * (1 + 0.5 * (k - 1) * (k - 1)) + 0.02 * k;
      residual.push(r);
      members.push({ ...fit.members[m], values: [...fit.members[m].values, u], residual: r });
    });
  });
  let best = 0;
  residual.forEach((r, i) => {
    if (r < residual[best]) best = i;
  });
  return {
    ...fit,
    parameters: [...fit.parameters, 'stages.0.U_V'],
    scale: [...fit.scale, 'linear'],
    grid: { axes, size: residual.length },
    residual,
    members,
    best: { ...fit.best, values: members[best].values, residual: residual[best], member: best, interval: [...fit.best.interval, [15, 15]] },
    top: [],
    sensitivity: undefined,
  };
}

/** A 100 × 100 fit (10 000 members) with a smooth residual valley; every member stores a model (fit-small's, scaled by 1 + 1e-6·member). */
function bigFit(n = 100): FitFile {
  const a = Array.from({ length: n }, (_, i) => 1e-23 * Math.pow(10, i / (n - 1)));
  const b = Array.from({ length: n }, (_, j) => 0.15 + (0.15 * j) / (n - 1));
  const residual: number[] = [];
  const members: FitFile['members'] = [];
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const u = Math.log10(a[i] / 4e-23);
      const v = (b[j] - 0.21) / 0.03;
      const r = 0.2 + 0.8 * (u + 0.3 * v) ** 2 + 0.05 * v * v;
      residual.push(r);
      const k = i * n + j;
      const model = fit.members[k % fit.grid.size].model!.map((o) => Object.fromEntries(Object.entries(o).map(([sp, v]) => [sp, v.map((x) => x * (1 + 1e-6 * k))])));
      members.push({ values: [a[i], b[j]], status: 'ok', residual: r, source: 'grid', model });
    }
  let best = 0;
  residual.forEach((r, i) => {
    if (r < residual[best]) best = i;
  });
  return {
    ...fit,
    grid: { axes: [a, b], size: n * n },
    residual,
    members,
    best: { ...fit.best, values: members[best].values, residual: residual[best], member: best },
    top: [],
  };
}

// ---- the page ------------------------------------------------------------------------------------

const chromium = needs('chromium');

describe.skipIf(chromium.skip)('explorer page in headless Chromium', () => {
  chromium.assertPresent();
  let browser: Browser;
  let server: StaticServer;
  let root: string;
  const watchers: { foreign: () => string[] }[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    // the page as `npm run build` makes it, built into a folder of this test's own
    root = mkdtempSync(join(tmpdir(), 'cait-web-'));
    buildPage(true, root);
    for (const f of ['fit-small.json', 'ensemble-small.json']) copyFileSync(join(FIX, f), join(root, f));
    mkdirSync(OUT, { recursive: true });
    server = await startStaticServer({ root });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  async function open(search = '', before?: (page: Page) => Promise<unknown>): Promise<Page> {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 1000 });
    await before?.(page);
    watchers.push(watchRequests(page, new URL(server.url).origin));
    page.on('pageerror', (e) => void pageErrors.push(String(e)));
    await page.goto(server.url + search);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 60_000 });
    return page;
  }

  it('loads the fit from ?file=: one cell per grid point in grid order with its residual, the best cell and the Δχ² = 1 region marked', async () => {
    const page = await open('?file=fit-small.json');
    expect(await page.$eval('body', (b) => b.dataset.loaded)).toBe('fit');
    const cs = await cells(page);
    const [n0, n1] = fit.grid.axes.map((a) => a.length);
    expect(cs.length).toBe(fit.grid.size);
    expect(new Set(cs.map((c) => `${c.i},${c.j}`)).size).toBe(fit.grid.size);
    // x = parameter 0, y = parameter 1; the last parameter varies fastest in the grid order
    for (const c of cs) {
      expect(c.member).toBe(c.i * n1 + c.j);
      expect(c.value).toBe(fit.residual[c.member]);
    }
    expect(Math.max(...cs.map((c) => c.i))).toBe(n0 - 1);
    // best: the grid minimum, outlined
    expect(fit.residual[fit.best.member]).toBe(minResidual(fit));
    const best = await page.$eval('#heatmap-plot .best-marker', (r) => [Number(r.getAttribute('data-i')), Number(r.getAttribute('data-j'))]);
    expect(best).toEqual([Math.floor(fit.best.member / n1), fit.best.member % n1]);
    // Δχ² = 1: residual ≤ min + s2
    const inRegion = fit.residual.map((r, m) => (r !== null && r <= minResidual(fit) + fit.noise.s2 ? m : -1)).filter((m) => m >= 0);
    expect(inRegion.length).toBeGreaterThanOrEqual(2); // the fixture's valley: the best and one neighbour
    expect(cs.filter((c) => c.region).map((c) => c.member).sort((a, b) => a - b)).toEqual(inRegion);
    expect(await page.$$eval('#heatmap-plot .region-marker', (r) => r.length)).toBe(inRegion.length);
    // colours: viridis over log10(residual) between the map's min and max
    const lo = Math.log10(minResidual(fit));
    const hi = Math.log10(Math.max(...(fit.residual as number[])));
    for (const c of cs) expect(color(c.fill)!.formatHex()).toBe(color(interpolateViridis((Math.log10(c.value) - lo) / (hi - lo)))!.formatHex());
    await page.screenshot({ path: join(OUT, 'web-fit-loaded.png'), fullPage: true });
    await page.close();
  });

  it('swapping the axes transposes the map; the linear scale recolours it', async () => {
    const page = await open('?file=fit-small.json');
    const before = await cells(page);
    await redrawn(page, () => page.select('#axis-x', fit.parameters[1]));
    expect(new URL(page.url()).searchParams.get('x')).toBe(fit.parameters[1]);
    const after = await cells(page);
    const n1 = fit.grid.axes[1].length;
    expect(after.length).toBe(before.length);
    for (const c of after) {
      // now i runs along parameter 1 and j along parameter 0
      expect(c.member).toBe(c.j * n1 + c.i);
      const twin = before.find((b) => b.i === c.j && b.j === c.i)!;
      expect(c.value).toBe(twin.value);
    }
    expect(await page.$eval('#heatmap-plot svg .xlabel', (t) => t.textContent)).toContain('width.value_eV');
    await redrawn(page, () => page.select('#scale', 'linear'));
    expect(await page.$eval('#heatmap-plot svg', (s) => s.getAttribute('data-scale'))).toBe('linear');
    const lin = await cells(page);
    const lo = minResidual(fit);
    const hi = Math.max(...(fit.residual as number[]));
    for (const c of lin) expect(color(c.fill)!.formatHex()).toBe(color(interpolateViridis((c.value - lo) / (hi - lo)))!.formatHex());
    await page.close();
  });

  it("with three parameters: 'min' mode is the minimum over the third axis, 'fixed' its slice, min ≤ fixed cell by cell", async () => {
    const f3 = threeParameterFit();
    const page = await open();
    await page.evaluate((t) => (window as any).caitExplorer.loadText(t, 'fit-3p.json'), JSON.stringify(f3));
    await page.waitForSelector('body[data-loaded="fit"]');
    const n1 = f3.grid.axes[1].length;
    const n2 = f3.grid.axes[2].length;
    const at = (i: number, j: number, k: number) => (i * n1 + j) * n2 + k;
    const minCells = await cells(page);
    expect(minCells.length).toBe(f3.grid.axes[0].length * n1);
    for (const c of minCells) {
      const slice = [0, 1, 2].map((k) => f3.residual[at(c.i, c.j, k)] as number);
      expect(c.value).toBe(Math.min(...slice));
      expect(f3.residual[c.member]).toBe(c.value);
    }
    await redrawn(page, () => page.select('#mode', 'fixed'));
    for (const k of [0, 2, 1]) {
      await redrawn(page, () => page.select('#fixed-controls select[data-param="2"]', String(k)));
      const b = f3.best.member;
      expect(new URL(page.url()).searchParams.get('fix')).toBe(`${Math.floor(b / (n1 * n2))},${Math.floor(b / n2) % n1},${k}`);
      const fixed = await cells(page);
      for (const c of fixed) {
        expect(c.member).toBe(at(c.i, c.j, k));
        expect(c.value).toBe(f3.residual[at(c.i, c.j, k)]);
        const m = minCells.find((x) => x.i === c.i && x.j === c.j)!;
        expect(m.value).toBeLessThanOrEqual(c.value);
      }
      // the best member is in the k = 1 slice only (the residual's third factor is smallest there)
      expect(await page.$$eval('#heatmap-plot .best-marker', (r) => r.length)).toBe(f3.best.member % n2 === k ? 1 : 0);
    }
    await page.close();
  });

  it('a one-parameter fit is one row of cells', async () => {
    const n1 = fit.grid.axes[1].length;
    const j0 = 2;
    const rows = fit.grid.axes[0].map((_, i) => i * n1 + j0);
    const f1: FitFile = {
      ...fit,
      parameters: [fit.parameters[0]],
      scale: [fit.scale[0]],
      grid: { axes: [fit.grid.axes[0]], size: rows.length },
      residual: rows.map((m) => fit.residual[m]),
      members: rows.map((m) => ({ ...fit.members[m], values: [fit.members[m].values[0]] })),
      best: { ...fit.best, values: [fit.best.values[0]], interval: [fit.best.interval[0]], member: 0 },
      top: [],
      sensitivity: undefined,
    };
    const page = await open();
    await redrawn(page, () => page.evaluate((t) => (window as any).caitExplorer.loadText(t, 'fit-1p.json'), JSON.stringify(f1)));
    const cs = await cells(page);
    expect(cs.map((c) => [c.i, c.j, c.member, c.value])).toEqual(rows.map((m, i) => [i, 0, i, fit.residual[m]]));
    await page.close();
  });

  it('hovering a cell shows its parameter values and residual', async () => {
    const page = await open('?file=fit-small.json');
    const m = 7;
    await page.hover(`#heatmap-plot rect.cell[data-member="${m}"]`);
    await page.waitForSelector('#tooltip:not([hidden])');
    const tip = await page.$eval('#tooltip', (t) => ({ member: t.getAttribute('data-member'), text: t.textContent ?? '' }));
    expect(tip.member).toBe(String(m));
    for (const v of fit.members[m].values) expect(tip.text).toContain(fmtNum(v));
    expect(tip.text).toContain(`residual = ${fmtNum(fit.residual[m] as number)}`);
    expect(tip.text).toContain(`χ² = ${fmtNum((fit.residual[m] as number) / fit.noise.s2)}`);
    await page.mouse.move(5, 5);
    await page.waitForSelector('#tooltip[hidden]');
    await page.close();
  });

  it("clicking a cell draws that member's model over the measured points beside the best fit, for both stages", async () => {
    const page = await open('?file=fit-small.json');
    const m = fit.residual.findIndex((r, i) => r !== null && i !== fit.best.member && i % 3 === 1);
    await page.click(`#heatmap-plot rect.cell[data-member="${m}"]`);
    await page.waitForSelector(`#profiles-plot path[data-series="member"][data-member="${m}"]`);
    expect(new URL(page.url()).searchParams.get('cell')).toBe(String(m));
    expect(await page.$eval('#heatmap-plot .selected-marker', (r) => Number(r.getAttribute('data-i')) * 5 + Number(r.getAttribute('data-j')))).toBe(m);
    const member = await drawnSeries(page, '#profiles-plot', 'member');
    const best = await drawnSeries(page, '#profiles-plot', 'best');
    const obs = fit.measured.observations;
    expect(new Set(member.map((s) => s.stage))).toEqual(new Set([0, 1]));
    expect(member.length).toBe(obs.reduce((s, o) => s + o.species.length, 0));
    for (const s of member) {
      const o = obs[s.panel];
      expect(s.stage).toBe(o.stage);
      expect(s.member).toBe(m);
      expectClose(s.x, o.depth_nm, 1e-3, `member ${m} ${s.species} depth, observation ${s.panel}`);
      expectClose(s.y, fit.members[m].model![s.panel][s.species], 1e-4, `member ${m} ${s.species}, observation ${s.panel}`);
    }
    for (const s of best) expectClose(s.y, fit.best.model[s.panel][s.species], 1e-4, `best ${s.species}, observation ${s.panel}`);
    // the member differs from the best fit somewhere (else the check above could not tell them apart)
    const diff = Math.max(...member.map((s) => Math.max(...s.y.map((v, k) => Math.abs(v - fit.best.model[s.panel][s.species][k])))));
    expect(diff).toBeGreaterThan(1e-3);
    // measured points: one circle per measured value
    const pts = await page.$$eval('#profiles-plot g[data-series="measured"] circle', (c) => c.length);
    expect(pts).toBe(obs.reduce((s, o) => s + o.species.reduce((t, sp) => t + o.target[sp].filter(Number.isFinite).length, 0), 0));
    await page.screenshot({ path: join(OUT, 'web-member-profiles.png'), fullPage: true });
    if (process.env.CAIT_UPDATE_SCREENSHOT === '1') {
      await page.click(`#heatmap-plot rect.cell[data-member="${fit.best.member}"]`);
      await page.hover('#heatmap-plot rect.cell[data-i="5"][data-j="0"]'); // its tooltip beside the map
      await page.setViewport({ width: 1280, height: 1400 });
      await page.screenshot({ path: join(FIX, 'screenshot-heatmap.png'), clip: { x: 0, y: 0, width: 1280, height: 1400 } });
    }
    await page.close();
  });

  it('the URL carries the view: reloading it gives the same axes, mode, scale, selection and map', async () => {
    const page = await open('?file=fit-small.json');
    await redrawn(page, () => page.select('#axis-x', fit.parameters[1]));
    await redrawn(page, () => page.select('#scale', 'linear'));
    await page.click('#heatmap-plot rect.cell[data-member="3"]');
    await page.waitForSelector('#profiles-plot path[data-member="3"]');
    const url = page.url();
    const q = new URL(url).searchParams;
    expect(q.get('file')).toBe('fit-small.json');
    expect(q.get('x')).toBe(fit.parameters[1]);
    expect(q.get('y')).toBe(fit.parameters[0]);
    expect(q.get('scale')).toBe('linear');
    expect(q.get('cell')).toBe('3');
    const state = await page.evaluate(() => (window as any).caitExplorer.state());
    const map = await cells(page);
    const sel = await page.$eval('#heatmap-plot .selected-marker', (r) => [r.getAttribute('data-i'), r.getAttribute('data-j')]);
    const again = await open(new URL(url).search);
    expect(await again.evaluate(() => (window as any).caitExplorer.state())).toEqual(state);
    expect(await cells(again)).toEqual(map);
    expect(await again.$eval('#heatmap-plot .selected-marker', (r) => [r.getAttribute('data-i'), r.getAttribute('data-j')])).toEqual(sel);
    // member 3's model, one line per species and observation (fit-small.json: 2 stages × Li, Rb, Cs), as before the reload
    const memberLines = (p: Page) => p.$$eval('#profiles-plot path[data-series="member"][data-member="3"]', (ps) => ps.length);
    expect(await memberLines(again)).toBe(6);
    expect(await memberLines(page)).toBe(6);
    expect(await again.$eval('#scale', (s) => (s as HTMLSelectElement).value)).toBe('linear');
    await page.close();
    await again.close();
  });

  it('exports the heatmap as SVG (one rect per cell), PNG (2× size) and CSV (the residuals), and the buttons download them', async () => {
    const page = await open('?file=fit-small.json');
    const svg: string = await page.evaluate(() => (window as any).caitExplorer.exportSvg('heatmap'));
    expect(svg.startsWith('<?xml')).toBe(true);
    const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
    const root = doc.querySelector('svg')!;
    expect(root.getAttribute('xmlns')).toBe('http://www.w3.org/2000/svg');
    expect(doc.querySelectorAll('rect.cell').length).toBe(fit.grid.size);
    expect(doc.querySelectorAll('rect.best-marker').length).toBe(1);
    const csv: string = await page.evaluate(() => (window as any).caitExplorer.exportCsv('heatmap'));
    const lines = csv.trim().split('\n').filter((l) => !l.startsWith('#'));
    expect(lines[0]).toBe(`i,j,${fit.parameters[0]},${fit.parameters[1]},member,residual,chi2`);
    const rows = lines.slice(1).map((l) => l.split(',').map(Number));
    expect(rows.length).toBe(fit.grid.size);
    for (const [i, j, a, b, m, r, chi] of rows) {
      expect(a).toBe(fit.grid.axes[0][i]);
      expect(b).toBe(fit.grid.axes[1][j]);
      expect(m).toBe(i * fit.grid.axes[1].length + j);
      expect(r).toBe(fit.residual[m]);
      expect(chi).toBeCloseTo((fit.residual[m] as number) / fit.noise.s2, 9);
    }
    const png: string = await page.evaluate(() => (window as any).caitExplorer.exportPng('heatmap'));
    expect(png.startsWith('data:image/png;base64,')).toBe(true);
    const bytes = Buffer.from(png.slice(png.indexOf(',') + 1), 'base64');
    expect(bytes.subarray(1, 4).toString()).toBe('PNG');
    const w = Number(root.getAttribute('width'));
    const h = Number(root.getAttribute('height'));
    expect([bytes.readUInt32BE(16), bytes.readUInt32BE(20)]).toEqual([2 * w, 2 * h]);
    // the PNG is not blank: the drawn image has many distinct colours (d3 cells, viridis)
    const colours = await page.evaluate(async (src) => {
      const img = new Image();
      img.src = src;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.width;
      c.height = img.height;
      const ctx = c.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      const set = new Set<number>();
      for (let k = 0; k < d.length; k += 4 * 97) set.add((d[k] << 16) | (d[k + 1] << 8) | d[k + 2]);
      return set.size;
    }, png);
    expect(colours).toBeGreaterThan(20);
    // the buttons: downloads with the same content
    const dl = mkdtempSync(join(tmpdir(), 'cait-dl-'));
    const cdp = await page.createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: dl });
    await page.click('button[data-export="csv"][data-view="heatmap"]');
    await page.click('button[data-export="svg"][data-view="profiles"]');
    const want = ['fit-small-heatmap.csv', 'fit-small-profiles.svg'];
    for (let t = 0; t < 100 && !want.every((f) => existsSync(join(dl, f))); t++) await new Promise((r) => setTimeout(r, 100));
    expect(readdirSync(dl).sort()).toEqual(want);
    expect(readFileSync(join(dl, 'fit-small-heatmap.csv'), 'utf8')).toBe(csv);
    expect(readFileSync(join(dl, 'fit-small-profiles.svg'), 'utf8')).toContain('data-series="best"');
    rmSync(dl, { recursive: true, force: true });
    // the profile CSV holds the drawn best fit
    const pcsv: string = await page.evaluate(() => (window as any).caitExplorer.exportCsv('profiles'));
    const bestRows = pcsv.split('\n').filter((l) => l.includes(',best,Cs,'));
    const o1 = fit.measured.observations[1];
    expect(bestRows.filter((l) => l.startsWith(`"after stage 2`) || l.startsWith('after stage 2')).map((l) => Number(l.split(',').at(-1)))).toEqual(fit.best.model[1].Cs);
    expect(o1.depth_nm.length).toBe(fit.best.model[1].Cs.length);
    await page.close();
  });

  it('sensitivity: one bar per parameter with its RMS, the ±20 % profiles of the file', async () => {
    const page = await open('?file=fit-small.json');
    const bars = await page.$$eval('#sensitivity-plot g.bar', (g) => g.map((b) => [b.getAttribute('data-path'), Number(b.getAttribute('data-rms'))]));
    expect(bars).toEqual(fit.sensitivity!.map((s) => [s.path, s.rms]));
    const minus = await drawnSeries(page, '#pm20-plot', 'minus20');
    const plus = await drawnSeries(page, '#pm20-plot', 'plus20');
    const nObs = fit.measured.observations.length;
    expect(minus.length).toBe(fit.sensitivity!.length * fit.measured.observations.reduce((s, o) => s + o.species.length, 0));
    for (const s of minus) expectClose(s.y, fit.sensitivity![Math.floor(s.panel / nObs)].minus20[s.panel % nObs][s.species], 1e-4, `×0.8 ${s.species} panel ${s.panel}`);
    for (const s of plus) expectClose(s.y, fit.sensitivity![Math.floor(s.panel / nObs)].plus20[s.panel % nObs][s.species], 1e-4, `×1.2 ${s.species} panel ${s.panel}`);
    await page.close();
  });

  it('imports a SIMS file through the file picker (IONTOF, with crater depth and sensitivities) and by drag and drop (CSV)', async () => {
    const page = await open();
    await page.type('#sims-crater', '40');
    await page.type('#sims-sens', 'Li=1,Rb=2.6');
    const input = await page.$('#file-input');
    await (input as any).uploadFile(join(SIMS, 'iontof_profile.txt'));
    await page.waitForSelector('body[data-loaded="sims"]');
    const want = importSims(readFileSync(join(SIMS, 'iontof_profile.txt'), 'utf8'), { craterDepth_nm: 40, sensitivity: { Li: 1, Rb: 2.6 } });
    const csv: string = await page.evaluate(() => (window as any).caitExplorer.exportCsv('sims'));
    for (const el of want.elements) {
      const rows = csv.split('\n').filter((l) => l.includes(`,measured,${el},`)).map((l) => l.split(',').slice(-2).map(Number));
      expectClose(rows.map((r) => r[0]), want.depth_nm, 1e-12, `${el} depth`);
      expectClose(rows.map((r) => r[1]), want.c[el], 1e-12, `${el} density`);
    }
    expect(await page.$$eval('#sims-plot circle', (c) => c.length)).toBe(want.elements.length * want.depth_nm.length);
    // drag and drop: with the sensitivities still set, an already normalized CSV is refused with the importer's message
    const text = readFileSync(join(SIMS, 'normalized.csv'), 'utf8');
    const drop = (t: string) =>
      page.evaluate((t) => {
        const dt = new DataTransfer();
        dt.items.add(new File([t], 'normalized.csv', { type: 'text/csv' }));
        document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      }, t);
    await drop(text);
    await page.waitForSelector('body[data-loaded="error"]');
    let nodeError: unknown;
    try {
      importSims(text, { craterDepth_nm: 40, sensitivity: { Li: 1, Rb: 2.6 } }, 'normalized.csv');
    } catch (e) {
      nodeError = e;
    }
    expect(nodeError).toBeInstanceOf(InputError);
    const message = await page.$eval('#status', (e) => e.textContent);
    expect(message).toBe((nodeError as Error).message);
    expect(message).toMatch(/^normalized\.csv: /);
    expect(await page.$eval('#status', (e) => e.classList.contains('error'))).toBe(true);
    await page.$eval('#sims-sens', (e) => ((e as HTMLInputElement).value = ''));
    await page.$eval('#sims-crater', (e) => ((e as HTMLInputElement).value = ''));
    await drop(text);
    await page.waitForSelector('body[data-loaded="sims"]');
    const norm = importSims(text, {}, 'normalized.csv');
    const csv2: string = await page.evaluate(() => (window as any).caitExplorer.exportCsv('sims'));
    for (const el of norm.elements)
      expectClose(
        csv2.split('\n').filter((l) => l.includes(`,measured,${el},`)).map((l) => Number(l.split(',').at(-1))),
        norm.c[el],
        1e-12,
        `dropped ${el}`,
      );
    await page.close();
  });

  it('an ensemble file: member table, the first member drawn, ticking another adds its profiles', async () => {
    const page = await open('?file=ensemble-small.json');
    expect(await page.$eval('body', (b) => b.dataset.loaded)).toBe('ensemble');
    expect(await page.$$eval('#member-table tr[data-member]', (r) => r.length)).toBe(ens.members.length);
    const stages = ens.base.stages.length;
    const first = await drawnSeries(page, '#ensemble-profiles-plot', 'member');
    expect(first.length).toBe(stages * ens.species.length);
    expect(new Set(first.map((s) => s.member))).toEqual(new Set([0]));
    await page.click('#member-table input[data-member="2"]');
    await page.waitForSelector('#ensemble-profiles-plot path[data-member="2"]');
    expect(new URL(page.url()).searchParams.get('members')).toBe('0,2');
    const both = await drawnSeries(page, '#ensemble-profiles-plot', 'member');
    expect(both.length).toBe(2 * stages * ens.species.length);
    for (const s of both) {
      const st = ens.members[s.member].stages[s.panel];
      const n = st.depth_nm!.filter((x) => x <= 150).length;
      expectClose(s.x, st.depth_nm!.slice(0, n), 1e-3, `member ${s.member} depth`);
      expectClose(s.y, st.density![s.species].slice(0, n), 1e-4, `member ${s.member} ${s.species}`);
    }
    await page.close();
  });

  it('a 10 000-member fit with stored models (~30 MB): parsed in a worker, 10 000 cells drawn, hover and click stay responsive (long tasks measured)', async () => {
    const big = bigFit(100);
    const text = JSON.stringify(big);
    writeFileSync(join(root, 'big.json'), text);
    const t0 = Date.now();
    // long tasks from the first script on; the file comes by ?file= (fetch), as a shared link would load it
    const page = await open('?file=big.json', (p) =>
      p.evaluateOnNewDocument(() => {
        (window as any).longTasks = [];
        new PerformanceObserver((l) => {
          for (const e of l.getEntries()) (window as any).longTasks.push(e.duration);
        }).observe({ type: 'longtask', buffered: true });
      }),
    );
    expect(await page.$eval('body', (b) => b.dataset.loaded)).toBe('fit');
    const loadMs = Date.now() - t0;
    expect(await page.$$eval('#heatmap-plot rect.cell', (r) => r.length)).toBe(10_000);
    const renderMs: number = await page.evaluate(() => (window as any).caitExplorer.lastRenderMs());
    const loadTasks: number[] = await page.evaluate(() => (window as any).longTasks.splice(0));
    const t1 = Date.now();
    const target = 4321;
    await page.hover(`#heatmap-plot rect.cell[data-member="${target}"]`);
    await page.waitForSelector(`#tooltip[data-member="${target}"]:not([hidden])`);
    await page.click(`#heatmap-plot rect.cell[data-member="${target}"]`);
    await page.waitForSelector(`#profiles-plot path[data-series="member"][data-member="${target}"]`);
    expect(new URL(page.url()).searchParams.get('cell')).toBe(String(target));
    await redrawn(page, () => page.select('#scale', 'linear'));
    const interactMs = Date.now() - t1;
    const interactionTasks: number[] = await page.evaluate(() => (window as any).longTasks);
    // the member's model came from the parser worker (the page holds the file without the models)
    for (const s of await drawnSeries(page, '#profiles-plot', 'member'))
      expectClose(s.y, big.members[target].model![s.panel][s.species], 1e-4, `member ${target} ${s.species}`);
    const worst = Math.max(0, ...interactionTasks);
    console.log(
      `10k-member fit (${(text.length / 1e6).toFixed(1)} MB JSON): load+draw ${loadMs} ms (render ${renderMs.toFixed(0)} ms, longest task ${Math.max(0, ...loadTasks).toFixed(0)} ms); hover+click+rescale ${interactMs} ms, longest task during them ${worst.toFixed(0)} ms (${interactionTasks.length} long tasks)`,
    );
    // the worker fetches and parses the file and keeps the models; the cells go in in chunks of 2000
    // per task; hover and selection move no cells. Measured here (2 shared cores, no GPU): longest
    // task 50-95 ms. The bound leaves room for a loaded CI machine; parsing this file on the main
    // thread and drawing all cells in one task took 180-210 ms.
    expect(Math.max(0, ...loadTasks)).toBeLessThan(200);
    expect(worst).toBeLessThan(200);
    await page.close();
  });

  it('refuses what it cannot show with one message naming the file and field; a foreign ?file= is not fetched', async () => {
    const page = await open();
    const status = async (text: string, name: string) => {
      await page.evaluate((t, n) => (window as any).caitExplorer.loadText(t, n), text, name);
      await page.waitForSelector('body[data-loaded="error"]');
      const r = await page.$eval('#status', (e) => [e.textContent, e.classList.contains('error')] as const);
      await page.$eval('body', (b) => delete b.dataset.loaded);
      return r;
    };
    expect(await status('{"schema": "cait-fit/1", ', 'cut.json')).toEqual([expect.stringMatching(/^cut\.json: malformed JSON at line 1, column 26: unexpected end of the text \(a "quoted" key was expected\)$/), true]);
    expect(await status(JSON.stringify({ ...fit, residual: fit.residual.slice(1) }), 'short.json')).toEqual([
      `short.json: residual: expected ${fit.grid.size} entries (one per grid member), got ${fit.grid.size - 1}`,
      true,
    ]);
    expect(await status(JSON.stringify({ ...fit, schema: 'cait-result/1' }), 'other.json')).toEqual([
      'other.json: schema "cait-result/1" is none of cait-fit/1, cait-ensemble/1, cait-gsa/1',
      true,
    ]);
    await page.close();
    const away = await open('?file=http://192.0.2.1/fit.json');
    expect(await away.$eval('#status', (e) => e.textContent)).toMatch(/is not on this server .*loads only local files/);
    await away.close();
  });

  it('the live-sweep panel mounts in #live-sweep', async () => {
    const page = await open();
    const state = await page.$eval('#live-sweep', (e) => (e as HTMLElement).dataset.state);
    if (existsSync(join(REPO_ROOT, 'src', 'web', 'run', 'panel.ts'))) {
      expect(state).toBe('mounted');
      expect(await page.$$eval('#live-sweep [data-cait="run"]', (b) => b.length)).toBe(1);
    } else expect(state).toBe('absent');
    await page.close();
  });

  it('the page made only requests to its own server', () => {
    const foreign = watchers.flatMap((w) => w.foreign());
    expect(watchers.length).toBeGreaterThan(0);
    expect(foreign).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});

// ---- cait serve and the static server ------------------------------------------------------------

function rawGet(url: string, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  const u = new URL(url);
  return new Promise((ok, fail) => {
    const req = request({ host: u.hostname, port: u.port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }));
    });
    req.on('error', fail);
    req.end();
  });
}

describe('static server', () => {
  let dir: string;
  let server: StaticServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cait-static-'));
    mkdirSync(join(dir, 'root', 'sub'), { recursive: true });
    writeFileSync(join(dir, 'secret.txt'), 'SECRET');
    writeFileSync(join(dir, 'root', 'index.html'), '<!doctype html><p>root</p>');
    for (const f of ['a.js', 'b.wasm', 'c.wgsl', 'd.json', 'e.svg', 'f.css']) writeFileSync(join(dir, 'root', 'sub', f), f);
    symlinkSync(join(dir, 'secret.txt'), join(dir, 'root', 'link.txt'));
    server = await startStaticServer({ root: join(dir, 'root') });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves files under the root with their MIME types, index.html for /', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const idx = await rawGet(server.url, '/');
    expect([idx.status, idx.type, idx.body]).toEqual([200, 'text/html; charset=utf-8', '<!doctype html><p>root</p>']);
    const types: Record<string, RegExp> = { 'a.js': /^text\/javascript/, 'b.wasm': /^application\/wasm$/, 'c.wgsl': /^text\/wgsl/, 'd.json': /^application\/json/, 'e.svg': /^image\/svg\+xml$/, 'f.css': /^text\/css/ };
    for (const [f, re] of Object.entries(types)) {
      const r = await rawGet(server.url, `/sub/${f}`);
      expect(r.status).toBe(200);
      expect(r.type).toMatch(re);
      expect(r.body).toBe(f);
      expect(mimeType(f)).toMatch(re);
    }
    expect((await rawGet(server.url, '/sub/a.js', 'HEAD')).body).toBe('');
    expect((await rawGet(server.url, '/missing.js')).status).toBe(404);
    expect((await rawGet(server.url, '/', 'POST')).status).toBe(405);
  });

  it('never serves a file outside the root (.., encoded .., symlinks)', async () => {
    for (const p of ['/../secret.txt', '/sub/../../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/sub/%2e%2e%2f%2e%2e%2fsecret.txt', '/link.txt', '/%00']) {
      const r = await rawGet(server.url, p);
      expect(r.status, p).toBeGreaterThanOrEqual(400);
      expect(r.body, p).not.toContain('SECRET');
    }
  });

  it('refuses a non-loopback host unless allowed', async () => {
    await expect(startStaticServer({ root: join(dir, 'root'), host: '0.0.0.0' })).rejects.toThrow(/0\.0\.0\.0 is not a loopback address/);
    await expect(startStaticServer({ root: join(dir, 'root'), host: '0.0.0.0' })).rejects.toBeInstanceOf(InputError);
    const open = await startStaticServer({ root: join(dir, 'root'), host: '0.0.0.0', allowNonLoopback: true });
    expect(open.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/$/);
    expect((await rawGet(`http://127.0.0.1:${open.port}/`, '/')).status).toBe(200);
    await open.close();
    await expect(startStaticServer({ root: join(dir, 'nope') })).rejects.toThrow(/is not a directory/);
  });
});

describe('cait serve', () => {
  it('refuses 0.0.0.0 without --allow-remote (exit 2, one line naming the flag)', async () => {
    let err = '';
    const code = await runCli(['serve', '--host', '0.0.0.0', '--port', '0'], { stderr: (s) => void (err += s), stdout: () => {} });
    expect(code).toBe(2);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toContain('--allow-remote');
  });

  it('says to build when the page is missing', async () => {
    let err = '';
    const empty = mkdtempSync(join(tmpdir(), 'cait-empty-'));
    const code = await runCli(['serve', '--port', '0', '--web-root', empty], { stderr: (s) => void (err += s), stdout: () => {} });
    rmSync(empty, { recursive: true, force: true });
    expect(code).toBe(2);
    expect(err).toContain('npm run build');
  });

  it.skipIf(!existsSync(join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js')))('serves the page on 127.0.0.1 and stops on SIGTERM', async () => {
    const root = mkdtempSync(join(tmpdir(), 'cait-serve-'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>cait explorer</title>');
    writeFileSync(join(root, 'main.js'), 'export {};');
    const child = spawn(process.execPath, [join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'), 'serve', '--port', '0', '--web-root', root], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    const url = await new Promise<string>((ok, fail) => {
      child.stdout.on('data', (c) => {
        out += c;
        const m = /^(http:\/\/\S+)\n/.exec(out);
        if (m) ok(m[1]);
      });
      child.on('exit', (c) => fail(new Error(`cait serve exited ${c}: ${err}`)));
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const r = await rawGet(url, '/');
    expect([r.status, r.type]).toEqual([200, 'text/html; charset=utf-8']);
    expect((await rawGet(url, '/main.js')).type).toMatch(/^text\/javascript/);
    const code = await new Promise<number | null>((ok) => {
      child.on('exit', (c) => ok(c));
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
    expect(err).toContain('stopped');
    rmSync(root, { recursive: true, force: true });
  });
});
