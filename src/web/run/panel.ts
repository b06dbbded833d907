/**
 * The live-sweep panel of the page: pick a preset, give what varies (one
 * `--vary` style box per parameter: PATH=a,b,c | lo:hi:N | lo:hi:N:log),
 * the profiles level and the engine, Run. The sweep runs on the page's
 * engine (runner.ts: WebGPU, else gpu.js) with a progress bar (members
 * done / total, members/s) and Cancel; the cait-ensemble/1 file is built in
 * the page (buildEnsembleFile, provenance naming the browser and its
 * adapter), handed to `onResult` and offered as a JSON download.
 *
 * Elements carry data-cait="…" names for scripts and tests: preset, vary
 * (each box), add-vary, profiles, engine, run, cancel, progress,
 * progress-text, status, download.
 *
 * @example
 * mountLiveSweep(document.querySelector('#live-sweep')!, (file) => showEnsemble(file));
 */
import { presetNames, getPreset } from '../../config/presets.js';
import { isRunAborted } from '../../core/errors.js';
import { buildGrid, parseVary } from '../../sweep/index.js';
import { PROFILES_LEVELS, requestFromGrid, type EnsembleProgress, type ProfilesLevel } from '../../ensemble/types.js';
import { buildEnsembleFile, type EnsembleFile } from '../../ensemble/output.js';
import type { FitFile } from '../../fit/schema.js';
import { ensembleJsonBlob } from './download.js';
import { browserProvenance } from './provenance.js';
import { ENGINE_CHOICES, installRunner, runOnPage, type EngineChoice } from './runner.js';

/** Shown in the first box of a new panel: the D(Cs+) of stage 2 of the paper preset, m²/s. */
const EXAMPLE_VARY = 'stages.1.D.Cs.D_m2s=2.4e-23,3.1e-23,3.8e-23';

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

function select(name: string, options: readonly string[], value: string): HTMLSelectElement {
  const s = el('select', { 'data-cait': name, name });
  for (const o of options) s.append(el('option', { value: o }, o));
  s.value = value;
  return s;
}

function rateText(done: number, seconds: number): string {
  const r = seconds > 0 ? done / seconds : 0;
  return r >= 1 ? r.toFixed(1) : r.toPrecision(2);
}

/** Mount the panel in `el`; `onResult` gets the cait-ensemble/1 file of each finished run. */
export function mountLiveSweep(host: HTMLElement, onResult: (file: EnsembleFile | FitFile) => void): void {
  installRunner();
  const preset = select('preset', presetNames(), 'paper');
  const profiles = select('profiles', PROFILES_LEVELS, 'final');
  const engine = select('engine', ENGINE_CHOICES, 'auto');
  const varyList = el('div', { class: 'cait-vary-list' });
  const addVary = (text = '') => {
    const box = el('input', {
      type: 'text',
      'data-cait': 'vary',
      size: '48',
      style: 'width: min(100%, 44em); font-family: monospace',
      placeholder: 'PATH=a,b,c or lo:hi:N or lo:hi:N:log',
      spellcheck: 'false',
    });
    box.value = text;
    const remove = el('button', { type: 'button', title: 'remove this parameter' }, '×');
    const row = el('div', { class: 'cait-vary' }, box, remove);
    remove.addEventListener('click', () => row.remove());
    varyList.append(row);
    return box;
  };
  addVary(EXAMPLE_VARY);
  const addButton = el('button', { type: 'button', 'data-cait': 'add-vary' }, '+ parameter');
  addButton.addEventListener('click', () => addVary().focus());
  const run = el('button', { type: 'submit', 'data-cait': 'run' }, 'Run');
  const cancel = el('button', { type: 'button', 'data-cait': 'cancel', disabled: '' }, 'Cancel');
  const progress = el('progress', { 'data-cait': 'progress', max: '1', value: '0' });
  const progressText = el('span', { 'data-cait': 'progress-text' });
  const status = el('p', { 'data-cait': 'status', role: 'status' });
  const download = el('a', { 'data-cait': 'download', download: 'ensemble.json', hidden: '' }, 'download JSON');

  const form = el(
    'form',
    { class: 'cait-live-sweep' },
    el('h2', {}, 'Live sweep'),
    el('p', {}, 'Units as in the field names: _m2s = m²/s, _eV = eV, _K = K, _V = V, _C = C, _s = s, grid lengths _nm = nm; stages count from 0.'),
    el('label', {}, 'Preset ', preset),
    el('fieldset', {}, el('legend', {}, 'What varies (one parameter per box; several boxes: every combination)'), varyList, addButton),
    el('label', {}, 'Profiles ', profiles),
    el('label', {}, ' Engine ', engine),
    el('div', {}, run, ' ', cancel),
    el('div', {}, progress, ' ', progressText),
    status,
    download,
  );
  host.append(form);

  let controller: AbortController | undefined;
  let downloadUrl: string | undefined;
  const setStatus = (text: string, error = false) => {
    status.textContent = text;
    status.classList.toggle('error', error);
  };

  cancel.addEventListener('click', () => controller?.abort());
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (controller) return;
    void start();
  });

  async function start(): Promise<void> {
    let req: ReturnType<typeof requestFromGrid>;
    let grid: ReturnType<typeof buildGrid>;
    try {
      const base = getPreset(preset.value);
      const specs = [...varyList.querySelectorAll<HTMLInputElement>('input[data-cait="vary"]')]
        .map((b) => b.value.trim())
        .filter(Boolean)
        .map(parseVary);
      grid = buildGrid(base, specs);
      req = requestFromGrid(grid, base, profiles.value as ProfilesLevel);
    } catch (e) {
      setStatus(e instanceof Error ? e.message : String(e), true);
      return;
    }
    controller = new AbortController();
    run.disabled = true;
    cancel.disabled = false;
    download.hidden = true;
    progress.max = req.members.length;
    progress.value = 0;
    progressText.textContent = `0/${req.members.length} members`;
    setStatus(`running ${req.members.length} member${req.members.length === 1 ? '' : 's'}…`);
    form.dataset.state = 'running';
    const t0 = performance.now();
    const onProgress = (p: EnsembleProgress) => {
      progress.value = p.done;
      progressText.textContent = `${p.done}/${p.total} members, ${rateText(p.done, p.elapsed_s)} members/s${p.failed ? `, ${p.failed} failed` : ''}`;
    };
    try {
      const { result, engine: used } = await runOnPage(req, {
        engine: engine.value as EngineChoice,
        onProgress,
        signal: controller.signal,
      });
      const file = buildEnsembleFile(req, result, await browserProvenance(req.base), {
        design: grid.design,
        ...(grid.seed !== undefined ? { seed: grid.seed } : {}),
      });
      if (downloadUrl) URL.revokeObjectURL(downloadUrl);
      downloadUrl = URL.createObjectURL(await ensembleJsonBlob(file));
      download.href = downloadUrl;
      download.hidden = false;
      const wall = (performance.now() - t0) / 1000;
      setStatus(
        `${file.counts.members} members, ${file.counts.ok} ok, ${file.counts.failed} failed in ${wall.toFixed(1)} s ` +
          `(${rateText(file.counts.members, wall)} members/s) on ${file.engine}: ${file.adapter}` +
          (used.fallbackReason ? ` — WebGPU not used: ${used.fallbackReason}` : ''),
      );
      form.dataset.state = 'done';
      onResult(file);
    } catch (e) {
      // every engine rejects an aborted run with the one abort error (core/errors.ts RunAbortedError)
      const aborted = isRunAborted(e);
      setStatus(aborted ? 'cancelled' : `failed: ${e instanceof Error ? e.message : String(e)}`, !aborted);
      form.dataset.state = aborted ? 'cancelled' : 'failed';
    } finally {
      controller = undefined;
      run.disabled = false;
      cancel.disabled = true;
    }
  }
}

// importing the panel makes the runner reachable from puppeteer as window.caitRunner
if (typeof window !== 'undefined') installRunner();
