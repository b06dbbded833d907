/**
 * The explorer's sensitivity-study view in real headless Chromium (helpers
 * of tests/helpers/web.ts, as tests/web.test.ts): a cait-gsa/1 made here by
 * `cait gsa` (quick preset, f64 solver in-process; Sobol' indices with depth
 * maps) and a Morris study of a test function (no depth maps). Checks that
 * the bars carry the file's values, hover shows them, the depth map's hover
 * reads the index at the depth and parameter under the pointer, the index
 * selector redraws, exports give the CSVs of `cait gsa`, and a broken file
 * is refused with a message naming the field.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { simulate } from '../src/solver/simulate.js';
import { depthIndicesCsv, indicesCsv, type GsaFile, type SobolOutput } from '../src/gsa/index.js';
import { startStaticServer, type StaticServer } from '../src/serve/static.js';
import { buildPage, hasChromium, launchChromium, watchRequests } from './helpers/web.js';

async function cait(argv: string[]): Promise<void> {
  let err = '';
  const code = await runCli(argv, { stdout: () => {}, stderr: (s) => (err += s), stderrIsTTY: false, env: {}, simulate, now: () => new Date('2026-12-03T12:00:00Z') });
  if (code !== 0) throw new Error(`cait ${argv.join(' ')}: exit ${code}: ${err}`);
}

describe.skipIf(!hasChromium())('explorer page: a cait-gsa/1 study', () => {
  let browser: Browser;
  let server: StaticServer;
  let root: string;
  let sobol: GsaFile;
  let morris: GsaFile;
  const foreign: (() => string[])[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'cait-web-gsa-'));
    buildPage(true, root);
    await cait(['gsa', '--preset', 'quick', '--vary', 'stages.0.D.Rb.D_m2s=1e-22:1e-21:log', '--vary', 'stages.0.D.Li.fall.theta=0.05:0.2', '--samples', '8', '--max-depth', '20', '--quiet', '--out', join(root, 'sobol')]);
    await cait(['gsa', '--function', 'sobol-g', '--g-a', '0,1,9', '--method', 'morris', '--samples', '20', '--out', join(root, 'morris')]);
    sobol = JSON.parse(readFileSync(join(root, 'sobol', 'gsa.json'), 'utf8'));
    morris = JSON.parse(readFileSync(join(root, 'morris', 'gsa.json'), 'utf8'));
    server = await startStaticServer({ root });
    browser = await launchChromium();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  async function open(search: string): Promise<Page> {
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 1000 });
    foreign.push(watchRequests(page, new URL(server.url).origin).foreign);
    page.on('pageerror', (e) => void pageErrors.push(String(e)));
    await page.goto(server.url + search);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 60_000 });
    return page;
  }

  /** Move the pointer over a point of an element (fractions of its box) and return the tooltip's data. */
  async function hover(page: Page, selector: string, fx = 0.5, fy = 0.5): Promise<Record<string, string>> {
    const el = (await page.$(selector))!;
    await el.scrollIntoView();
    const box = (await el.boundingBox())!;
    await page.mouse.move(box.x + box.width * fx, box.y + box.height * fy);
    await page.waitForFunction(() => !(document.getElementById('tooltip') as HTMLElement).hidden);
    return page.$eval('#tooltip', (t) => ({ ...(t as HTMLElement).dataset, text: t.textContent ?? '' }) as Record<string, string>);
  }

  it('loads gsa.json from ?file=: one S1 and one ST bar per parameter and output, with the values of the file; hover shows them', async () => {
    const page = await open('?file=sobol/gsa.json');
    expect(await page.$eval('body', (b) => b.dataset.loaded)).toBe('gsa');
    expect(await page.$eval('#status', (e) => e.textContent)).toMatch(/^gsa\.json: cait-gsa\/1, Sobol' indices, N = 8, 2 parameters, 9 outputs and depth maps; cpu on /);
    const bars = await page.$$eval('#gsa-indices-plot rect.bar', (rs) => rs.map((r) => ({ output: r.getAttribute('data-output')!, param: Number(r.getAttribute('data-param')), index: r.getAttribute('data-index')!, value: Number(r.getAttribute('data-value')) })));
    const expected = Object.entries(sobol.outputs).flatMap(([name, o]) =>
      sobol.parameters.flatMap((_, i) =>
        (['S1', 'ST'] as const).flatMap((ix) => ((o as SobolOutput)[ix][i] === null ? [] : [{ output: name, param: i, index: ix, value: (o as SobolOutput)[ix][i]! }])),
      ),
    );
    expect(bars).toEqual(expected);
    const front = sobol.outputs.s1_front_Li_nm as SobolOutput;
    const tip = await hover(page, '#gsa-indices-plot rect.bar[data-output="s1_front_Li_nm"][data-param="0"][data-index="ST"]', 0.5, 0.9);
    expect(tip).toMatchObject({ view: 'gsa-indices', output: 's1_front_Li_nm', param: '0', index: 'ST', value: String(front.ST[0]) });
    expect(tip.text).toContain('stages.0.D.Rb.D_m2s');
    // one output only
    await page.select('#gsa-output', 's1_max_Rb');
    await page.waitForFunction(() => document.querySelectorAll('#gsa-indices-plot g.panel').length === 1);
    expect(await page.$$eval('#gsa-indices-plot rect.bar', (rs) => rs.map((r) => r.getAttribute('data-output')))).toEqual(['s1_max_Rb', 's1_max_Rb', 's1_max_Rb', 's1_max_Rb']);
    expect(await page.$eval('#gsa-caption', (e) => e.textContent)).toMatch(/protocol quick; Sobol' indices, N = 8; 32 runs \(0 failed\) on cpu/);
    await page.close();
  });

  it('the depth map: a panel per stage and species; hover reads the index at the depth and parameter under the pointer; the index selector redraws', async () => {
    const page = await open('?file=sobol/gsa.json');
    expect(await page.$eval('#gsa-depth-views', (e) => (e as HTMLElement).hidden)).toBe(false);
    expect(await page.$eval('#gsa-index', (e) => (e as HTMLSelectElement).value)).toBe('ST');
    expect(await page.$$eval('#gsa-depth-plot g.depth-panel', (gs) => gs.map((g) => [g.getAttribute('data-stage'), g.getAttribute('data-species')]))).toEqual([
      ['1', 'Li'],
      ['1', 'Rb'],
    ]);
    const depth = sobol.depth!;
    const rb = depth.maps[1];
    // the pointer at 25 % of the Rb panel's map width, in the first parameter's row: depth 5 nm of 0..20
    const cells = '#gsa-depth-plot g.depth-panel[data-species="Rb"] g.cells';
    const tip = await hover(page, cells, 0.25, 0.25);
    const j = depth.depth_nm.indexOf(5);
    expect(tip).toMatchObject({ view: 'gsa-depth', stage: '1', species: 'Rb', depth: '5', param: '0', index: 'ST' });
    expect(Number(tip.value)).toBe('ST' in rb ? rb.ST[0][j] : NaN);
    expect(tip.text).toContain(`n/n0 = `);
    // second row: the second parameter
    expect((await hover(page, cells, 0.25, 0.75)).param).toBe('1');
    // S1 instead
    await page.select('#gsa-index', 'S1');
    await page.waitForSelector('#gsa-depth-plot svg[data-index="S1"]');
    const tip1 = await hover(page, cells, 0.25, 0.25);
    expect(Number(tip1.value)).toBe('S1' in rb ? rb.S1[0][j] : NaN);
    // exports: the CSVs of cait gsa
    const api = (v: string) => page.evaluate((view) => (window as any).caitExplorer.exportCsv(view), v);
    expect(await page.evaluate(() => (window as any).caitExplorer.views())).toEqual(['gsa-indices', 'gsa-depth']);
    expect(await api('gsa-indices')).toBe(indicesCsv(sobol));
    expect(await api('gsa-depth')).toBe(depthIndicesCsv(sobol));
    expect(await page.evaluate(() => (window as any).caitExplorer.exportSvg('gsa-depth'))).toMatch(/data-index="S1"/);
    await page.close();
  });

  it('a Morris study without depth maps: μ* and σ bars, no depth view', async () => {
    const page = await open('?file=morris/gsa.json');
    expect(await page.$eval('#gsa-depth-views', (e) => (e as HTMLElement).hidden)).toBe(true);
    const mu = await page.$$eval('#gsa-indices-plot rect.bar[data-index="mu_star"]', (rs) => rs.map((r) => Number(r.getAttribute('data-value'))));
    expect(mu).toEqual((morris.outputs.y as { mu_star: number[] }).mu_star);
    expect(await page.evaluate(() => (window as any).caitExplorer.views())).toEqual(['gsa-indices']);
    await page.close();
  });

  it('refuses a broken cait-gsa/1 with one message naming the field', async () => {
    const page = await open('');
    const broken = { ...sobol, outputs: { ...sobol.outputs, s1_max_Rb: { ...sobol.outputs.s1_max_Rb, S1: [0.5] } } };
    await page.evaluate((t) => (window as any).caitExplorer.loadText(t, 'broken.json'), JSON.stringify(broken));
    await page.waitForSelector('body[data-loaded="error"]');
    expect(await page.$eval('#status', (e) => e.textContent)).toBe('broken.json: outputs.s1_max_Rb.S1: expected 2 values (one per parameter), got 1');
    await page.close();
  });

  it('the page made only requests to its own server and raised no errors', () => {
    expect(foreign.flatMap((f) => f())).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
