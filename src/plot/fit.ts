/**
 * Figures of a fit as SVG strings (d3 scales and shapes; no DOM, so they
 * render the same in Node and in the browser; deterministic output):
 *
 *  - {@link residualMapSvg}: residual heatmap of two parameters (log colour
 *    scale with a colour bar), the best cell, the cells with Δχ² ≤ 1 and the
 *    Δχ² = 1 ellipse of the local quadratic model; refinement members as dots;
 *  - {@link bestFitSvg}: per observation the measured points (markers) and
 *    the best member's model (lines), per species;
 *  - {@link sensitivitySvg}: d model / d ln p versus depth, a panel per parameter;
 *  - {@link plusMinus20Svg}: per parameter and observation the model at
 *    −20 %, best and +20 % over the measured points.
 *
 * @example
 * writeFileSync('map.svg', residualMapSvg(file, residualMap(file, 0, 1, 'min')));
 */
import { format } from 'd3-format';
import { scaleLinear, scaleLog, scaleSequentialLog } from 'd3-scale';
import { interpolateViridis } from 'd3-scale-chromatic';
import { line } from 'd3-shape';
import type { FitFile } from '../fit/schema.js';
import type { ResidualMap } from '../fit/map.js';
import { cholesky, spdInverse } from '../core/linalg.js';
import { esc } from './profiles.js';
import { speciesColor } from './palette.js';
import { wrapWords } from './text.js';
import { unitOfPath } from '../sweep/paths.js';

const FONT = 'Helvetica, Arial, sans-serif';
const M = { left: 70, right: 16, top: 30, bottom: 50 };

function r(v: number): string {
  const x = Math.round(v * 100) / 100;
  return String(Object.is(x, -0) ? 0 : x);
}

function attrs(a: Record<string, string | number | undefined>): string {
  return Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${typeof v === 'number' ? r(v) : esc(String(v))}"`)
    .join('');
}

/** A number for a label: 4 significant digits, shortest form. */
export function fmtLabel(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return String(Number(v.toPrecision(4))).replace('e+', 'e');
}

/** A parameter path with its unit, for an axis: `stages.1.D.Cs.D_m2s (m²/s)`. */
export function paramLabel(path: string): string {
  const unit = unitOfPath(path);
  return unit ? `${path} (${unit})` : path;
}


// ---------------------------------------------------------------- generic panels

interface XYSeries {
  label: string;
  color: string;
  x: number[];
  y: number[];
  kind: 'line' | 'markers';
  dash?: string;
  attrs?: Record<string, string>;
}

interface XYPanel {
  title: string;
  series: XYSeries[];
}

interface PanelsSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  panels: XYPanel[];
  cols: number;
  legend: { label: string; color: string; kind: 'line' | 'markers'; dash?: string }[];
  /** shared y domain (default: extent over all panels, from 0 when all ≥ 0) */
  yDomain?: [number, number];
  /** a zero line (for derivatives) */
  zeroLine?: boolean;
  idPrefix: string;
}

/** Width of a character of the 15 px bold title, px (a generous estimate for sans-serif). */
const TITLE_CHAR_W = 8.8;

function panelsSvg(spec: PanelsSpec): string {
  const pw = 340;
  const ph = 230;
  const legendW = 190;
  const cols = Math.max(1, Math.min(spec.cols, spec.panels.length));
  const rows = Math.max(1, Math.ceil(spec.panels.length / cols));
  const cellW = M.left + pw + M.right;
  const cellH = M.top + ph + M.bottom;
  const width = cols * cellW + legendW;
  // the title wrapped to the panels' width (a one-panel figure is narrow: a long title would run off both edges)
  const titleLines = wrapWords(spec.title, Math.floor((cols * cellW - 20) / TITLE_CHAR_W));
  const titleH = 16 + 19 * titleLines.length;
  const height = titleH + rows * cellH;
  const all = spec.panels.flatMap((p) => p.series);
  const xs = all.flatMap((s) => s.x).filter(Number.isFinite);
  const ys = all.flatMap((s) => s.y).filter(Number.isFinite);
  const xDom: [number, number] = xs.length ? [Math.min(0, ...xs), Math.max(...xs)] : [0, 1];
  let yDom: [number, number] = spec.yDomain ?? (ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1]);
  if (!spec.yDomain && yDom[0] >= 0) yDom = [0, yDom[1]];
  if (yDom[0] === yDom[1]) yDom = [yDom[0] - 1, yDom[1] + 1];
  if (xDom[0] === xDom[1]) xDom[1] = xDom[0] + 1;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg"${attrs({ width, height, viewBox: `0 0 ${width} ${height}`, 'font-family': FONT, 'font-size': 12 })}>`);
  out.push(`<rect${attrs({ x: 0, y: 0, width, height, fill: 'white' })}/>`);
  out.push(
    `<text class="title"${attrs({ x: (width - legendW) / 2, y: 22, 'text-anchor': 'middle', 'font-size': 15, 'font-weight': 'bold' })}>${titleLines.map((l, i) => `<tspan${attrs({ x: (width - legendW) / 2, dy: i === 0 ? 0 : 19 })}>${esc(l)}</tspan>`).join('')}</text>`,
  );
  spec.panels.forEach((panel, pi) => {
    const ox = (pi % cols) * cellW + M.left;
    const oy = titleH + Math.floor(pi / cols) * cellH + M.top;
    const x = scaleLinear().domain(xDom).range([0, pw]).nice(6);
    const y = scaleLinear().domain(yDom).range([ph, 0]).nice(6);
    const clip = `${spec.idPrefix}-clip-${pi}`;
    out.push(`<g class="panel"${attrs({ transform: `translate(${r(ox)},${r(oy)})` })}>`);
    out.push(`<defs><clipPath id="${esc(clip)}"><rect${attrs({ x: 0, y: 0, width: pw, height: ph })}/></clipPath></defs>`);
    out.push(`<text class="panel-title"${attrs({ x: pw / 2, y: -10, 'text-anchor': 'middle', 'font-size': 12 })}>${esc(panel.title)}</text>`);
    const xt = x.ticks(6);
    const yt = y.ticks(6);
    const fx = x.tickFormat(6);
    const fy = y.tickFormat(6);
    out.push('<g class="grid" stroke="#e6e6e6">');
    for (const t of xt) out.push(`<line${attrs({ x1: x(t), x2: x(t), y1: 0, y2: ph })}/>`);
    for (const t of yt) out.push(`<line${attrs({ x1: 0, x2: pw, y1: y(t), y2: y(t) })}/>`);
    out.push('</g>');
    if (spec.zeroLine && y.domain()[0] < 0 && y.domain()[1] > 0) out.push(`<line${attrs({ x1: 0, x2: pw, y1: y(0), y2: y(0), stroke: '#888' })}/>`);
    out.push(`<g clip-path="url(#${esc(clip)})">`);
    for (const s of panel.series) {
      if (s.kind === 'line') {
        const d =
          line<number>()
            .defined((i) => Number.isFinite(s.x[i]) && Number.isFinite(s.y[i]))
            .x((i) => x(s.x[i]))
            .y((i) => y(s.y[i]))
            .digits(2)(s.x.map((_, i) => i)) ?? '';
        out.push(`<path class="model"${attrs({ d, fill: 'none', stroke: s.color, 'stroke-width': 1.8, 'stroke-dasharray': s.dash, 'data-label': s.label, ...(s.attrs ?? {}) })}/>`);
      } else {
        out.push(`<g class="data"${attrs({ fill: 'none', stroke: s.color, 'stroke-width': 1, 'data-label': s.label, ...(s.attrs ?? {}) })}>`);
        s.x.forEach((xv, i) => {
          if (Number.isFinite(xv) && Number.isFinite(s.y[i])) out.push(`<circle${attrs({ cx: x(xv), cy: y(s.y[i]), r: 2.2 })}/>`);
        });
        out.push('</g>');
      }
    }
    out.push('</g>');
    out.push(`<rect${attrs({ x: 0, y: 0, width: pw, height: ph, fill: 'none', stroke: '#222' })}/>`);
    out.push('<g class="x-axis" font-size="11" text-anchor="middle">');
    for (const t of xt) out.push(`<line${attrs({ x1: x(t), x2: x(t), y1: ph, y2: ph + 5, stroke: '#222' })}/><text${attrs({ x: x(t), y: ph + 18 })}>${esc(fx(t))}</text>`);
    out.push(`<text class="axis-label"${attrs({ x: pw / 2, y: ph + 38, 'font-size': 12 })}>${esc(spec.xLabel)}</text></g>`);
    out.push('<g class="y-axis" font-size="11" text-anchor="end">');
    for (const t of yt) out.push(`<line${attrs({ x1: -5, x2: 0, y1: y(t), y2: y(t), stroke: '#222' })}/><text${attrs({ x: -8, y: y(t) + 4 })}>${esc(fy(t))}</text>`);
    out.push(`<text class="axis-label"${attrs({ transform: `translate(-52,${r(ph / 2)}) rotate(-90)`, 'text-anchor': 'middle', 'font-size': 12 })}>${esc(spec.yLabel)}</text></g>`);
    out.push('</g>');
  });
  const lx = width - legendW + 8;
  out.push('<g class="legend" font-size="12">');
  spec.legend.forEach((e, i) => {
    const yy = titleH + M.top + 6 + i * 20;
    if (e.kind === 'line') out.push(`<line${attrs({ x1: lx, x2: lx + 24, y1: yy, y2: yy, stroke: e.color, 'stroke-width': 2, 'stroke-dasharray': e.dash })}/>`);
    else out.push(`<circle${attrs({ cx: lx + 12, cy: yy, r: 3, fill: 'none', stroke: e.color })}/>`);
    out.push(`<text${attrs({ x: lx + 30, y: yy + 4 })}>${esc(e.label)}</text>`);
  });
  out.push('</g></svg>');
  return out.join('\n') + '\n';
}

function obsTitle(file: FitFile, k: number): string {
  const o = file.measured.observations[k];
  const st = file.base.stages[o.stage];
  const name = o.label.split(/[\\/]/).pop() ?? o.label;
  return `${name} after ${st ? st.name : `stage ${o.stage + 1}`}`;
}

function speciesOf(file: FitFile): string[] {
  return [...new Set(file.measured.observations.flatMap((o) => o.species))];
}

function valuesText(file: FitFile, values: number[]): string {
  return file.parameters.map((p, j) => `${p.split('.').slice(-2).join('.')} = ${fmtLabel(values[j])}`).join(', ');
}

/** Measured points (markers) and the best member's model (lines) per species, a panel per observation. */
export function bestFitSvg(file: FitFile): string {
  const panels: XYPanel[] = file.measured.observations.map((o, k) => ({
    title: obsTitle(file, k),
    series: o.species.flatMap((sp): XYSeries[] => [
      { label: `${sp} measured`, color: speciesColor(sp), x: o.depth_nm, y: o.target[sp], kind: 'markers', attrs: { 'data-species': sp } },
      { label: `${sp} model`, color: speciesColor(sp), x: o.depth_nm, y: file.best.model[k]?.[sp] ?? [], kind: 'line', attrs: { 'data-species': sp } },
    ]),
  }));
  const sp = speciesOf(file);
  return panelsSvg({
    title: `best fit: ${valuesText(file, file.best.values)} (residual ${fmtLabel(file.best.residual)})`,
    xLabel: 'depth (nm)',
    yLabel: 'n / n0 (normalized)',
    panels,
    cols: 2,
    legend: [
      ...sp.map((s) => ({ label: `${s}+ model`, color: speciesColor(s), kind: 'line' as const })),
      ...sp.map((s) => ({ label: `${s}+ measured`, color: speciesColor(s), kind: 'markers' as const })),
    ],
    idPrefix: 'cait-bestfit',
  });
}

const OBS_DASH = [undefined, '6 3', '2 2', '8 3 2 3'];

/** d model / d ln p versus depth: a panel per parameter, a line per species (dash per observation). */
export function sensitivitySvg(file: FitFile): string | undefined {
  const sens = file.sensitivity;
  if (!sens?.length) return undefined;
  const panels: XYPanel[] = sens.map((s) => ({
    title: `${s.path} (RMS ${fmtLabel(s.rms)})`,
    series: file.measured.observations.flatMap((o, k) =>
      o.species.map((sp): XYSeries => ({
        label: `${sp} obs ${k + 1}`,
        color: speciesColor(sp),
        x: o.depth_nm,
        y: s.derivative[k]?.[sp] ?? [],
        kind: 'line',
        dash: OBS_DASH[k % OBS_DASH.length],
        attrs: { 'data-species': sp, 'data-observation': String(k + 1) },
      })),
    ),
  }));
  const legend = [
    ...speciesOf(file).map((sp) => ({ label: `${sp}+`, color: speciesColor(sp), kind: 'line' as const })),
    ...file.measured.observations.map((o, k) => ({ label: `obs ${k + 1}: stage ${o.stage + 1}`, color: '#444', kind: 'line' as const, dash: OBS_DASH[k % OBS_DASH.length] })),
  ];
  return panelsSvg({
    title: `sensitivity at the best fit: d model / d ln p (±${fmtLabel(sens[0].step * 100)} % central differences)`,
    xLabel: 'depth (nm)',
    yLabel: 'd(n/n0) / d ln p',
    panels,
    cols: 2,
    legend,
    zeroLine: true,
    idPrefix: 'cait-sens',
  });
}

/** Per parameter and observation: the measured points and the model at −20 %, best and +20 % of that parameter. */
export function plusMinus20Svg(file: FitFile): string | undefined {
  const sens = file.sensitivity;
  if (!sens?.length) return undefined;
  const obs = file.measured.observations;
  const panels: XYPanel[] = [];
  sens.forEach((s) =>
    obs.forEach((o, k) =>
      panels.push({
        title: `${s.path.split('.').slice(-3).join('.')} ±20 %: ${obsTitle(file, k)}`,
        series: o.species.flatMap((sp): XYSeries[] => {
          const c = speciesColor(sp);
          const a = { 'data-species': sp };
          return [
            { label: `${sp} measured`, color: c, x: o.depth_nm, y: o.target[sp], kind: 'markers', attrs: a },
            { label: `${sp} −20 %`, color: c, x: o.depth_nm, y: s.minus20[k]?.[sp] ?? [], kind: 'line', dash: '6 3', attrs: { ...a, 'data-variant': 'minus20' } },
            { label: `${sp} best`, color: c, x: o.depth_nm, y: file.best.model[k]?.[sp] ?? [], kind: 'line', attrs: { ...a, 'data-variant': 'best' } },
            { label: `${sp} +20 %`, color: c, x: o.depth_nm, y: s.plus20[k]?.[sp] ?? [], kind: 'line', dash: '2 2', attrs: { ...a, 'data-variant': 'plus20' } },
          ];
        }),
      }),
    ),
  );
  return panelsSvg({
    title: `one parameter at 0.8×, 1× and 1.2× the best fit, the others at the best`,
    xLabel: 'depth (nm)',
    yLabel: 'n / n0 (normalized)',
    panels,
    cols: obs.length,
    legend: [
      ...speciesOf(file).map((sp) => ({ label: `${sp}+`, color: speciesColor(sp), kind: 'line' as const })),
      { label: 'measured', color: '#444', kind: 'markers' },
      { label: '−20 %', color: '#444', kind: 'line', dash: '6 3' },
      { label: 'best', color: '#444', kind: 'line' },
      { label: '+20 %', color: '#444', kind: 'line', dash: '2 2' },
    ],
    idPrefix: 'cait-pm20',
  });
}

// ---------------------------------------------------------------- residual map

/** Cell edges of grid values on an axis (midpoints between neighbours, in scaled coordinates, mapped back). */
function edges(values: number[], log: boolean): number[] {
  const t = values.map((v) => (log ? Math.log(v) : v));
  const n = t.length;
  if (n === 1) {
    const h = log ? 0.1 : Math.abs(t[0]) * 0.1 || 1;
    return [t[0] - h, t[0] + h].map((v) => (log ? Math.exp(v) : v));
  }
  const e: number[] = [t[0] - (t[1] - t[0]) / 2];
  for (let i = 0; i < n - 1; i++) e.push((t[i] + t[i + 1]) / 2);
  e.push(t[n - 1] + (t[n - 1] - t[n - 2]) / 2);
  return e.map((v) => (log ? Math.exp(v) : v));
}

/**
 * The residual heatmap of a map: cells coloured by residual on a log colour
 * scale (viridis; colour bar on the right), the best cell marked (white
 * star), cells with Δχ² ≤ 1 outlined in white, the Δχ² = 1 ellipse of the
 * local quadratic model (profiled over the other parameters) and the
 * refinement members as dots. Axes in parameter units (log for log axes).
 */
export function residualMapSvg(file: FitFile, map: ResidualMap): string {
  const pw = 420;
  const ph = 340;
  const barW = 110;
  const titleH = 40;
  const width = M.left + pw + M.right + barW;
  const height = titleH + M.top + ph + M.bottom + 32;
  const xLog = map.x.scale === 'log';
  const yLog = map.y.scale === 'log';
  const xe = edges(map.x.values, xLog);
  const ye = edges(map.y.values, yLog);
  const xDom: [number, number] = [Math.min(...xe), Math.max(...xe)];
  const yDom: [number, number] = [Math.min(...ye), Math.max(...ye)];
  const x = xLog ? scaleLog().domain(xDom).range([0, pw]) : scaleLinear().domain(xDom).range([0, pw]);
  const y = yLog ? scaleLog().domain(yDom).range([ph, 0]) : scaleLinear().domain(yDom).range([ph, 0]);
  const zMin = map.zMin ?? 1;
  const zMax = map.zMax ?? 10;
  const lo = zMin > 0 ? zMin : 1e-300;
  const hi = zMax > lo ? zMax : lo * 10;
  const color = scaleSequentialLog(interpolateViridis).domain([lo, hi]);
  const s2 = file.noise.s2;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg"${attrs({ width, height, viewBox: `0 0 ${width} ${height}`, 'font-family': FONT, 'font-size': 12 })}>`);
  out.push(`<rect${attrs({ x: 0, y: 0, width, height, fill: 'white' })}/>`);
  out.push(
    `<text class="title"${attrs({ x: M.left + pw / 2, y: 20, 'text-anchor': 'middle', 'font-size': 14, 'font-weight': 'bold' })}>${esc(`residual map (${map.mode === 'min' ? 'others minimised' : 'others at the best grid member'})`)}</text>`,
  );
  if (map.mode === 'fixed' && Object.keys(map.fixed).length)
    out.push(`<text${attrs({ x: M.left + pw / 2, y: 36, 'text-anchor': 'middle', 'font-size': 11 })}>${esc(Object.entries(map.fixed).map(([p, v]) => `${p} = ${fmtLabel(v)}`).join(', '))}</text>`);
  out.push(`<g class="map"${attrs({ transform: `translate(${M.left},${titleH + M.top})` })}>`);
  out.push(`<defs><clipPath id="cait-map-clip"><rect${attrs({ x: 0, y: 0, width: pw, height: ph })}/></clipPath></defs>`);
  out.push('<g class="cells">');
  map.z.forEach((row, iy) =>
    row.forEach((v, ix) => {
      const x0 = x(xe[ix]);
      const x1 = x(xe[ix + 1]);
      const y0 = y(ye[iy + 1]);
      const y1 = y(ye[iy]);
      const fill = v === null ? '#bbbbbb' : color(Math.max(lo, v));
      const dchi = v !== null && s2 > 0 ? (v - file.best.residual) / s2 : null;
      out.push(
        `<rect${attrs({ x: Math.min(x0, x1), y: Math.min(y0, y1), width: Math.abs(x1 - x0), height: Math.abs(y1 - y0), fill, 'data-residual': v === null ? 'failed' : String(v), 'data-delta-chi2': dchi === null ? undefined : String(dchi) })}/>`,
      );
    }),
  );
  out.push('</g>');
  // cells with Δχ² ≤ 1
  out.push('<g class="delta-chi2-cells" fill="none" stroke="white" stroke-width="2">');
  map.z.forEach((row, iy) =>
    row.forEach((v, ix) => {
      if (v === null || !(s2 > 0) || (v - file.best.residual) / s2 > 1) return;
      const x0 = x(xe[ix]);
      const x1 = x(xe[ix + 1]);
      const y0 = y(ye[iy + 1]);
      const y1 = y(ye[iy]);
      out.push(`<rect${attrs({ x: Math.min(x0, x1) + 1, y: Math.min(y0, y1) + 1, width: Math.abs(x1 - x0) - 2, height: Math.abs(y1 - y0) - 2 })}/>`);
    }),
  );
  out.push('</g>');
  // members off the grid (inside the plotted range): refinement rounds (white dots), the optimiser and the interval members (small)
  out.push('<g class="refine" clip-path="url(#cait-map-clip)" fill="white" stroke="#222" stroke-width="0.5">');
  for (const m of file.members)
    if ((m.source === 'refine' || m.source === 'local' || m.source === 'interval') && m.status === 'ok') {
      const xv = m.values[map.x.index];
      const yv = m.values[map.y.index];
      if (xv >= xDom[0] && xv <= xDom[1] && yv >= yDom[0] && yv <= yDom[1])
        out.push(`<circle${attrs({ cx: x(xv), cy: y(yv), r: m.source === 'refine' ? 2 : 1.3, 'data-source': m.source })}/>`);
    }
  out.push('</g>');
  // Δχ² = 1 ellipse of the quadratic model, profiled over the others: u_pᵀ ((A⁻¹)_pp)⁻¹ u_p = 2 s²
  const quad = (file.best as Record<string, unknown>).quadratic as
    | { centre: number[]; free: string[]; hessian_scaled: number[][] }
    | undefined;
  if (quad && s2 > 0) {
    const a = quad.free.indexOf(map.x.path);
    const b = quad.free.indexOf(map.y.path);
    const Ainv = spdInverse(quad.hessian_scaled);
    if (a >= 0 && b >= 0 && Ainv) {
      const L = cholesky([
        [Ainv[a][a], Ainv[a][b]],
        [Ainv[b][a], Ainv[b][b]],
      ]);
      if (L) {
        const k = Math.sqrt(2 * s2);
        const cx = xLog ? Math.log(quad.centre[map.x.index]) : quad.centre[map.x.index];
        const cy = yLog ? Math.log(quad.centre[map.y.index]) : quad.centre[map.y.index];
        const pts: [number, number][] = [];
        for (let i = 0; i <= 96; i++) {
          const th = (2 * Math.PI * i) / 96;
          const u = [Math.cos(th), Math.sin(th)];
          const du = k * (L[0][0] * u[0]);
          const dv = k * (L[1][0] * u[0] + L[1][1] * u[1]);
          const xv = xLog ? Math.exp(cx + du) : cx + du;
          const yv = yLog ? Math.exp(cy + dv) : cy + dv;
          pts.push([x(xv), y(yv)]);
        }
        const d = line().digits(2)(pts) ?? '';
        out.push(`<path class="delta-chi2-ellipse" clip-path="url(#cait-map-clip)"${attrs({ d, fill: 'none', stroke: '#ff3b3b', 'stroke-width': 2 })}/>`);
        out.push(`<circle class="quadratic-centre"${attrs({ cx: x(xLog ? Math.exp(cx) : cx), cy: y(yLog ? Math.exp(cy) : cy), r: 2.5, fill: '#ff3b3b' })}/>`);
      }
    }
  }
  // the best cell, and the best member where it lies off the grid (refined)
  if (map.best) {
    const bx = map.x.values[map.best.ix];
    const by = map.y.values[map.best.iy];
    out.push(`<text class="best-cell"${attrs({ x: x(bx), y: y(by) + 6, 'text-anchor': 'middle', 'font-size': 18, fill: 'white', stroke: '#222', 'stroke-width': 0.6 })}>★</text>`);
  }
  const bestRefined = file.members[file.best.member]?.source !== 'grid';
  if (bestRefined) {
    const bv = [file.best.values[map.x.index], file.best.values[map.y.index]];
    out.push(
      `<path class="best-member"${attrs({ d: `M${r(x(bv[0]) - 6)},${r(y(bv[1]))}h12M${r(x(bv[0]))},${r(y(bv[1]) - 6)}v12`, stroke: '#ff3b3b', 'stroke-width': 2.5, fill: 'none' })}/>`,
    );
  }
  out.push(`<rect${attrs({ x: 0, y: 0, width: pw, height: ph, fill: 'none', stroke: '#222' })}/>`);
  // axes
  const tickText = (v: number) => fmtLabel(v);
  const xt = xLog ? (x as ReturnType<typeof scaleLog>).ticks(4) : (x as ReturnType<typeof scaleLinear>).ticks(6);
  const yt = yLog ? (y as ReturnType<typeof scaleLog>).ticks(4) : (y as ReturnType<typeof scaleLinear>).ticks(6);
  const xts = xt.length > 8 ? map.x.values : xt;
  const yts = yt.length > 8 ? map.y.values : yt;
  out.push('<g class="x-axis" font-size="10" text-anchor="middle">');
  for (const t of xts) out.push(`<line${attrs({ x1: x(t), x2: x(t), y1: ph, y2: ph + 5, stroke: '#222' })}/><text${attrs({ x: x(t), y: ph + 17 })}>${esc(tickText(t))}</text>`);
  out.push(`<text class="axis-label"${attrs({ x: pw / 2, y: ph + 38, 'font-size': 12 })}>${esc(paramLabel(map.x.path))}</text></g>`);
  out.push('<g class="y-axis" font-size="10" text-anchor="end">');
  for (const t of yts) out.push(`<line${attrs({ x1: -5, x2: 0, y1: y(t), y2: y(t), stroke: '#222' })}/><text${attrs({ x: -7, y: y(t) + 3 })}>${esc(tickText(t))}</text>`);
  out.push(`<text class="axis-label"${attrs({ transform: `translate(-58,${r(ph / 2)}) rotate(-90)`, 'text-anchor': 'middle', 'font-size': 12 })}>${esc(paramLabel(map.y.path))}</text></g>`);
  out.push('</g>');
  // colour bar
  const bx = M.left + pw + M.right + 20;
  const by = titleH + M.top;
  const bh = ph;
  const barScale = scaleLog().domain([lo, hi]).range([bh, 0]);
  out.push(`<g class="colorbar"${attrs({ transform: `translate(${bx},${by})` })}>`);
  const steps = 48;
  for (let i = 0; i < steps; i++) {
    const v0 = lo * (hi / lo) ** (i / steps);
    const v1 = lo * (hi / lo) ** ((i + 1) / steps);
    out.push(`<rect${attrs({ x: 0, y: barScale(v1), width: 14, height: barScale(v0) - barScale(v1) + 0.5, fill: color(Math.sqrt(v0 * v1)) })}/>`);
  }
  out.push(`<rect${attrs({ x: 0, y: 0, width: 14, height: bh, fill: 'none', stroke: '#222' })}/>`);
  const fz = format('.2~e');
  for (const t of barScale.ticks(5).filter((_, i, a) => a.length <= 6 || i % Math.ceil(a.length / 6) === 0))
    out.push(`<line${attrs({ x1: 14, x2: 18, y1: barScale(t), y2: barScale(t), stroke: '#222' })}/><text${attrs({ x: 21, y: barScale(t) + 3, 'font-size': 10 })}>${esc(fz(t))}</text>`);
  out.push(`<text${attrs({ transform: `translate(-6,${r(bh / 2)}) rotate(-90)`, 'text-anchor': 'middle', 'font-size': 11 })}>residual Σ w (model − measured)²</text>`);
  out.push('</g>');
  // key
  out.push(
    `<text${attrs({ x: 8, y: height - 20, 'font-size': 10 })}>${esc(`★ best grid cell${bestRefined ? '; red +: the best member (off the grid)' : ''}; white outline: Δχ² ≤ 1; red: Δχ² = 1 of the local quadratic model;`)}</text>`,
    `<text${attrs({ x: 8, y: height - 6, 'font-size': 10 })}>${esc('dots: members off the grid (refinement; small: the optimiser and the interval members); grey: failed')}</text>`,
  );
  out.push('</svg>');
  return out.join('\n') + '\n';
}
