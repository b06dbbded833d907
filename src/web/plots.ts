/**
 * Depth-profile panels with d3 (SVG): the one figure type behind the fit
 * profiles, the ±20 % sensitivity view, the ensemble members' profiles and a
 * measured SIMS profile. Each panel is a <g class="panel"> that carries its
 * scales as data attributes (data-xdomain, data-xrange, data-ydomain,
 * data-yrange) so a drawn path can be read back in data units; each series
 * is a <path> (lines) or a <g> of <circle>s (points) with data-series and
 * data-species. Styles are SVG attributes, so a serialized figure stands alone.
 */
import { speciesColor } from '../plot/palette.js';
import { wrapWords } from '../plot/text.js';
import { max, min } from 'd3-array';
import { axisBottom, axisLeft } from 'd3-axis';
import { scaleLinear } from 'd3-scale';
import { select, type Selection } from 'd3-selection';
import { line as lineGenerator } from 'd3-shape';
import { fmtNum } from '../core/format.js';

export interface Series {
  /** what it is: measured, best, member, minus20, plus20, ... */
  series: string;
  species: string;
  label: string;
  x: readonly number[];
  y: readonly number[];
  kind: 'line' | 'points';
  dash?: string;
  width?: number;
  /** extra data attributes (without the data- prefix) */
  attrs?: Record<string, string | number>;
}

export interface Panel {
  title: string;
  xlabel: string;
  ylabel: string;
  series: Series[];
  attrs?: Record<string, string | number>;
}

/** A species' colour: the one palette of the page and the CLI's figures (src/plot/palette.ts). */
export const speciesColour = speciesColor;

export const SVG_NS = 'http://www.w3.org/2000/svg';

/** Replace host's content with a new <svg> of this size (viewBox, scales with the page). */
export function newSvg(host: HTMLElement, width: number, height: number, view: string): Selection<SVGSVGElement, unknown, null, undefined> {
  host.replaceChildren();
  return select(host)
    .append('svg')
    .attr('xmlns', SVG_NS)
    .attr('width', width)
    .attr('height', height)
    .attr('viewBox', `0 0 ${width} ${height}`)
    .attr('data-view', view)
    .attr('font-family', 'system-ui, sans-serif')
    .attr('font-size', 11) as Selection<SVGSVGElement, unknown, null, undefined>;
}

// biome-ignore lint/suspicious/noExplicitAny: any selection (svg, g, path, …) takes attributes
function setAttrs(sel: Selection<any, any, any, any>, attrs: Record<string, string | number> | undefined): void {
  for (const [k, v] of Object.entries(attrs ?? {})) sel.attr(`data-${k}`, v);
}

/** Draw panels in a grid of `cols` columns into host; returns the svg. */
export function drawPanels(
  host: HTMLElement,
  panels: Panel[],
  opts: { view: string; cols?: number; panelW?: number; panelH?: number; title?: string; legend?: { label: string; dash?: string; kind: 'line' | 'points'; width?: number }[] },
): SVGSVGElement {
  const cols = Math.max(1, Math.min(opts.cols ?? panels.length, panels.length || 1));
  const rows = Math.max(1, Math.ceil(panels.length / cols));
  const pw = opts.panelW ?? 360;
  // panel titles wrapped to the panel (at most 3 lines), the species key in a row under them, outside the plot
  // area (inside it, top right, it hid the Li+ plateau)
  const titleLines = panels.map((p) => wrapWords(p.title, Math.floor((pw - 60) / 7)).slice(0, 3));
  const tLines = Math.max(1, ...titleLines.map((l) => l.length));
  const m = { l: 52, r: 12, t: 14 * tLines + 26, b: 38 };
  const ph = (opts.panelH ?? 250) + m.t - 24;
  // the figure's title wrapped to its width (a one-panel figure is narrow)
  const figTitle = opts.title ? wrapWords(opts.title, Math.floor((cols * pw - 16) / 7.5)) : [];
  const top = figTitle.length ? 8 + 16 * figTitle.length : 0;
  const legendH = opts.legend?.length ? 22 : 0;
  const W = cols * pw;
  const H = top + legendH + rows * ph;
  const svg = newSvg(host, W, H, opts.view);
  svg.append('rect').attr('width', W).attr('height', H).attr('fill', 'white');
  if (opts.title) {
    const t = svg.append('text').attr('class', 'figure-title').attr('x', 8).attr('y', 15).attr('font-weight', 'bold').attr('font-size', 13);
    figTitle.forEach((l, i) => t.append('tspan').attr('x', 8).attr('dy', i === 0 ? 0 : 16).text(l));
    t.append('title').text(opts.title);
  }
  if (opts.legend?.length) {
    const lg = svg.append('g').attr('class', 'legend').attr('transform', `translate(8,${top + 12})`);
    let x = 0;
    for (const e of opts.legend) {
      const g = lg.append('g').attr('transform', `translate(${x},0)`);
      if (e.kind === 'line')
        g.append('line').attr('x1', 0).attr('x2', 22).attr('y1', 0).attr('y2', 0).attr('stroke', '#333').attr('stroke-width', e.width ?? 1.5).attr('stroke-dasharray', e.dash ?? null);
      else g.append('circle').attr('cx', 11).attr('cy', 0).attr('r', 2.5).attr('fill', '#333');
      g.append('text').attr('x', 26).attr('y', 4).text(e.label);
      x += 40 + e.label.length * 6;
    }
  }
  panels.forEach((p, k) => {
    const ox = (k % cols) * pw;
    const oy = top + legendH + Math.floor(k / cols) * ph;
    const g = svg.append('g').attr('class', 'panel').attr('data-panel', k).attr('transform', `translate(${ox},${oy})`);
    setAttrs(g, p.attrs);
    const xs = p.series.flatMap((s) => s.x as number[]).filter(Number.isFinite);
    const ys = p.series.flatMap((s) => s.y as number[]).filter(Number.isFinite);
    const xd: [number, number] = xs.length ? [Math.min(0, min(xs)!), max(xs)!] : [0, 1];
    let yd: [number, number] = ys.length ? [Math.min(0, min(ys)!), Math.max(0, max(ys)!)] : [0, 1];
    const span = yd[1] - yd[0];
    // a flat series (all zero) gets a unit range; otherwise 5 % headroom at the ends away from 0
    yd = span > 0 ? [yd[0] < 0 ? yd[0] - 0.05 * span : 0, yd[1] > 0 ? yd[1] + 0.05 * span : 0] : [yd[0], yd[0] + 1];
    const x = scaleLinear().domain(xd).range([m.l, pw - m.r]);
    const y = scaleLinear().domain(yd).range([ph - m.b, m.t]);
    g.attr('data-xdomain', xd.join(',')).attr('data-xrange', x.range().join(',')).attr('data-ydomain', yd.join(',')).attr('data-yrange', y.range().join(','));
    const title = g.append('text').attr('class', 'panel-title').attr('x', m.l).attr('y', 12).attr('font-weight', 'bold');
    titleLines[k].forEach((l, i) => title.append('tspan').attr('x', m.l).attr('dy', i === 0 ? 0 : 14).text(l));
    title.append('title').text(p.title);
    g.append('g').attr('transform', `translate(0,${ph - m.b})`).call(axisBottom(x).ticks(6));
    g.append('g').attr('transform', `translate(${m.l},0)`).call(axisLeft(y).ticks(5));
    g.append('text').attr('x', (m.l + pw - m.r) / 2).attr('y', ph - 6).attr('text-anchor', 'middle').text(p.xlabel);
    g.append('text').attr('transform', `translate(12,${(ph - m.b + m.t) / 2}) rotate(-90)`).attr('text-anchor', 'middle').text(p.ylabel);
    const line = lineGenerator<[number, number]>()
      .defined((d) => Number.isFinite(d[0]) && Number.isFinite(d[1]))
      .x((d) => x(d[0]))
      .y((d) => y(d[1]));
    for (const s of p.series) {
      const pts = s.x.map((xv, i) => [xv, s.y[i]] as [number, number]);
      const col = speciesColour(s.species);
      if (s.kind === 'line') {
        const path = g
          .append('path')
          .attr('class', `series ${s.series}`)
          .attr('data-series', s.series)
          .attr('data-species', s.species)
          .attr('fill', 'none')
          .attr('stroke', col)
          .attr('stroke-width', s.width ?? 1.5)
          .attr('stroke-dasharray', s.dash ?? null)
          .attr('d', line(pts));
        setAttrs(path, s.attrs);
        path.append('title').text(s.label);
      } else {
        const pg = g.append('g').attr('class', `series ${s.series}`).attr('data-series', s.series).attr('data-species', s.species).attr('fill', col);
        setAttrs(pg, s.attrs);
        pg.selectAll('circle')
          .data(pts.filter((d) => Number.isFinite(d[0]) && Number.isFinite(d[1])))
          .join('circle')
          .attr('cx', (d) => x(d[0]))
          .attr('cy', (d) => y(d[1]))
          .attr('r', 2.2)
          .attr('fill-opacity', 0.7);
      }
    }
    // species key: one row between the title and the plot area
    const species = [...new Set(p.series.map((s) => s.species))];
    const key = g.append('g').attr('class', 'species-key').attr('transform', `translate(${m.l},${14 * tLines + 2})`);
    species.forEach((sp, i) => {
      key.append('rect').attr('x', i * 46).attr('y', 0).attr('width', 9).attr('height', 9).attr('fill', speciesColour(sp));
      key.append('text').attr('x', i * 46 + 13).attr('y', 8).text(sp);
    });
  });
  return svg.node()!;
}

/** CSV of the panels' data, long format: panel,series,species,x,y. */
export function panelsCsv(panels: Panel[], xname = 'depth_nm', yname = 'value'): string {
  const out = [`panel,series,species,${xname},${yname}`];
  for (const p of panels)
    for (const s of p.series)
      for (let i = 0; i < s.x.length; i++) out.push([csvCell(p.title), csvCell(s.series), s.species, s.x[i], s.y[i]].join(','));
  return out.join('\n') + '\n';
}

/** Fill a <select> with options and select `value` (the first option when it is not among them). */
export function fillSelect(sel: HTMLSelectElement, options: { value: string; label: string }[], value: string): void {
  sel.replaceChildren(
    ...options.map((o) => {
      const e = document.createElement('option');
      e.value = o.value;
      e.textContent = o.label;
      return e;
    }),
  );
  sel.value = options.some((o) => o.value === value) ? value : (options[0]?.value ?? '');
}

/** A CSV field, quoted when it has a comma, quote or newline. */
export function csvCell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Short label of a parameter path: `stages.1.D.Cs.D_m2s` → `stage 2 D.Cs.D_m2s`. */
export function shortPath(p: string): string {
  const m = /^stages\.(\d+)\.(.+)$/.exec(p);
  return m ? `stage ${Number(m[1]) + 1} ${m[2]}` : p;
}

export { fmtNum };
