/**
 * Export of the explorer's drawn views by name (SVG, PNG, CSV): the buttons
 * with data-export / data-view, and the same for window.caitExplorer.
 */
import { setStatus, type Explorer, type ViewEntry } from './app.js';
import { download, svgText, svgToPng } from './export.js';

export function viewEntry(ex: Explorer, name: string): ViewEntry {
  const v = ex.views.get(name);
  if (!v) throw new Error(`no view "${name}" (views: ${[...ex.views.keys()].join(', ') || 'none'})`);
  return v;
}

export function exportSvg(ex: Explorer, name: string): string {
  const svg = viewEntry(ex, name).svg();
  if (!svg) throw new Error(`view "${name}" has no figure`);
  return svgText(svg);
}

export async function exportPngBlob(ex: Explorer, name: string): Promise<Blob> {
  const svg = viewEntry(ex, name).svg();
  if (!svg) throw new Error(`view "${name}" has no figure`);
  return svgToPng(svg);
}

function baseName(ex: Explorer): string {
  return (ex.page.loaded?.name ?? 'cait').replace(/\.[^.]+$/, '');
}

export async function onExportClick(ex: Explorer, ev: Event): Promise<void> {
  const b = (ev.target as HTMLElement).closest<HTMLButtonElement>('button[data-export]');
  if (!b) return;
  const view = b.dataset.view!;
  const kind = b.dataset.export!;
  try {
    const stem = `${baseName(ex)}-${view}`;
    if (kind === 'svg') download(new Blob([exportSvg(ex, view)], { type: 'image/svg+xml' }), `${stem}.svg`);
    else if (kind === 'png') download(await exportPngBlob(ex, view), `${stem}.png`);
    else download(new Blob([viewEntry(ex, view).csv()], { type: 'text/csv' }), `${stem}.csv`);
  } catch (e) {
    setStatus(`export: ${(e as Error).message}`, true);
  }
}
