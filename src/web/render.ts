/**
 * Drawing the file the explorer shows: every view of its kind (fit-view.ts,
 * ensemble-view.ts, the sensitivity-study views of gsa.ts, a SIMS profile),
 * the status line and the render count that scripts wait on.
 */
import { $, countRender, setStatus, show, type Explorer } from './app.js';
import { renderEnsemble } from './ensemble-view.js';
import { renderFit } from './fit-view.js';
import { drawPanels, panelsCsv } from './plots.js';
import { simsPanels } from './views.js';

/** Draw every view of the loaded file's kind, then the status line; counts the render. */
export async function renderAll(ex: Explorer): Promise<void> {
  const t0 = performance.now();
  ex.views.clear();
  show('fit-views', ex.page.loaded?.kind === 'fit');
  show('ensemble-views', ex.page.loaded?.kind === 'ensemble');
  show('sims-views', ex.page.loaded?.kind === 'sims');
  show('gsa-views', ex.page.loaded?.kind === 'gsa');
  if (!ex.page.loaded) return;
  if (ex.page.loaded.kind === 'fit') await renderFit(ex, ex.page.loaded.fit);
  else if (ex.page.loaded.kind === 'ensemble') await renderEnsemble(ex, ex.page.loaded.ens);
  else if (ex.page.loaded.kind === 'gsa') await renderGsaViews(ex);
  else renderSims(ex);
  ex.page.lastRender = performance.now() - t0;
  setStatus(statusLine(ex));
  document.body.dataset.loaded = ex.page.loaded.kind;
  countRender();
}

function statusLine(ex: Explorer): string {
  if (!ex.page.loaded) return '';
  if (ex.page.loaded.kind === 'fit') {
    const f = ex.page.loaded.fit;
    return `${ex.page.loaded.name}: cait-fit/1, ${f.parameters.length} parameters, grid ${f.grid.axes.map((a) => a.length).join(' × ')} (${f.grid.size} members), ${f.members.length} evaluated; ${f.provenance?.engine ?? '?'} on ${f.provenance?.adapter ?? '?'}`;
  }
  if (ex.page.loaded.kind === 'ensemble') {
    const e = ex.page.loaded.ens;
    return `${ex.page.loaded.name}: cait-ensemble/1, ${e.counts?.members ?? e.members.length} members (${e.counts?.failed ?? 0} failed), profiles ${e.profiles}; ${e.engine} on ${e.adapter}`;
  }
  if (ex.page.loaded.kind === 'gsa') {
    const g = ex.page.loaded.gsa;
    return `${ex.page.loaded.name}: cait-gsa/1, ${g.method === 'sobol' ? `Sobol' indices, N = ${g.N}` : `Morris screening, r = ${g.N}`}, ${g.parameters.length} parameters, ${Object.keys(g.outputs).length} outputs${g.depth ? ' and depth maps' : ''}; ${g.provenance.engine} on ${g.provenance.adapter}`;
  }
  const m = ex.page.loaded.measured;
  return `${ex.page.loaded.name}: ${m.format} SIMS profile, ${m.depth_nm.length} points, elements ${m.elements.join(', ')}${m.warnings.length ? `; ${m.warnings.length} warning(s): ${m.warnings.join('; ')}` : ''}`;
}

/** The sensitivity-study views (src/web/gsa.ts, loaded when first needed); a change of output or index redraws them. */
async function renderGsaViews(ex: Explorer): Promise<void> {
  if (ex.page.loaded?.kind !== 'gsa') return;
  const { renderGsa } = await import('./gsa.js');
  if (ex.page.loaded?.kind !== 'gsa') return;
  const v = renderGsa(
    ex.page.loaded.gsa,
    {
      bars: $('gsa-indices-plot'),
      depth: $('gsa-depth-plot'),
      depthSection: $('gsa-depth-views'),
      output: $('gsa-output') as HTMLSelectElement,
      index: $('gsa-index') as HTMLSelectElement,
      tooltip: $('tooltip'),
      caption: $('gsa-caption'),
    },
    () => void renderGsaViews(ex).then(countRender),
  );
  ex.views.set('gsa-indices', v.indices);
  if (v.depth) ex.views.set('gsa-depth', v.depth);
  else ex.views.delete('gsa-depth');
}

function renderSims(ex: Explorer): void {
  if (ex.page.loaded?.kind !== 'sims') return;
  const panels = simsPanels(ex.page.loaded.measured, ex.page.loaded.name);
  drawPanels($('sims-plot'), panels, { view: 'sims', cols: 1, panelW: 640, panelH: 320 });
  ex.views.set('sims', { svg: () => $('sims-plot').querySelector('svg'), csv: () => panelsCsv(panels, 'depth_nm', 'c') });
}
