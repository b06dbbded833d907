/**
 * The explorer page's context (docs/architecture.md): one {@link Explorer}
 * made by main.ts holds what the page shows, its views and its parser worker;
 * every part of the page (load.ts, render.ts, fit-view.ts, ensemble-view.ts,
 * views-export.ts) takes it as its first argument, so no module keeps
 * mutable state of its own. Also the page's small DOM helpers.
 */
import type { Loaded } from './data.js';
import type { PageMap } from './map.js';
import { DEFAULT_STATE, stateSearch, type PageState } from './state.js';
import { ParseClient } from './worker-client.js';

/** A drawn view: its figure (if it has one) and the data behind it as CSV. */
export interface ViewEntry {
  svg: () => SVGSVGElement | null;
  csv: () => string;
}

/** What the page shows and how. */
export interface PageContext {
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

/** The page: its state, the views drawn for the file shown (by name, for export), the parser worker's client. */
export interface Explorer {
  page: PageContext;
  views: Map<string, ViewEntry>;
  parser: ParseClient;
}

/** A fresh explorer: nothing loaded, the default state. */
export function newExplorer(): Explorer {
  return {
    page: {
      loaded: null,
      state: { ...DEFAULT_STATE },
      currentMap: null,
      lastRender: 0,
      ensemblePage: 0,
      generation: { heatmap: 0, profiles: 0, ensemble: 0 },
      timings: {},
    },
    views: new Map(),
    parser: new ParseClient(),
  };
}

/** The page element #id (an error names a missing one). */
export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`page element #${id} is missing`);
  return e as T;
};

/** The status line; an error is announced (role="alert"). */
export function setStatus(text: string, error = false): void {
  const s = $('status');
  s.textContent = text;
  s.classList.toggle('error', error);
  if (error) s.setAttribute('role', 'alert');
  else s.removeAttribute('role');
}

export function show(id: string, on: boolean): void {
  $(id).hidden = !on;
}

/** Count a finished redraw in body[data-renders] (what scripts and tests wait on). */
export function countRender(): void {
  document.body.dataset.renders = String(Number(document.body.dataset.renders ?? 0) + 1);
}

/** The page state into the URL (replaced, not pushed). */
export function writeUrl(ex: Explorer): void {
  const search = stateSearch(ex.page.state);
  if (search !== location.search) history.replaceState(null, '', location.pathname + search + location.hash);
}
