/**
 * The explorer's fit view after issue 10, in headless Chromium: the example
 * fit that `cait serve --example` opens (examples/fit-quick.json, copied
 * beside the built page), the fit's warnings shown loudly, axes with units,
 * the members off the grid and a refined best drawn on the map (not "not in
 * this slice"), the best-fit table's digits, panel titles whole and the
 * species key off the plot area, one palette with the CLI's figures.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe } from '../src/cli/serve.js';
import { resolveContext } from '../src/cli/common.js';
import { fmtResolved } from '../src/core/format.js';
import type { FitFile } from '../src/fit/schema.js';
import { speciesColor } from '../src/plot/palette.js';
import { bestFitSvg } from '../src/plot/fit.js';
import { startStaticServer, type StaticServer } from '../src/serve/static.js';
import { buildPage, launchChromium, REPO_ROOT } from './helpers/web.js';
import { needs } from './helpers/require.js';

const example: FitFile = JSON.parse(readFileSync(join(REPO_ROOT, 'examples', 'fit-quick.json'), 'utf8'));

function get(url: string): Promise<number> {
  return new Promise((ok, fail) => request(url, (r) => {
      r.resume();
      ok(r.statusCode ?? 0);
    }).on('error', fail).end());
}

const chromium = needs('chromium');

describe.skipIf(chromium.skip)('the fit view (issue 10)', () => {
  chromium.assertPresent();
  let browser: Browser;
  let server: StaticServer;
  let root: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'cait-web-fit-'));
    buildPage(true, root);
    // a fit that contradicts itself: the example with a warning and convergence off
    const bad = structuredClone(example);
    bad.warnings = ['INCONSISTENT: the best stages.0.U_V = 14.58 lies outside its own Δχ² = 1 interval (test)'];
    bad.convergence = { ...bad.convergence!, converged: false, best_inside_interval: [true, false] };
    writeFileSync(join(root, 'fit-bad.json'), JSON.stringify(bad));
    server = await startStaticServer({ root });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  async function open(search: string): Promise<Page> {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 1000 });
    await page.goto(server.url + search);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 60_000 });
    await page.waitForSelector('#heatmap-plot svg[data-complete="1"]', { timeout: 60_000 });
    return page;
  }

  it('cait serve --example prints the URL of the example fit, which the server hands out', async () => {
    let out = '';
    const ctx = resolveContext({ stdout: (s) => (out += s), stderr: () => {}, stderrIsTTY: false, env: {} });
    const s = await startServe({ port: 0, host: '127.0.0.1', webRoot: root, example: true }, ctx);
    try {
      expect(out).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?file=fit-quick\.json\n$/);
      expect(await get(out.trim().replace('?file=', ''))).toBe(200);
      let out2 = '';
      const s2 = await startServe({ port: 0, host: '127.0.0.1', webRoot: root, example: 'ensemble' }, resolveContext({ stdout: (x) => (out2 += x), stderr: () => {}, env: {} }));
      await s2.close();
      expect(out2).toMatch(/\?file=ensemble-quick\.json\n$/);
    } finally {
      await s.close();
    }
  });

  it('the example: no warning box, axes with units, the refined best and the off-grid members on the map, a table that resolves the intervals', async () => {
    const page = await open('?file=fit-quick.json');
    expect(example.convergence?.converged).toBe(true);
    expect(await page.$eval('#fit-warnings', (e) => (e as HTMLElement).hidden)).toBe(true);
    expect(await page.$eval('#heatmap-plot .xlabel', (e) => e.textContent)).toBe('stage 1 D.Rb.D_m2s (m²/s)');
    expect(await page.$eval('#heatmap-plot .ylabel', (e) => e.textContent)).toBe('stage 1 U_V (V)');
    // the best member lies between the grid's cells: a red +, and the caption says so
    expect(example.members[example.best.member].source).not.toBe('grid');
    expect(await page.$$eval('#heatmap-plot .best-member-point', (e) => e.length)).toBe(1);
    const caption = await page.$eval('#heatmap-caption', (e) => e.textContent ?? '');
    expect(caption).toContain('red +: best member (found off the grid, between the cells)');
    expect(caption).not.toContain('not in this slice');
    const offGrid = example.members.filter((m) => ['refine', 'local', 'interval'].includes(m.source) && m.status === 'ok').length;
    const dots = await page.$$eval('#heatmap-plot .offgrid-member', (e) => e.length);
    expect(dots).toBeGreaterThan(0.9 * offGrid);
    expect(dots).toBeLessThanOrEqual(offGrid);
    // the table: digits enough to tell the interval's ends apart
    const cells = await page.$$eval('#best-table tr:nth-child(2) td', (t) => t.map((c) => c.textContent ?? ''));
    const [lo, hi] = example.best.interval[0];
    expect(cells[1]).toBe(fmtResolved(example.best.values[0], (hi - lo) / 10));
    expect(cells[2]).toBe(`${fmtResolved(lo, (hi - lo) / 10)} … ${fmtResolved(hi, (hi - lo) / 10)}`);
    expect(cells[1].replace(/e.*$/, '').replace(/\D/g, '').length).toBeGreaterThanOrEqual(3);
    expect(await page.$eval('#best-table', (t) => t.textContent)).toContain('convergence');
    await page.close();
  });

  it('profiles: titles whole, the species key above the plot area (not over the Li+ plateau), the CLI\'s colours', async () => {
    const page = await open('?file=fit-quick.json');
    const panels = await page.$$eval('#profiles-plot g.panel', (gs) =>
      gs.map((g) => ({
        title: g.querySelector('.panel-title title')?.textContent ?? '',
        shown: [...g.querySelectorAll('.panel-title tspan')].map((t) => t.textContent).join(' '),
        keyBottom: (g.querySelector('.species-key') as SVGGElement).getBBox().y + (g.querySelector('.species-key') as SVGGElement).getBBox().height + Number(/translate\([^,]+,([^)]+)\)/.exec(g.querySelector('.species-key')!.getAttribute('transform')!)![1]),
        plotTop: Math.min(...g.getAttribute('data-yrange')!.split(',').map(Number)),
        titleRight: Math.max(...[...g.querySelectorAll('.panel-title tspan')].map((t) => (t as SVGTSpanElement).getComputedTextLength() + Number(t.getAttribute('x')))),
        width: Number(g.ownerSVGElement!.getAttribute('viewBox')!.split(' ')[2]),
        li: g.querySelector('path[data-species="Li"]')?.getAttribute('stroke'),
      })),
    );
    expect(panels.length).toBe(1); // one panel per measured stage: fit-quick.json has one
    for (const p of panels) {
      expect(p.shown).toBe(p.title);
      expect(p.titleRight).toBeLessThan(p.width);
      expect(p.keyBottom).toBeLessThanOrEqual(p.plotTop);
      expect(p.li?.toLowerCase()).toBe(speciesColor('Li').toLowerCase());
    }
    // the CLI's best-fit figure draws Li+ in the same colour
    expect(bestFitSvg(example)).toContain(`stroke="${speciesColor('Li')}"`);
    await page.close();
  });

  it('a fit that contradicts itself: its warnings in a red alert box above the map, the row of the parameter flagged', async () => {
    const page = await open('?file=fit-bad.json');
    const box = await page.$eval('#fit-warnings', (e) => ({ hidden: (e as HTMLElement).hidden, role: e.getAttribute('role'), text: e.textContent ?? '' }));
    expect(box.hidden).toBe(false);
    expect(box.role).toBe('alert');
    expect(box.text).toContain('This fit did not converge or contradicts itself');
    expect(box.text).toContain('INCONSISTENT: the best stages.0.U_V = 14.58 lies outside its own Δχ² = 1 interval (test)');
    expect(await page.$eval('#best-table tr:nth-child(3)', (t) => t.className)).toBe('failed');
    expect(await page.$eval('#best-table', (t) => t.textContent)).toContain('NO');
    await page.close();
  });
});
