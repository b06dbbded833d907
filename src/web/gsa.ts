/**
 * The explorer's view of a sensitivity study (`cait-gsa/1`): the bar charts
 * of every scalar output (or one) and the depth × parameter map of the
 * chosen index, drawn by the same functions as `cait gsa`'s SVG files
 * (src/plot/gsa.ts), with hover values: over a bar its output, parameter
 * and index ± interval; over a map its stage, species, depth, parameter,
 * S1 and ST (or μ*, σ) there and the mean profile ± SD.
 *
 * The tooltip carries data-* attributes of what it shows (for tests).
 */
import { indicesCsv, depthIndicesCsv } from '../gsa/output.js';
import type { GsaFile } from '../gsa/schema.js';
import { depthIndices, depthIndexValues, depthMapSvg, DEPTH_INDEX_LABEL, indicesSvg, parameterLabel, type DepthIndex } from '../plot/gsa.js';
import { fillSelect, fmtNum } from './plots.js';

export interface GsaElements {
  bars: HTMLElement;
  depth: HTMLElement;
  /** the depth view's section (hidden without depth maps) */
  depthSection: HTMLElement;
  output: HTMLSelectElement;
  index: HTMLSelectElement;
  tooltip: HTMLElement;
  caption: HTMLElement;
}

export interface GsaViews {
  /** the figures' SVG elements and CSV text, for the page's export buttons */
  indices: { svg: () => SVGSVGElement | null; csv: () => string };
  depth?: { svg: () => SVGSVGElement | null; csv: () => string };
}

const pm = (v: number | null | undefined, c: number | null | undefined) => (v === null || v === undefined ? 'undefined' : `${fmtNum(v)}${c !== null && c !== undefined ? ` ± ${fmtNum(c)}` : ''}`);

function place(tip: HTMLElement, ev: MouseEvent): void {
  tip.hidden = false;
  tip.style.left = `${ev.clientX + 14}px`;
  tip.style.top = `${ev.clientY + 14}px`;
}

function setData(tip: HTMLElement, data: Record<string, string | number>): void {
  for (const k of Object.keys(tip.dataset)) delete tip.dataset[k];
  for (const [k, v] of Object.entries(data)) tip.dataset[k] = String(v);
}

/** Hover over the bars: the bar's output, parameter and value ± interval. */
function barHover(file: GsaFile, host: HTMLElement, tip: HTMLElement): void {
  host.onmousemove = (ev) => {
    const bar = (ev.target as Element).closest?.('.bar');
    if (!bar) return void (tip.hidden = true);
    const name = bar.getAttribute('data-output')!;
    const i = Number(bar.getAttribute('data-param'));
    const o = file.outputs[name];
    const p = file.parameters[i];
    const lines =
      'S1' in o
        ? [`S1 = ${pm(o.S1[i], o.S1_conf[i])}`, `ST = ${pm(o.ST[i], o.ST_conf[i])}`, `ST − S1 = ${o.S1[i] === null || o.ST[i] === null ? 'undefined' : fmtNum(o.ST[i]! - o.S1[i]!)}`]
        : [`μ* = ${pm(o.mu_star[i], o.mu_star_conf[i])}`, `σ = ${pm(o.sigma[i], null)}`, `μ = ${pm(o.mu[i], null)}`];
    setData(tip, { view: 'gsa-indices', output: name, param: i, index: bar.getAttribute('data-index')!, value: bar.getAttribute('data-value')! });
    tip.innerHTML = `<b>${name}</b>${o.unit ? ` (${o.unit})` : ''}<br>${p.path}<br>${lines.join('<br>')}`;
    place(tip, ev);
  };
  host.onmouseleave = () => void (tip.hidden = true);
}

/** Hover over a depth map: the cell under the pointer (depth from the panel's scale, parameter from the row). */
function depthHover(file: GsaFile, index: DepthIndex, host: HTMLElement, tip: HTMLElement): void {
  const depth = file.depth!;
  host.onmousemove = (ev) => {
    const g = (ev.target as Element).closest?.('.depth-panel') as SVGGElement | null;
    const ctm = g?.getScreenCTM();
    if (!g || !ctm) return void (tip.hidden = true);
    const pt = new DOMPoint(ev.clientX, ev.clientY).matrixTransform(ctm.inverse());
    const [d0, d1] = g.getAttribute('data-xdomain')!.split(',').map(Number);
    const [r0, r1] = g.getAttribute('data-xrange')!.split(',').map(Number);
    const top = Number(g.getAttribute('data-map-top'));
    const rowH = Number(g.getAttribute('data-row-height'));
    const i = Math.floor((pt.y - top) / rowH);
    const x = d0 + ((pt.x - r0) * (d1 - d0)) / (r1 - r0);
    const n = depth.depth_nm.length;
    const j = Math.round(((x - depth.depth_nm[0]) / (depth.depth_nm[n - 1] - depth.depth_nm[0])) * (n - 1));
    if (!(i >= 0 && i < file.parameters.length && j >= 0 && j < n)) return void (tip.hidden = true);
    const stage = Number(g.getAttribute('data-stage'));
    const species = g.getAttribute('data-species')!;
    const m = depth.maps.find((q) => q.stage === stage && q.species === species)!;
    const value = depthIndexValues(m, index)[i][j];
    const lines =
      'S1' in m
        ? [`S1 = ${pm(m.S1[i][j], m.S1_conf[i][j])}`, `ST = ${pm(m.ST[i][j], m.ST_conf[i][j])}`]
        : [`μ* = ${pm(m.mu_star[i][j], m.mu_star_conf[i][j])}`, `σ = ${pm(m.sigma[i][j], null)}`];
    setData(tip, { view: 'gsa-depth', stage, species, depth: depth.depth_nm[j], param: i, index, value: value === null ? '' : value });
    tip.innerHTML =
      `<b>${species}+ after stage ${stage}, ${fmtNum(depth.depth_nm[j])} nm</b><br>${file.parameters[i].path}<br>${lines.join('<br>')}` +
      `<br>n/n0 = ${pm(m.mean[j], null)} (SD ${pm(m.sd[j], null)} over the runs)`;
    place(tip, ev);
  };
  host.onmouseleave = () => void (tip.hidden = true);
}

/** The caption: what was studied, how, and what the figures show. */
function caption(file: GsaFile): string {
  const p = file.provenance;
  const model = file.model.kind === 'protocol' ? `protocol ${file.model.base.name}` : `test function ${file.model.name}`;
  const how = file.method === 'sobol' ? `Sobol' indices, N = ${file.N}` : `Morris screening, r = ${file.N}`;
  const params = file.parameters.map((q) => `${parameterLabel(q.path)} ∈ [${fmtNum(q.lo)}, ${fmtNum(q.hi)}]${q.scale === 'log' ? ' (log)' : ''}`).join('; ');
  return `${model}; ${how}; ${file.runs} runs (${file.members.failed} failed) on ${p.engine} (${p.adapter}); parameters: ${params}${file.warnings.length ? `; warnings: ${file.warnings.join('; ')}` : ''}`;
}

/**
 * Draw the study's views into the page's elements (the selects keep the
 * chosen output and index; `onChange` redraws after a selection changes).
 */
export function renderGsa(file: GsaFile, el: GsaElements, onChange: () => void): GsaViews {
  const names = Object.keys(file.outputs);
  fillSelect(el.output, [{ value: '', label: `all outputs (${names.length})` }, ...names.map((n) => ({ value: n, label: n }))], el.output.value);
  const chosen = el.output.value ? [el.output.value] : names;
  el.bars.innerHTML = indicesSvg(file, { outputs: chosen });
  barHover(file, el.bars, el.tooltip);
  el.caption.textContent = caption(file);
  el.output.onchange = onChange;
  const views: GsaViews = { indices: { svg: () => el.bars.querySelector('svg'), csv: () => indicesCsv(file) } };
  el.depthSection.hidden = !file.depth;
  if (!file.depth) return views;
  const ixs = depthIndices(file);
  fillSelect(el.index, ixs.map((ix) => ({ value: ix, label: DEPTH_INDEX_LABEL[ix] })), el.index.value || (ixs.includes('ST') ? 'ST' : ixs[0]));
  const index = el.index.value as DepthIndex;
  el.depth.innerHTML = depthMapSvg(file, index);
  depthHover(file, index, el.depth, el.tooltip);
  el.index.onchange = onChange;
  views.depth = { svg: () => el.depth.querySelector('svg'), csv: () => depthIndicesCsv(file) ?? '' };
  return views;
}
