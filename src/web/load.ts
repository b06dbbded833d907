/**
 * Loading a file into the explorer: from a text, a picked or dropped File, or
 * a same-origin URL (?file=); parsed in the worker (src/web/parse.worker.ts)
 * when there is one, here otherwise, with the SIMS import options of the
 * page's form; then the page state is set for it and every view drawn.
 */
import { $, setStatus, writeUrl, type Explorer } from './app.js';
import { parseLoaded, type Loaded, type SimsInputs } from './data.js';
import { indexOfValues } from './map.js';
import type { ParseSource } from './parse.worker.js';
import { renderAll } from './render.js';
import { DEFAULT_STATE } from './state.js';

/** The SIMS import options of the page's form (shots, crater depth, sputter rate, sensitivity factors); a bad entry throws naming it. */
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

export async function loadText(ex: Explorer, text: string, name: string, fromUrl: string | null = null, keepState = false): Promise<void> {
  await loadSource(ex, { text }, name, fromUrl, keepState);
}

/**
 * Parse a file and show it. With a worker (always, in a browser) the text,
 * File or URL goes to it: parsing and the per-member profiles stay off the
 * main thread. Without one, the text is parsed here.
 */
export async function loadSource(ex: Explorer, src: ParseSource, name: string, fromUrl: string | null = null, keepState = false): Promise<void> {
  setStatus(`reading ${name} …`);
  // let the status paint first
  await new Promise((r) => setTimeout(r, 0));
  let l: Loaded;
  let viaWorker = false;
  try {
    const sims = simsInputs();
    if (ex.parser.available()) {
      const r = await ex.parser.parse(src, name, sims);
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
  await showLoaded(ex, l, fromUrl, keepState, viaWorker);
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

/** Show a ex.page.loaded file: fresh ex.page.state (or the URL's, when it named this file), URL updated, every view drawn. */
export async function showLoaded(ex: Explorer, l: Loaded, fromUrl: string | null, keepState: boolean, viaWorker = false): Promise<void> {
  ex.page.loaded = l;
  ex.parser.loaded(viaWorker);
  const prev = ex.page.state;
  ex.page.state = keepState ? { ...prev, file: fromUrl } : { ...DEFAULT_STATE, file: fromUrl };
  ex.page.ensemblePage = 0;
  initState(ex);
  writeUrl(ex);
  await renderAll(ex);
}

function initState(ex: Explorer): void {
  if (!ex.page.loaded) return;
  if (ex.page.loaded.kind === 'fit') {
    const fit = ex.page.loaded.fit;
    const P = fit.parameters.length;
    const xi = ex.page.state.x ? fit.parameters.indexOf(ex.page.state.x) : -1;
    let yi = ex.page.state.y ? fit.parameters.indexOf(ex.page.state.y) : -1;
    const x = Math.max(xi, 0);
    if (yi < 0 || yi === x) yi = P > 1 ? (x === 0 ? 1 : 0) : -1;
    ex.page.state.x = fit.parameters[x];
    ex.page.state.y = yi >= 0 ? fit.parameters[yi] : null;
    const bestIdx = indexOfValues(fit.grid.axes, fit.best.values);
    if (!ex.page.state.fixed || ex.page.state.fixed.length !== P || ex.page.state.fixed.some((v, k) => v >= fit.grid.axes[k].length))
      ex.page.state.fixed = bestIdx;
    if (ex.page.state.cell === null || ex.page.state.cell >= fit.members.length) ex.page.state.cell = fit.best.member;
  } else if (ex.page.loaded.kind === 'ensemble') {
    const ens = ex.page.loaded.ens;
    ex.page.state.members = ex.page.state.members.filter((i) => i < ens.members.length);
    if (!ex.page.state.members.length) {
      const first = ens.members.findIndex((m) => m.status === 'ok');
      if (first >= 0) ex.page.state.members = [first];
    }
  }
}

export async function loadFromUrl(ex: Explorer, file: string): Promise<void> {
  let url: URL;
  try {
    url = new URL(file, location.href);
  } catch {
    return setStatus(`file: "${file}" is not a URL`, true);
  }
  if (url.origin !== location.origin) return setStatus(`file: ${file} is not on this server (${location.origin}); the page loads only local files`, true);
  await loadSource(ex, { url: url.href }, url.pathname.split('/').pop() || file, file, true);
}
