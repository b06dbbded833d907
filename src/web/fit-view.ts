/**
 * The fit views of the explorer (a cait-fit/1 file): the controls (axes,
 * fixed values, mode, scale), the best-fit table with its intervals and
 * warnings, the residual heatmap with hover and click, the selected member's
 * profiles beside the best fit, and the sensitivity figures.
 */
import type { FitFile } from '../fit/schema.js';
import { fmtResolved } from '../core/format.js';
import { $, countRender, show, writeUrl, type Explorer } from './app.js';
import { drawHeatmap, heatmapCsv, nextTask, regionThreshold } from './heatmap.js';
import { pageMap } from './map.js';
import { drawPanels, fillSelect, fmtNum, panelsCsv, shortPath } from './plots.js';
import { derivativePanels, drawSensitivityBars, memberPanels, plusMinusPanels, sensitivityCsv } from './views.js';

function axisIndices(ex: Explorer, fit: FitFile): { x: number; y: number } {
  return { x: fit.parameters.indexOf(ex.page.state.x!), y: ex.page.state.y ? fit.parameters.indexOf(ex.page.state.y) : -1 };
}

export async function renderFit(ex: Explorer, fit: FitFile): Promise<void> {
  const P = fit.parameters.length;
  const { x, y } = axisIndices(ex, fit);
  const opts = fit.parameters.map((p) => ({ value: p, label: shortPath(p) }));
  fillSelect($('axis-x') as HTMLSelectElement, opts, ex.page.state.x!);
  fillSelect($('axis-y') as HTMLSelectElement, P > 1 ? opts : [{ value: '', label: '(none)' }], ex.page.state.y ?? '');
  ($('mode') as HTMLSelectElement).value = ex.page.state.mode;
  ($('scale') as HTMLSelectElement).value = ex.page.state.scale;
  // fixed values of the other parameters
  const fixedBox = $('fixed-controls');
  fixedBox.replaceChildren();
  fit.parameters.forEach((p, k) => {
    if (k === x || k === y) return;
    const label = document.createElement('label');
    label.textContent = `${shortPath(p)} `;
    const sel = document.createElement('select');
    sel.dataset.param = String(k);
    sel.disabled = ex.page.state.mode !== 'fixed';
    fillSelect(
      sel,
      fit.grid.axes[k].map((v, n) => ({ value: String(n), label: fmtNum(v) })),
      String(ex.page.state.fixed![k]),
    );
    label.append(sel);
    fixedBox.append(label);
  });
  renderBest(fit);
  // one view per task: the page stays responsive while a large file is drawn
  await timed(ex, 'heatmap', () => renderHeatmap(ex, fit));
  await nextTask();
  await timed(ex, 'profiles', () => renderProfiles(ex, fit));
  await nextTask();
  await timed(ex, 'sensitivity', () => renderSensitivity(ex, fit));
}

/** Milliseconds of the last draw of each view, wall time including the yields between chunks. */
async function timed(ex: Explorer, name: string, f: () => void | Promise<void>): Promise<void> {
  const t0 = performance.now();
  await f();
  ex.page.timings[name] = performance.now() - t0;
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

export async function renderHeatmap(ex: Explorer, fit: FitFile): Promise<void> {
  const { x, y } = axisIndices(ex, fit);
  const map = pageMap(fit, { x, y, mode: ex.page.state.mode, fixed: ex.page.state.fixed! });
  ex.page.currentMap = map;
  const host = $('heatmap-plot');
  const generation = ++ex.page.generation.heatmap;
  const svg = await drawHeatmap(host, fit, map, {
    isCurrent: () => generation === ex.page.generation.heatmap,
    x,
    y,
    scale: ex.page.state.scale,
    selected: ex.page.state.cell,
    onHover: (m, ev) => showTooltip(fit, m, ev),
    onSelect: (m) => {
      ex.page.state.cell = m;
      writeUrl(ex);
      renderHeatmapMarkOnly(ex, fit);
      void renderProfiles(ex, fit).then(countRender);
    },
  });
  if (generation !== ex.page.generation.heatmap) return;
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
    `${map.nx} × ${map.ny} cells; ${ex.page.state.mode === 'min' ? 'other parameters minimized over' : 'other parameters fixed'}; ` +
    `${bestText}; dashed white: Δχ² ≤ 1 (residual ≤ ${fmtNum(regionThreshold(fit))}, ${inRegion} cell${inRegion === 1 ? '' : 's'}); orange: selected` +
    (offGrid ? `; dots: ${offGrid} member${offGrid === 1 ? '' : 's'} off the grid (refinement, optimiser, interval members) at their values` : '');
  ex.views.set('heatmap', { svg: () => host.querySelector('svg'), csv: () => heatmapCsv(fit, map, x, y, ex.page.state.mode) });
}

/** Move the selected-cell outline without redrawing 10 000 cells. */
function renderHeatmapMarkOnly(ex: Explorer, fit: FitFile): void {
  const svg = $('heatmap-plot').querySelector('svg');
  if (!svg || !ex.page.currentMap) return void renderHeatmap(ex, fit);
  svg.querySelector('.selected-marker')?.remove();
  const cell = ex.page.state.cell === null ? null : svg.querySelector<SVGRectElement>(`.cell[data-member="${ex.page.state.cell}"]`);
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

export async function renderProfiles(ex: Explorer, fit: FitFile): Promise<void> {
  const generation = ++ex.page.generation.profiles;
  await ex.parser.ensureFitModel(fit, ex.page.state.cell);
  if (generation !== ex.page.generation.profiles) return; // a newer selection is being drawn
  const panels = memberPanels(fit, ex.page.state.cell);
  const m = ex.page.state.cell !== null ? fit.members[ex.page.state.cell] : null;
  const title =
    m && ex.page.state.cell !== null
      ? `member ${ex.page.state.cell} (${fit.parameters.map((p, k) => `${shortPath(p)} = ${fmtNum(m.values[k])}`).join(', ')}; residual ${m.residual === null ? 'failed' : fmtNum(m.residual)})${m.model ? '' : ' — no model profiles stored for this member'}`
      : 'best fit';
  drawPanels($('profiles-plot'), panels, {
    view: 'profiles',
    title,
    cols: Math.min(panels.length, 2),
    legend: [
      { label: 'measured', kind: 'points' },
      { label: 'best fit', kind: 'line', dash: '5 3' },
      { label: `member ${ex.page.state.cell ?? ''}`, kind: 'line', width: 2 },
    ],
  });
  ex.views.set('profiles', { svg: () => $('profiles-plot').querySelector('svg'), csv: () => panelsCsv(panels, 'depth_nm', 'n_over_n0') });
}

export function renderSensitivity(ex: Explorer, fit: FitFile): void {
  const has = !!fit.sensitivity?.length;
  show('sensitivity-views', has);
  if (!has) return;
  drawSensitivityBars($('sensitivity-plot'), fit);
  ex.views.set('sensitivity', { svg: () => $('sensitivity-plot').querySelector('svg'), csv: () => sensitivityCsv(fit) });
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
  ex.views.set('pm20', { svg: () => $('pm20-plot').querySelector('svg'), csv: () => panelsCsv(pm, 'depth_nm', 'n_over_n0') });
  const dp = derivativePanels(fit);
  drawPanels($('derivative-plot'), dp, { view: 'derivative', title: 'd model / d ln p at the best member', cols: Math.max(1, nObs), panelH: 200 });
  ex.views.set('derivative', { svg: () => $('derivative-plot').querySelector('svg'), csv: () => panelsCsv(dp, 'depth_nm', 'dmodel_dlnp') });
}
