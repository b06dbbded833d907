/**
 * The residual heatmap (d3, SVG): one <rect class="cell"> per map cell with
 * data-i (x index), data-j (y index), data-member (grid member, -1 if none)
 * and data-value (residual); a colour legend (log or linear residual scale);
 * the best member's cell outlined (.best-marker) and the Δχ² = 1 region
 * (χ² = residual / noise.s2 ≤ χ²_min + 1, χ²_min of the whole grid) marked
 * on its cells (data-region="1", .region-marker outlines). Hover and click
 * are delegated from the cell group (one listener for 10 000 cells).
 */
import { range } from 'd3-array';
import { axisBottom, axisLeft, axisRight, type AxisScale } from 'd3-axis';
import { scaleBand, scaleLinear, scaleLog, scaleSequential, scaleSequentialLog } from 'd3-scale';
import { interpolateViridis } from 'd3-scale-chromatic';
import type { FitFile } from '../fit/schema.js';
import type { PageMap } from './map.js';
import { unitOfPath } from '../sweep/paths.js';
import { csvCell, fmtNum, newSvg, shortPath } from './plots.js';

export type ResidualScale = 'log' | 'linear';

export interface HeatmapOptions {
  x: number;
  y: number;
  scale: ResidualScale;
  selected: number | null;
  onHover(member: number | null, ev: MouseEvent): void;
  onSelect(member: number): void;
  /** cells per task: the rest are added in later tasks so the main thread never stalls long (default 2000) */
  chunk?: number;
  /** false once a newer drawing has replaced this one: stop adding cells */
  isCurrent?: () => boolean;
}

/** Let the browser handle input and paint between chunks of work. */
export function nextTask(): Promise<void> {
  return new Promise((ok) => setTimeout(ok, 0));
}

/** χ²_min + 1 in residual units: the Δχ² = 1 threshold of the whole grid. */
export function regionThreshold(fit: FitFile): number {
  let min = Infinity;
  for (const r of fit.residual) if (r !== null && r < min) min = r;
  if (fit.best && Number.isFinite(fit.best.residual)) min = Math.min(min, fit.best.residual);
  return min + fit.noise.s2;
}

/** An axis title: the short path and its unit (`stage 1 D.Rb.D_m2s (m²/s)`). */
function axisTitle(path: string): string {
  const u = unitOfPath(path);
  return u ? `${shortPath(path)} (${u})` : shortPath(path);
}

function tickIndices(n: number, max = 8): number[] {
  const step = Math.max(1, Math.ceil(n / max));
  const out: number[] = [];
  for (let k = 0; k < n; k += step) out.push(k);
  return out;
}

/**
 * Draw the map into host. The cells go in in chunks of `o.chunk`, one task
 * each; the returned promise resolves when all are there (the svg then has
 * data-complete="1").
 */
export async function drawHeatmap(host: HTMLElement, fit: FitFile, map: PageMap, o: HeatmapOptions): Promise<SVGSVGElement> {
  const { nx, ny } = map;
  const ax = fit.grid.axes[o.x];
  const ay = o.y >= 0 ? fit.grid.axes[o.y] : [NaN];
  const plot = 400;
  const cw = Math.max(1, Math.min(110, plot / nx));
  const ch = Math.max(1, Math.min(110, plot / Math.max(ny, 1)));
  const m = { l: 78, t: 16, r: 110, b: 52 };
  const W = m.l + nx * cw + m.r;
  const H = m.t + ny * ch + m.b;
  const svg = newSvg(host, W, H, 'heatmap');
  svg.append('rect').attr('width', W).attr('height', H).attr('fill', 'white');
  const useLog = o.scale === 'log' && map.min > 0;
  const lo = Number.isFinite(map.min) ? map.min : 0;
  const hi = Number.isFinite(map.max) && map.max > lo ? map.max : lo + 1;
  const colour = useLog
    ? scaleSequentialLog(interpolateViridis).domain([lo, hi])
    : scaleSequential(interpolateViridis).domain([lo, hi]);
  svg.attr('data-scale', useLog ? 'log' : 'linear');
  const thr = regionThreshold(fit);

  // cells: one markup string parsed once (several times faster than 10 000 createElementNS + setAttribute)
  const cells = svg.append('g').attr('class', 'cells').attr('shape-rendering', 'crispEdges');
  const gNode = cells.node()!;
  const parts: string[] = [];
  const region: [number, number][] = [];
  let best: [number, number] | null = null;
  let sel: [number, number] | null = null;
  for (let j = 0; j < ny; j++) {
    const y = m.t + (ny - 1 - j) * ch;
    for (let i = 0; i < nx; i++) {
      const c = j * nx + i;
      const v = map.values[c];
      const ok = Number.isFinite(v);
      const inRegion = ok && v <= thr;
      if (inRegion) region.push([i, j]);
      if (map.member[c] === fit.best.member) best = [i, j];
      if (o.selected !== null && map.member[c] === o.selected) sel = [i, j];
      parts.push(
        `<rect class="cell" x="${m.l + i * cw}" y="${y}" width="${cw}" height="${ch}" fill="${ok ? colour(v) : '#ddd'}" data-i="${i}" data-j="${j}" data-member="${map.member[c]}" data-value="${ok ? v : ''}"${inRegion ? ' data-region="1"' : ''}/>`,
      );
    }
  }
  const chunk = Math.max(1, o.chunk ?? 2000);
  for (let k = 0; k < parts.length; k += chunk) {
    if (k > 0) {
      await nextTask();
      if (o.isCurrent && !o.isCurrent()) return svg.node()!;
    }
    gNode.insertAdjacentHTML('beforeend', parts.slice(k, k + chunk).join(''));
  }

  const marks = svg.append('g').attr('class', 'marks').attr('pointer-events', 'none').attr('fill', 'none');
  // a cell outline grown by `grow` px on each side (negative: inset)
  const marker = (cls: string, [i, j]: [number, number], grow: number, stroke: string, width: number) =>
    marks
      .append('rect')
      .attr('class', cls)
      .attr('data-i', i)
      .attr('data-j', j)
      .attr('x', m.l + i * cw - grow)
      .attr('y', m.t + (ny - 1 - j) * ch - grow)
      .attr('width', Math.max(cw + 2 * grow, 0.5))
      .attr('height', Math.max(ch + 2 * grow, 0.5))
      .attr('stroke', stroke)
      .attr('stroke-width', width);
  for (const c of region) marker('region-marker', c, -1, 'white', 1.5).attr('stroke-dasharray', '3 2');
  if (sel) marker('selected-marker', sel, 1, '#ff7f00', 2);
  if (best) marker('best-marker', best, 0, '#e31a1c', 2.5);

  // members off the grid (refinement rounds, the optimiser, the interval members) at their values between
  // the cells' centres, and the best member there when it is one of them (a red +)
  const at = (k: number, v: number, n: number): number | null => {
    const a = fit.grid.axes[k];
    const t = (u: number) => (fit.scale[k] === 'log' ? Math.log(u) : u);
    if (a.length === 1) return 0;
    for (let q = 0; q < a.length - 1; q++) {
      const t0 = t(a[q]);
      const t1 = t(a[q + 1]);
      if ((t(v) - t0) * (t(v) - t1) <= 0) return q + (t(v) - t0) / (t1 - t0);
    }
    const f = (t(v) - t(a[0])) / (t(a[1]) - t(a[0]));
    return f >= -0.5 && f <= n - 0.5 ? f : null;
  };
  const px = (member: number): [number, number] | null => {
    const v = fit.members[member].values;
    const i = at(o.x, v[o.x], nx);
    const j = o.y >= 0 ? at(o.y, v[o.y], ny) : 0;
    if (i === null || j === null) return null;
    return [m.l + (i + 0.5) * cw, m.t + (ny - 1 - j + 0.5) * ch];
  };
  const off = marks.append('g').attr('class', 'offgrid').attr('fill', 'white').attr('stroke', '#222').attr('stroke-width', 0.5);
  fit.members.forEach((mem, k) => {
    if (mem.source === 'grid' || mem.source === 'sensitivity' || mem.status !== 'ok') return;
    const p = px(k);
    if (p) off.append('circle').attr('class', 'offgrid-member').attr('data-source', mem.source).attr('data-member', k).attr('cx', p[0]).attr('cy', p[1]).attr('r', mem.source === 'refine' ? 2 : 1.4);
  });
  if (fit.members[fit.best.member]?.source !== 'grid') {
    const p = px(fit.best.member);
    if (p) marks.append('path').attr('class', 'best-member-point').attr('d', `M${p[0] - 7},${p[1]}h14M${p[0]},${p[1] - 7}v14`).attr('stroke', '#e31a1c').attr('stroke-width', 2.5);
  }

  // axes: grid values at their cells
  const xs = scaleBand<number>().domain(range(nx)).range([m.l, m.l + nx * cw]);
  const ys = scaleBand<number>().domain(range(ny)).range([m.t + ny * ch, m.t]);
  svg
    .append('g')
    .attr('transform', `translate(0,${m.t + ny * ch})`)
    .call(axisBottom(xs).tickValues(tickIndices(nx)).tickFormat((k) => fmtNum(ax[k])));
  if (o.y >= 0)
    svg
      .append('g')
      .attr('transform', `translate(${m.l},0)`)
      .call(axisLeft(ys).tickValues(tickIndices(ny)).tickFormat((k) => fmtNum(ay[k])));
  svg.append('text').attr('class', 'xlabel').attr('x', m.l + (nx * cw) / 2).attr('y', H - 12).attr('text-anchor', 'middle').text(axisTitle(fit.parameters[o.x]));
  if (o.y >= 0)
    svg
      .append('text')
      .attr('class', 'ylabel')
      .attr('transform', `translate(14,${m.t + (ny * ch) / 2}) rotate(-90)`)
      .attr('text-anchor', 'middle')
      .text(axisTitle(fit.parameters[o.y]));

  // colour legend
  const lx = m.l + nx * cw + 24;
  const lh = Math.max(160, ny * ch);
  const grad = svg.append('defs').append('linearGradient').attr('id', 'cait-legend-grad').attr('x1', 0).attr('x2', 0).attr('y1', 1).attr('y2', 0);
  for (let k = 0; k <= 20; k++) {
    const t = k / 20;
    const v = useLog ? lo * Math.pow(hi / lo, t) : lo + (hi - lo) * t;
    grad.append('stop').attr('offset', `${t * 100}%`).attr('stop-color', colour(v));
  }
  const legend = svg.append('g').attr('class', 'colour-legend');
  legend.append('rect').attr('x', lx).attr('y', m.t).attr('width', 14).attr('height', lh).attr('fill', 'url(#cait-legend-grad)');
  const ls = (useLog ? scaleLog() : scaleLinear()).domain([lo, hi]).range([m.t + lh, m.t]);
  legend
    .append('g')
    .attr('transform', `translate(${lx + 14},0)`)
    // five ticks evenly spaced in the scale's own sense (d3's log ticks crowd a narrow log range)
    .call(
      axisRight(ls as AxisScale<number>)
        .tickValues(useLog ? range(5).map((k) => lo * Math.pow(hi / lo, k / 4)) : ls.ticks(5))
        .tickFormat((v) => fmtNum(Number(v))),
    );
  legend
    .append('text')
    .attr('transform', `translate(${lx - 6},${m.t + lh / 2}) rotate(-90)`)
    .attr('text-anchor', 'middle')
    .text(`residual (${useLog ? 'log' : 'linear'})`);

  // one delegated listener for hover and click
  const memberOf = (ev: Event): number | null => {
    const t = ev.target as Element | null;
    if (!t?.classList.contains('cell')) return null;
    const k = Number(t.getAttribute('data-member'));
    return k >= 0 ? k : null;
  };
  gNode.addEventListener('mousemove', (ev) => o.onHover(memberOf(ev), ev as MouseEvent));
  gNode.addEventListener('mouseleave', (ev) => o.onHover(null, ev as MouseEvent));
  gNode.addEventListener('click', (ev) => {
    const k = memberOf(ev);
    if (k !== null) o.onSelect(k);
  });
  svg.attr('data-complete', '1');
  return svg.node()!;
}

/** The map's data as CSV: i, j, the axis values, member, residual, χ² (= residual / s2). */
export function heatmapCsv(fit: FitFile, map: PageMap, x: number, y: number, mode: string): string {
  const px = fit.parameters[x];
  const py = y >= 0 ? fit.parameters[y] : '';
  const out = [`# cait explorer heatmap: mode ${mode}; chi2 = residual / noise.s2 (s2 = ${fit.noise.s2})`];
  out.push(['i', 'j', csvCell(px), ...(y >= 0 ? [csvCell(py)] : []), 'member', 'residual', 'chi2'].join(','));
  for (let j = 0; j < map.ny; j++)
    for (let i = 0; i < map.nx; i++) {
      const c = j * map.nx + i;
      const v = map.values[c];
      out.push(
        [i, j, fit.grid.axes[x][i], ...(y >= 0 ? [fit.grid.axes[y][j]] : []), map.member[c], Number.isFinite(v) ? v : '', Number.isFinite(v) ? v / fit.noise.s2 : ''].join(','),
      );
    }
  return out.join('\n') + '\n';
}
