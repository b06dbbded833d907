/// <reference types="vite/client" />
/**
 * The explorer page: load a fit (cait-fit/1), an ensemble (cait-ensemble/1)
 * or a measured SIMS profile (file picker, drag and drop, or `?file=URL` of
 * the same origin), and look at it:
 *   fit:      residual heatmap over any two parameters (others fixed or
 *             minimized), hover values, click a cell → that member's profiles
 *             beside the best fit, sensitivity bars, d model/d ln p, ±20 %;
 *   ensemble: member table (pages of 100) and the selected members' profiles;
 *   SIMS:     the imported profile (shots / crater depth / rate / sensitivity);
 *   gsa:      a sensitivity study (cait-gsa/1): index bars and depth maps with hover (gsa.ts).
 * Every view exports SVG, PNG and CSV. The state (file, axes, mode, fixed
 * indices, selected cell, scale, selected members) lives in the URL.
 * The live-sweep panel (src/web/run/panel.ts) mounts in #live-sweep.
 *
 * For scripts and tests: window.caitExplorer (see ExplorerApi).
 */
import type { EnsembleFile } from '../ensemble/output.js';
import type { FitFile } from '../fit/schema.js';
import { loadedFromObject, parseLoaded, type Loaded, type SimsInputs } from './data.js';
import { download, svgText, svgToPng } from './export.js';
import { drawHeatmap, heatmapCsv, nextTask, regionThreshold } from './heatmap.js';
import { indexOfValues, pageMap, type PageMap } from './map.js';
import { csvCell, drawPanels, fillSelect, fmtNum, panelsCsv, shortPath, type Panel } from './plots.js';
import { fmtResolved } from '../core/format.js';
import { DEFAULT_STATE, readState, stateSearch, type PageState } from './state.js';
import type { ParseSource } from './parse.worker.js';
import { ParseClient } from './worker-client.js';
import { derivativePanels, drawSensitivityBars, ensemblePanels, memberPanels, plusMinusPanels, sensitivityCsv, simsPanels } from './views.js';

interface ViewEntry {
  svg: () => SVGSVGElement | null;
  csv: () => string;
}

export interface ExplorerApi {
  /** load a file's text as if picked (name decides nothing; content does) */
  loadText(text: string, name: string): Promise<void>;
  state(): PageState;
  views(): string[];
  exportSvg(view: string): string;
  exportCsv(view: string): string;
  /** PNG as a data: URL */
  exportPng(view: string): Promise<string>;
  /** milliseconds of the last full render */
  lastRenderMs(): number;
  /** milliseconds of the last draw of each view */
  timings(): Record<string, number>;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`page element #${id} is missing`);
  return e as T;
};

/** What the page shows and how: the one place its mutable state lives. */
interface PageContext {
  /** the file shown */
  loaded: Loaded | null;
  /** axes, mode, selection, scale… (mirrored in the URL) */
  state: PageState;
  /** the heatmap drawn last */
  currentMap: PageMap | null;
  /** milliseconds of the last full render */
  lastRender: number;
  /** the ensemble member table's page */
  ensemblePage: number;
  /** draws started per view: a draw that finds a newer one started gives up */
  generation: { heatmap: number; profiles: number; ensemble: number };
  /** milliseconds of the last draw of each view */
  timings: Record<string, number>;
}

const page: PageContext = {
  loaded: null,
  state: { ...DEFAULT_STATE },
  currentMap: null,
  lastRender: 0,
  ensemblePage: 0,
  generation: { heatmap: 0, profiles: 0, ensemble: 0 },
  timings: {},
};
const views = new Map<string, ViewEntry>();
const PAGE_ROWS = 100;

function setStatus(text: string, error = false): void {
  const s = $('status');
  s.textContent = text;
  s.classList.toggle('error', error);
  if (error) s.setAttribute('role', 'alert');
  else s.removeAttribute('role');
}

function writeUrl(): void {
  const search = stateSearch(page.state);
  if (search !== location.search) history.replaceState(null, '', location.pathname + search + location.hash);
}

function simsInputs(): SimsInputs {
  const num = (id: string): number | undefined => {
    const v = ($(id) as HTMLInputElement).value.trim();
    if (!v) return undefined;
    const x = Number(v);
    if (!Number.isFinite(x) || x <= 0) throw new Error(`${id.replace('sims-', '')}: "${v}" is not a positive number`);
    return x;
  };
  const out: SimsInputs = {};
  const shots = num('sims-shots');
  if (shots !== undefined) {
    if (!Number.isInteger(shots)) throw new Error(`shots: ${shots} is not an integer`);
    out.shots = shots;
  }
  const crater = num('sims-crater');
  if (crater !== undefined) out.craterDepth_nm = crater;
  const rate = num('sims-rate');
  if (rate !== undefined) out.sputterRate_nm_s = rate;
  const sens = ($('sims-sens') as HTMLInputElement).value.trim();
  if (sens) {
    out.sensitivity = {};
    for (const part of sens.split(',')) {
      const m = /^\s*([A-Z][a-z]?)\s*=\s*(\S+)\s*$/.exec(part);
      const x = m ? Number(m[2]) : NaN;
      if (!m || !(x > 0)) throw new Error(`sensitivity: "${part.trim()}" is not ELEMENT=POSITIVE_NUMBER (e.g. Li=1,Rb=2.6)`);
      out.sensitivity[m[1]] = x;
    }
  }
  return out;
}

// ---- the parser worker ----------------------------------------------------------------------------

const parser = new ParseClient();

// ---- loading --------------------------------------------------------------------------------------

async function loadText(text: string, name: string, fromUrl: string | null = null, keepState = false): Promise<void> {
  await loadSource({ text }, name, fromUrl, keepState);
}

/**
 * Parse a file and show it. With a worker (always, in a browser) the text,
 * File or URL goes to it: parsing and the per-member profiles stay off the
 * main thread. Without one, the text is parsed here.
 */
async function loadSource(src: ParseSource, name: string, fromUrl: string | null = null, keepState = false): Promise<void> {
  setStatus(`reading ${name} …`);
  // let the status paint first
  await new Promise((r) => setTimeout(r, 0));
  let l: Loaded;
  let viaWorker = false;
  try {
    const sims = simsInputs();
    if (parser.available()) {
      const r = await parser.parse(src, name, sims);
      if (!r.ok || !r.loaded) throw new Error(r.ok ? `${name}: nothing parsed` : r.error);
      l = r.loaded;
      viaWorker = true;
    } else {
      const text = 'text' in src ? src.text : 'blob' in src ? await src.blob.text() : await fetchText(src.url, name);
      l = parseLoaded(text, name, sims);
    }
  } catch (e) {
    setStatus((e as Error).message, true);
    document.body.dataset.loaded = 'error';
    return;
  }
  await showLoaded(l, fromUrl, keepState, viaWorker);
}

async function fetchText(url: string, name: string): Promise<string> {
  let r: Response;
  try {
    r = await fetch(url);
  } catch (e) {
    throw new Error(`file: could not fetch ${name} (${(e as Error).message})`);
  }
  if (!r.ok) throw new Error(`file: could not fetch ${name} (HTTP ${r.status})`);
  return r.text();
}

/** Show a page.loaded file: fresh page.state (or the URL's, when it named this file), URL updated, every view drawn. */
async function showLoaded(l: Loaded, fromUrl: string | null, keepState: boolean, viaWorker = false): Promise<void> {
  page.loaded = l;
  parser.loaded(viaWorker);
  const prev = page.state;
  page.state = keepState ? { ...prev, file: fromUrl } : { ...DEFAULT_STATE, file: fromUrl };
  page.ensemblePage = 0;
  initState();
  writeUrl();
  await renderAll();
}

function initState(): void {
  if (!page.loaded) return;
  if (page.loaded.kind === 'fit') {
    const fit = page.loaded.fit;
    const P = fit.parameters.length;
    const xi = page.state.x ? fit.parameters.indexOf(page.state.x) : -1;
    let yi = page.state.y ? fit.parameters.indexOf(page.state.y) : -1;
    const x = Math.max(xi, 0);
    if (yi < 0 || yi === x) yi = P > 1 ? (x === 0 ? 1 : 0) : -1;
    page.state.x = fit.parameters[x];
    page.state.y = yi >= 0 ? fit.parameters[yi] : null;
    const bestIdx = indexOfValues(fit.grid.axes, fit.best.values);
    if (!page.state.fixed || page.state.fixed.length !== P || page.state.fixed.some((v, k) => v >= fit.grid.axes[k].length)) page.state.fixed = bestIdx;
    if (page.state.cell === null || page.state.cell >= fit.members.length) page.state.cell = fit.best.member;
  } else if (page.loaded.kind === 'ensemble') {
    const ens = page.loaded.ens;
    page.state.members = page.state.members.filter((i) => i < ens.members.length);
    if (!page.state.members.length) {
      const first = ens.members.findIndex((m) => m.status === 'ok');
      if (first >= 0) page.state.members = [first];
    }
  }
}

async function loadFromUrl(file: string): Promise<void> {
  let url: URL;
  try {
    url = new URL(file, location.href);
  } catch {
    return setStatus(`file: "${file}" is not a URL`, true);
  }
  if (url.origin !== location.origin) return setStatus(`file: ${file} is not on this server (${location.origin}); the page loads only local files`, true);
  await loadSource({ url: url.href }, url.pathname.split('/').pop() || file, file, true);
}

// ---- rendering -------------------------------------------------------------------------------------

function show(id: string, on: boolean): void {
  $(id).hidden = !on;
}

async function renderAll(): Promise<void> {
  const t0 = performance.now();
  views.clear();
  show('fit-views', page.loaded?.kind === 'fit');
  show('ensemble-views', page.loaded?.kind === 'ensemble');
  show('sims-views', page.loaded?.kind === 'sims');
  show('gsa-views', page.loaded?.kind === 'gsa');
  if (!page.loaded) return;
  if (page.loaded.kind === 'fit') await renderFit(page.loaded.fit);
  else if (page.loaded.kind === 'ensemble') await renderEnsemble(page.loaded.ens);
  else if (page.loaded.kind === 'gsa') await renderGsaViews();
  else renderSims();
  page.lastRender = performance.now() - t0;
  setStatus(statusLine());
  document.body.dataset.loaded = page.loaded.kind;
  document.body.dataset.renders = String(Number(document.body.dataset.renders ?? 0) + 1);
}

function statusLine(): string {
  if (!page.loaded) return '';
  if (page.loaded.kind === 'fit') {
    const f = page.loaded.fit;
    return `${page.loaded.name}: cait-fit/1, ${f.parameters.length} parameters, grid ${f.grid.axes.map((a) => a.length).join(' × ')} (${f.grid.size} members), ${f.members.length} evaluated; ${f.provenance?.engine ?? '?'} on ${f.provenance?.adapter ?? '?'}`;
  }
  if (page.loaded.kind === 'ensemble') {
    const e = page.loaded.ens;
    return `${page.loaded.name}: cait-ensemble/1, ${e.counts?.members ?? e.members.length} members (${e.counts?.failed ?? 0} failed), profiles ${e.profiles}; ${e.engine} on ${e.adapter}`;
  }
  if (page.loaded.kind === 'gsa') {
    const g = page.loaded.gsa;
    return `${page.loaded.name}: cait-gsa/1, ${g.method === 'sobol' ? `Sobol' indices, N = ${g.N}` : `Morris screening, r = ${g.N}`}, ${g.parameters.length} parameters, ${Object.keys(g.outputs).length} outputs${g.depth ? ' and depth maps' : ''}; ${g.provenance.engine} on ${g.provenance.adapter}`;
  }
  const m = page.loaded.measured;
  return `${page.loaded.name}: ${m.format} SIMS profile, ${m.depth_nm.length} points, elements ${m.elements.join(', ')}${m.warnings.length ? `; ${m.warnings.length} warning(s): ${m.warnings.join('; ')}` : ''}`;
}

function axisIndices(fit: FitFile): { x: number; y: number } {
  return { x: fit.parameters.indexOf(page.state.x!), y: page.state.y ? fit.parameters.indexOf(page.state.y) : -1 };
}

async function renderFit(fit: FitFile): Promise<void> {
  const P = fit.parameters.length;
  const { x, y } = axisIndices(fit);
  const opts = fit.parameters.map((p) => ({ value: p, label: shortPath(p) }));
  fillSelect($('axis-x') as HTMLSelectElement, opts, page.state.x!);
  fillSelect($('axis-y') as HTMLSelectElement, P > 1 ? opts : [{ value: '', label: '(none)' }], page.state.y ?? '');
  ($('mode') as HTMLSelectElement).value = page.state.mode;
  ($('scale') as HTMLSelectElement).value = page.state.scale;
  // fixed values of the other parameters
  const fixedBox = $('fixed-controls');
  fixedBox.replaceChildren();
  fit.parameters.forEach((p, k) => {
    if (k === x || k === y) return;
    const label = document.createElement('label');
    label.textContent = `${shortPath(p)} `;
    const sel = document.createElement('select');
    sel.dataset.param = String(k);
    sel.disabled = page.state.mode !== 'fixed';
    fillSelect(
      sel,
      fit.grid.axes[k].map((v, n) => ({ value: String(n), label: fmtNum(v) })),
      String(page.state.fixed![k]),
    );
    label.append(sel);
    fixedBox.append(label);
  });
  renderBest(fit);
  // one view per task: the page stays responsive while a large file is drawn
  await timed('heatmap', () => renderHeatmap(fit));
  await nextTask();
  await timed('profiles', () => renderProfiles(fit));
  await nextTask();
  await timed('sensitivity', () => renderSensitivity(fit));
}

/** Milliseconds of the last draw of each view, wall time including the yields between chunks. */
async function timed(name: string, f: () => void | Promise<void>): Promise<void> {
  const t0 = performance.now();
  await f();
  page.timings[name] = performance.now() - t0;
}

function renderBest(fit: FitFile): void {
  const iv = (k: number, i?: ([number, number] | null)[]) => i?.[k] ?? null;
  const rows = fit.parameters.map((p, k) => {
    const main = fit.best.interval?.[k];
    // digits enough to resolve a tenth of the Δχ² = 1 interval (3 significant digits hid a narrow interval)
    const res = main ? Math.abs(main[1] - main[0]) / 10 || Math.abs(fit.best.values[k]) * 1e-4 : Math.abs(fit.best.values[k]) * 1e-4;
    const f = (v: number) => fmtResolved(v, res);
    const pair = (x: [number, number] | null) => (x ? `${f(x[0])} … ${f(x[1])}` : '–');
    const outside = fit.convergence && fit.convergence.best_inside_interval[k] === false;
    return (
      `<tr${outside ? ' class="failed" title="the best lies outside its own interval"' : ''}><td>${shortPath(p)}</td><td>${f(fit.best.values[k])}</td>` +
      `<td>${pair(main ?? null)}</td><td>${pair(iv(k, fit.best.interval_linearized))}</td><td>${pair(iv(k, fit.best.interval_robust))}</td></tr>`
    );
  });
  const c = fit.convergence;
  $('best-table').innerHTML =
    `<tr><th>parameter</th><th>best</th><th>Δχ² = 1 interval</th><th>linearised</th><th>robust</th></tr>${rows.join('')}` +
    `<tr><td>residual</td><td>${fmtNum(fit.best.residual)}</td><td colspan="3">s² = ${fmtNum(fit.noise.s2)} (${fit.noise.points} points, ${fit.noise.dof} dof)</td></tr>` +
    (c
      ? `<tr><td>convergence</td><td colspan="4">${c.converged ? 'yes' : '<b>NO</b>'} (${c.optimizer === 'none' ? 'no local optimiser' : `Levenberg–Marquardt, ${c.iterations} iteration${c.iterations === 1 ? '' : 's'}`})</td></tr>`
      : '');
  // the fit's warnings, loudly, above the map
  const box = $('fit-warnings');
  const warnings = fit.warnings ?? [];
  box.hidden = warnings.length === 0 && (!c || c.converged);
  box.replaceChildren();
  if (!box.hidden) {
    const h = document.createElement('b');
    h.textContent = c && !c.converged ? 'This fit did not converge or contradicts itself:' : `The fit warns (${warnings.length}):`;
    const ul = document.createElement('ul');
    for (const w of warnings) {
      const li = document.createElement('li');
      li.textContent = w;
      ul.append(li);
    }
    box.append(h, ul);
  }
}


async function renderHeatmap(fit: FitFile): Promise<void> {
  const { x, y } = axisIndices(fit);
  const map = pageMap(fit, { x, y, mode: page.state.mode, fixed: page.state.fixed! });
  page.currentMap = map;
  const host = $('heatmap-plot');
  const generation = ++page.generation.heatmap;
  const svg = await drawHeatmap(host, fit, map, {
    isCurrent: () => generation === page.generation.heatmap,
    x,
    y,
    scale: page.state.scale,
    selected: page.state.cell,
    onHover: (m, ev) => showTooltip(fit, m, ev),
    onSelect: (m) => {
      page.state.cell = m;
      writeUrl();
      renderHeatmapMarkOnly(fit);
      void renderProfiles(fit).then(() => {
        document.body.dataset.renders = String(Number(document.body.dataset.renders ?? 0) + 1);
      });
    },
  });
  if (generation !== page.generation.heatmap) return;
  const inRegion = svg.querySelectorAll('.cell[data-region="1"]').length;
  const hasBest = !!svg.querySelector('.best-marker');
  const refinedBest = !!svg.querySelector('.best-member-point');
  const offGrid = svg.querySelectorAll('.offgrid-member').length;
  const bestText = hasBest
    ? 'red outline: best member'
    : refinedBest
      ? 'red +: best member (found off the grid, between the cells)'
      : 'best member: not in this slice';
  $('heatmap-caption').textContent =
    `${map.nx} × ${map.ny} cells; ${page.state.mode === 'min' ? 'other parameters minimized over' : 'other parameters fixed'}; ` +
    `${bestText}; dashed white: Δχ² ≤ 1 (residual ≤ ${fmtNum(regionThreshold(fit))}, ${inRegion} cell${inRegion === 1 ? '' : 's'}); orange: selected` +
    (offGrid ? `; dots: ${offGrid} member${offGrid === 1 ? '' : 's'} off the grid (refinement, optimiser, interval members) at their values` : '');
  views.set('heatmap', { svg: () => host.querySelector('svg'), csv: () => heatmapCsv(fit, map, x, y, page.state.mode) });
}

/** Move the selected-cell outline without redrawing 10 000 cells. */
function renderHeatmapMarkOnly(fit: FitFile): void {
  const svg = $('heatmap-plot').querySelector('svg');
  if (!svg || !page.currentMap) return void renderHeatmap(fit);
  svg.querySelector('.selected-marker')?.remove();
  const cell = page.state.cell === null ? null : svg.querySelector<SVGRectElement>(`.cell[data-member="${page.state.cell}"]`);
  if (!cell) return;
  const r = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
  const w = Number(cell.getAttribute('width'));
  const h = Number(cell.getAttribute('height'));
  r.setAttribute('class', 'selected-marker');
  r.setAttribute('data-i', cell.getAttribute('data-i')!);
  r.setAttribute('data-j', cell.getAttribute('data-j')!);
  r.setAttribute('x', String(Number(cell.getAttribute('x')) - 1));
  r.setAttribute('y', String(Number(cell.getAttribute('y')) - 1));
  r.setAttribute('width', String(w + 2));
  r.setAttribute('height', String(h + 2));
  r.setAttribute('stroke', '#ff7f00');
  r.setAttribute('stroke-width', '2');
  // under the best member's outline, so a selected best cell still shows red
  svg.querySelector('.marks')?.insertBefore(r, svg.querySelector('.best-marker'));
}

function showTooltip(fit: FitFile, member: number | null, ev: MouseEvent): void {
  const tip = $('tooltip');
  if (member === null) {
    tip.hidden = true;
    return;
  }
  const m = fit.members[member];
  const r = fit.residual[member];
  const chi = r === null ? null : r / fit.noise.s2;
  const chiMin = (regionThreshold(fit) - fit.noise.s2) / fit.noise.s2;
  tip.dataset.member = String(member);
  tip.innerHTML =
    `<b>member ${member}</b><br>` +
    fit.parameters.map((p, k) => `${shortPath(p)} = <span data-param="${k}">${fmtNum(m.values[k])}</span>`).join('<br>') +
    `<br>residual = <span data-field="residual">${r === null ? 'failed' : fmtNum(r)}</span>` +
    (chi === null ? `<br>${m.reason ?? ''}` : `<br>χ² = ${fmtNum(chi)} (Δχ² = ${fmtNum(chi - chiMin)})`);
  tip.hidden = false;
  tip.style.left = `${ev.clientX + 14}px`;
  tip.style.top = `${ev.clientY + 14}px`;
}


async function renderProfiles(fit: FitFile): Promise<void> {
  const generation = ++page.generation.profiles;
  await parser.ensureFitModel(fit, page.state.cell);
  if (generation !== page.generation.profiles) return; // a newer selection is being drawn
  const panels = memberPanels(fit, page.state.cell);
  const m = page.state.cell !== null ? fit.members[page.state.cell] : null;
  const title =
    m && page.state.cell !== null
      ? `member ${page.state.cell} (${fit.parameters.map((p, k) => `${shortPath(p)} = ${fmtNum(m.values[k])}`).join(', ')}; residual ${m.residual === null ? 'failed' : fmtNum(m.residual)})${m.model ? '' : ' — no model profiles stored for this member'}`
      : 'best fit';
  drawPanels($('profiles-plot'), panels, {
    view: 'profiles',
    title,
    cols: Math.min(panels.length, 2),
    legend: [
      { label: 'measured', kind: 'points' },
      { label: 'best fit', kind: 'line', dash: '5 3' },
      { label: `member ${page.state.cell ?? ''}`, kind: 'line', width: 2 },
    ],
  });
  views.set('profiles', { svg: () => $('profiles-plot').querySelector('svg'), csv: () => panelsCsv(panels, 'depth_nm', 'n_over_n0') });
}

function renderSensitivity(fit: FitFile): void {
  const has = !!fit.sensitivity?.length;
  show('sensitivity-views', has);
  if (!has) return;
  drawSensitivityBars($('sensitivity-plot'), fit);
  views.set('sensitivity', { svg: () => $('sensitivity-plot').querySelector('svg'), csv: () => sensitivityCsv(fit) });
  const pm = plusMinusPanels(fit);
  const nObs = fit.measured.observations.length;
  drawPanels($('pm20-plot'), pm, {
    view: 'pm20',
    title: 'each parameter at best × 0.8 and × 1.2 (others at best)',
    cols: Math.max(1, nObs),
    legend: [
      { label: 'measured', kind: 'points' },
      { label: 'best', kind: 'line' },
      { label: '× 0.8', kind: 'line', dash: '2 2', width: 1 },
      { label: '× 1.2', kind: 'line', dash: '6 3', width: 1 },
    ],
  });
  views.set('pm20', { svg: () => $('pm20-plot').querySelector('svg'), csv: () => panelsCsv(pm, 'depth_nm', 'n_over_n0') });
  const dp = derivativePanels(fit);
  drawPanels($('derivative-plot'), dp, { view: 'derivative', title: 'd model / d ln p at the best member', cols: Math.max(1, nObs), panelH: 200 });
  views.set('derivative', { svg: () => $('derivative-plot').querySelector('svg'), csv: () => panelsCsv(dp, 'depth_nm', 'dmodel_dlnp') });
}

/** The sensitivity-study views (src/web/gsa.ts, loaded when first needed); a change of output or index redraws them. */
async function renderGsaViews(): Promise<void> {
  if (page.loaded?.kind !== 'gsa') return;
  const { renderGsa } = await import('./gsa.js');
  if (page.loaded?.kind !== 'gsa') return;
  const v = renderGsa(
    page.loaded.gsa,
    {
      bars: $('gsa-indices-plot'),
      depth: $('gsa-depth-plot'),
      depthSection: $('gsa-depth-views'),
      output: $('gsa-output') as HTMLSelectElement,
      index: $('gsa-index') as HTMLSelectElement,
      tooltip: $('tooltip'),
      caption: $('gsa-caption'),
    },
    () =>
      void renderGsaViews().then(() => {
        document.body.dataset.renders = String(Number(document.body.dataset.renders ?? 0) + 1);
      }),
  );
  views.set('gsa-indices', v.indices);
  if (v.depth) views.set('gsa-depth', v.depth);
  else views.delete('gsa-depth');
}

async function renderEnsemble(ens: EnsembleFile): Promise<void> {
  const table = $('member-table') as HTMLTableElement;
  const pages = Math.max(1, Math.ceil(ens.members.length / PAGE_ROWS));
  page.ensemblePage = Math.min(page.ensemblePage, pages - 1);
  const from = page.ensemblePage * PAGE_ROWS;
  const to = Math.min(ens.members.length, from + PAGE_ROWS);
  const sel = new Set(page.state.members);
  const stages = ens.base?.stages?.length ?? 0;
  const head =
    '<tr><th></th><th>#</th>' +
    ens.parameters.map((p) => `<th title="${p}">${shortPath(p)}</th>`).join('') +
    '<th>status</th>' +
    Array.from({ length: stages }, (_, k) => `<th>stage ${k + 1}: duration (h)</th><th>stage ${k + 1}: fronts (nm)</th>`).join('') +
    '</tr>';
  const rows: string[] = [];
  for (let i = from; i < to; i++) {
    const m = ens.members[i];
    const cells = Array.from({ length: stages }, (_, k) => {
      const s = m.stages[k];
      if (!s) return '<td></td><td></td>';
      const fronts = Object.entries(s.front_nm ?? {})
        .filter(([, v]) => v !== null)
        .map(([sp, v]) => `${sp} ${fmtNum(v as number)}`)
        .join(', ');
      return `<td>${fmtNum(s.duration_s / 3600)}</td><td>${fronts}</td>`;
    }).join('');
    rows.push(
      `<tr data-member="${i}" class="${m.status}"><td><input type="checkbox" data-member="${i}"${sel.has(i) ? ' checked' : ''}${m.status === 'ok' ? '' : ' disabled'}></td><td>${i}</td>` +
        m.values.map((v) => `<td>${fmtNum(v)}</td>`).join('') +
        `<td title="${(m.reason ?? '').replace(/"/g, '&quot;')}">${m.status}</td>${cells}</tr>`,
    );
  }
  table.innerHTML = head + rows.join('');
  $('member-page').textContent = `members ${from}–${to - 1} of ${ens.members.length} (page ${page.ensemblePage + 1}/${pages})`;
  await renderEnsembleProfiles(ens);
  views.set('members', { svg: () => null, csv: () => ensembleMembersCsv(ens) });
}

function ensembleMembersCsv(ens: EnsembleFile): string {
  const out = [['member', ...ens.parameters.map(csvCell), 'status', 'reason'].join(',')];
  ens.members.forEach((m, i) => out.push([i, ...m.values, m.status, csvCell(m.reason ?? '')].join(',')));
  return out.join('\n') + '\n';
}


async function renderEnsembleProfiles(ens: EnsembleFile): Promise<void> {
  const generation = ++page.generation.ensemble;
  const host = $('ensemble-profiles-plot');
  if (ens.profiles === 'none') {
    host.textContent = 'This ensemble has no profiles (run cait ensemble with --profiles final to see them here).';
    views.delete('ensemble-profiles');
    return;
  }
  await parser.ensureEnsembleProfiles(ens, page.state.members);
  if (generation !== page.generation.ensemble) return;
  const maxDepth = Number(($('ensemble-depth') as HTMLInputElement).value) || 150;
  const panels: Panel[] = ensemblePanels(ens, page.state.members, maxDepth);
  drawPanels(host, panels, { view: 'ensemble-profiles', title: `members ${page.state.members.join(', ') || '(none selected)'}`, cols: Math.min(2, panels.length) });
  views.set('ensemble-profiles', { svg: () => host.querySelector('svg'), csv: () => panelsCsv(panels, 'depth_nm', 'n_over_n0') });
}

function renderSims(): void {
  if (page.loaded?.kind !== 'sims') return;
  const panels = simsPanels(page.loaded.measured, page.loaded.name);
  drawPanels($('sims-plot'), panels, { view: 'sims', cols: 1, panelW: 640, panelH: 320 });
  views.set('sims', { svg: () => $('sims-plot').querySelector('svg'), csv: () => panelsCsv(panels, 'depth_nm', 'c') });
}

// ---- export ----------------------------------------------------------------------------------------

function viewEntry(name: string): ViewEntry {
  const v = views.get(name);
  if (!v) throw new Error(`no view "${name}" (views: ${[...views.keys()].join(', ') || 'none'})`);
  return v;
}

function exportSvg(name: string): string {
  const svg = viewEntry(name).svg();
  if (!svg) throw new Error(`view "${name}" has no figure`);
  return svgText(svg);
}

async function exportPngBlob(name: string): Promise<Blob> {
  const svg = viewEntry(name).svg();
  if (!svg) throw new Error(`view "${name}" has no figure`);
  return svgToPng(svg);
}

function baseName(): string {
  return (page.loaded?.name ?? 'cait').replace(/\.[^.]+$/, '');
}

async function onExportClick(ev: Event): Promise<void> {
  const b = (ev.target as HTMLElement).closest<HTMLButtonElement>('button[data-export]');
  if (!b) return;
  const view = b.dataset.view!;
  const kind = b.dataset.export!;
  try {
    const stem = `${baseName()}-${view}`;
    if (kind === 'svg') download(new Blob([exportSvg(view)], { type: 'image/svg+xml' }), `${stem}.svg`);
    else if (kind === 'png') download(await exportPngBlob(view), `${stem}.png`);
    else download(new Blob([viewEntry(view).csv()], { type: 'text/csv' }), `${stem}.csv`);
  } catch (e) {
    setStatus(`export: ${(e as Error).message}`, true);
  }
}

// ---- wiring ----------------------------------------------------------------------------------------

async function onControlsChange(): Promise<void> {
  if (page.loaded?.kind !== 'fit') return;
  const fit = page.loaded.fit;
  const nx = ($('axis-x') as HTMLSelectElement).value;
  let ny: string | null = ($('axis-y') as HTMLSelectElement).value || null;
  if (ny === nx) ny = fit.parameters.find((p) => p !== nx) ?? null; // two different axes
  page.state.x = nx;
  page.state.y = ny;
  page.state.mode = ($('mode') as HTMLSelectElement).value === 'fixed' ? 'fixed' : 'min';
  page.state.scale = ($('scale') as HTMLSelectElement).value === 'linear' ? 'linear' : 'log';
  for (const sel of $('fixed-controls').querySelectorAll<HTMLSelectElement>('select[data-param]')) page.state.fixed![Number(sel.dataset.param)] = Number(sel.value);
  writeUrl();
  await renderFit(fit);
  document.body.dataset.renders = String(Number(document.body.dataset.renders ?? 0) + 1);
}

async function readFile(file: File): Promise<void> {
  await loadSource({ blob: file }, file.name);
}

function wire(): void {
  $('file-input').addEventListener('change', (ev) => {
    const f = (ev.target as HTMLInputElement).files?.[0];
    if (f) void readFile(f);
  });
  const drop = document.body;
  drop.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    document.body.classList.add('dragging');
  });
  drop.addEventListener('dragleave', () => document.body.classList.remove('dragging'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    document.body.classList.remove('dragging');
    const f = ev.dataTransfer?.files?.[0];
    if (f) void readFile(f);
  });
  for (const id of ['axis-x', 'axis-y', 'mode', 'scale']) $(id).addEventListener('change', () => void onControlsChange());
  $('fixed-controls').addEventListener('change', () => void onControlsChange());
  for (const id of ['sims-shots', 'sims-crater', 'sims-rate', 'sims-sens'])
    $(id).addEventListener('change', () => {
      if (page.loaded?.kind === 'sims') void loadText(page.loaded.text, page.loaded.name, page.state.file);
    });
  document.addEventListener('click', (ev) => void onExportClick(ev));
  $('member-table').addEventListener('change', (ev) => {
    const t = ev.target as HTMLInputElement;
    if (page.loaded?.kind !== 'ensemble' || t.type !== 'checkbox') return;
    const i = Number(t.dataset.member);
    const set = new Set(page.state.members);
    if (t.checked) set.add(i);
    else set.delete(i);
    page.state.members = [...set].sort((a, b) => a - b);
    writeUrl();
    void renderEnsembleProfiles(page.loaded.ens).then(() => {
      document.body.dataset.renders = String(Number(document.body.dataset.renders ?? 0) + 1);
    });
  });
  $('ensemble-depth').addEventListener('change', () => void (page.loaded?.kind === 'ensemble' && renderEnsembleProfiles(page.loaded.ens)));
  $('member-prev').addEventListener('click', () => {
    if (page.loaded?.kind !== 'ensemble') return;
    page.ensemblePage = Math.max(0, page.ensemblePage - 1);
    void renderEnsemble(page.loaded.ens);
  });
  $('member-next').addEventListener('click', () => {
    if (page.loaded?.kind !== 'ensemble') return;
    page.ensemblePage++;
    void renderEnsemble(page.loaded.ens);
  });
}

/** The live-sweep panel of src/web/run/panel.ts, if it is part of this build. */
async function mountLive(): Promise<void> {
  const host = $('live-sweep');
  const mods = import.meta.glob('./run/panel.ts');
  const load = mods['./run/panel.ts'];
  if (!load) {
    host.dataset.state = 'absent';
    host.textContent = 'The live sweep is not part of this build.';
    return;
  }
  try {
    const mod = (await load()) as { mountLiveSweep(el: HTMLElement, onResult: (file: FitFile | EnsembleFile) => void): void };
    host.replaceChildren();
    mod.mountLiveSweep(host, (file) => {
      const name = `live sweep (${file.schema})`;
      try {
        void showLoaded(loadedFromObject(file, name), null, false);
      } catch (e) {
        setStatus((e as Error).message, true);
      }
    });
    host.dataset.state = 'mounted';
  } catch (e) {
    host.dataset.state = 'failed';
    host.textContent = `The live sweep could not start: ${(e as Error).message}`;
  }
}

async function start(): Promise<void> {
  wire();
  const api: ExplorerApi = {
    loadText: (text, name) => loadText(text, name),
    state: () => structuredClone(page.state),
    views: () => [...views.keys()],
    exportSvg,
    exportCsv: (v) => viewEntry(v).csv(),
    exportPng: async (v) => {
      const blob = await exportPngBlob(v);
      return await new Promise<string>((ok, fail) => {
        const r = new FileReader();
        r.onload = () => ok(r.result as string);
        r.onerror = () => fail(r.error);
        r.readAsDataURL(blob);
      });
    },
    lastRenderMs: () => page.lastRender,
    timings: () => ({ ...page.timings }),
  };
  (window as unknown as { caitExplorer: ExplorerApi }).caitExplorer = api;
  const live = mountLive();
  const initial = readState(location.search);
  page.state = initial;
  if (initial.file) await loadFromUrl(initial.file);
  else setStatus('Open a cait-fit/1, cait-ensemble/1 or cait-gsa/1 JSON file, or a SIMS depth profile (or drop it on the page).');
  await live;
  document.body.dataset.ready = '1';
}

void start();
