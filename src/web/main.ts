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
import { $, countRender, newExplorer, setStatus, writeUrl, type Explorer } from './app.js';
import { loadedFromObject } from './data.js';
import { renderEnsemble, renderEnsembleProfiles } from './ensemble-view.js';
import { renderFit } from './fit-view.js';
import { loadFromUrl, loadSource, loadText, showLoaded } from './load.js';
import type { PageState } from './state.js';
import { readState } from './state.js';
import { exportPngBlob, exportSvg, onExportClick, viewEntry } from './views-export.js';

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

async function onControlsChange(ex: Explorer): Promise<void> {
  if (ex.page.loaded?.kind !== 'fit') return;
  const fit = ex.page.loaded.fit;
  const nx = ($('axis-x') as HTMLSelectElement).value;
  let ny: string | null = ($('axis-y') as HTMLSelectElement).value || null;
  if (ny === nx) ny = fit.parameters.find((p) => p !== nx) ?? null; // two different axes
  ex.page.state.x = nx;
  ex.page.state.y = ny;
  ex.page.state.mode = ($('mode') as HTMLSelectElement).value === 'fixed' ? 'fixed' : 'min';
  ex.page.state.scale = ($('scale') as HTMLSelectElement).value === 'linear' ? 'linear' : 'log';
  for (const sel of $('fixed-controls').querySelectorAll<HTMLSelectElement>('select[data-param]'))
    ex.page.state.fixed![Number(sel.dataset.param)] = Number(sel.value);
  writeUrl(ex);
  await renderFit(ex, fit);
  countRender();
}

async function readFile(ex: Explorer, file: File): Promise<void> {
  await loadSource(ex, { blob: file }, file.name);
}

function wire(ex: Explorer): void {
  $('file-input').addEventListener('change', (ev) => {
    const f = (ev.target as HTMLInputElement).files?.[0];
    if (f) void readFile(ex, f);
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
    if (f) void readFile(ex, f);
  });
  for (const id of ['axis-x', 'axis-y', 'mode', 'scale']) $(id).addEventListener('change', () => void onControlsChange(ex));
  $('fixed-controls').addEventListener('change', () => void onControlsChange(ex));
  for (const id of ['sims-shots', 'sims-crater', 'sims-rate', 'sims-sens'])
    $(id).addEventListener('change', () => {
      if (ex.page.loaded?.kind === 'sims') void loadText(ex, ex.page.loaded.text, ex.page.loaded.name, ex.page.state.file);
    });
  document.addEventListener('click', (ev) => void onExportClick(ex, ev));
  $('member-table').addEventListener('change', (ev) => {
    const t = ev.target as HTMLInputElement;
    if (ex.page.loaded?.kind !== 'ensemble' || t.type !== 'checkbox') return;
    const i = Number(t.dataset.member);
    const set = new Set(ex.page.state.members);
    if (t.checked) set.add(i);
    else set.delete(i);
    ex.page.state.members = [...set].sort((a, b) => a - b);
    writeUrl(ex);
    void renderEnsembleProfiles(ex, ex.page.loaded.ens).then(countRender);
  });
  $('ensemble-depth').addEventListener('change', () => void (ex.page.loaded?.kind === 'ensemble' && renderEnsembleProfiles(ex, ex.page.loaded.ens)));
  $('member-prev').addEventListener('click', () => {
    if (ex.page.loaded?.kind !== 'ensemble') return;
    ex.page.ensemblePage = Math.max(0, ex.page.ensemblePage - 1);
    void renderEnsemble(ex, ex.page.loaded.ens);
  });
  $('member-next').addEventListener('click', () => {
    if (ex.page.loaded?.kind !== 'ensemble') return;
    ex.page.ensemblePage++;
    void renderEnsemble(ex, ex.page.loaded.ens);
  });
}

/** The live-sweep panel of src/web/run/panel.ts, if it is part of this build. */
async function mountLive(ex: Explorer): Promise<void> {
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
        void showLoaded(ex, loadedFromObject(file, name), null, false);
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
  const ex = newExplorer();
  wire(ex);
  const api: ExplorerApi = {
    loadText: (text, name) => loadText(ex, text, name),
    state: () => structuredClone(ex.page.state),
    views: () => [...ex.views.keys()],
    exportSvg: (v) => exportSvg(ex, v),
    exportCsv: (v) => viewEntry(ex, v).csv(),
    exportPng: async (v) => {
      const blob = await exportPngBlob(ex, v);
      return await new Promise<string>((ok, fail) => {
        const r = new FileReader();
        r.onload = () => ok(r.result as string);
        r.onerror = () => fail(r.error);
        r.readAsDataURL(blob);
      });
    },
    lastRenderMs: () => ex.page.lastRender,
    timings: () => ({ ...ex.page.timings }),
  };
  (window as unknown as { caitExplorer: ExplorerApi }).caitExplorer = api;
  const live = mountLive(ex);
  const initial = readState(location.search);
  ex.page.state = initial;
  if (initial.file) await loadFromUrl(ex, initial.file);
  else setStatus('Open a cait-fit/1, cait-ensemble/1 or cait-gsa/1 JSON file, or a SIMS depth profile (or drop it on the page).');
  await live;
  document.body.dataset.ready = '1';
}

void start();
