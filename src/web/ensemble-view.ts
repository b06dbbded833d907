/**
 * The ensemble views of the explorer (a cait-ensemble/1 file): the member
 * table (pages of PAGE_ROWS, ok members selectable) and the selected
 * members' profiles.
 */
import type { EnsembleFile } from '../ensemble/output.js';
import { $, type Explorer } from './app.js';
import { csvCell, drawPanels, fmtNum, panelsCsv, shortPath, type Panel } from './plots.js';
import { ensemblePanels } from './views.js';

const PAGE_ROWS = 100;

export async function renderEnsemble(ex: Explorer, ens: EnsembleFile): Promise<void> {
  const table = $('member-table') as HTMLTableElement;
  const pages = Math.max(1, Math.ceil(ens.members.length / PAGE_ROWS));
  ex.page.ensemblePage = Math.min(ex.page.ensemblePage, pages - 1);
  const from = ex.page.ensemblePage * PAGE_ROWS;
  const to = Math.min(ens.members.length, from + PAGE_ROWS);
  const sel = new Set(ex.page.state.members);
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
  $('member-page').textContent = `members ${from}–${to - 1} of ${ens.members.length} (page ${ex.page.ensemblePage + 1}/${pages})`;
  await renderEnsembleProfiles(ex, ens);
  ex.views.set('members', { svg: () => null, csv: () => ensembleMembersCsv(ens) });
}

function ensembleMembersCsv(ens: EnsembleFile): string {
  const out = [['member', ...ens.parameters.map(csvCell), 'status', 'reason'].join(',')];
  ens.members.forEach((m, i) => out.push([i, ...m.values, m.status, csvCell(m.reason ?? '')].join(',')));
  return out.join('\n') + '\n';
}

export async function renderEnsembleProfiles(ex: Explorer, ens: EnsembleFile): Promise<void> {
  const generation = ++ex.page.generation.ensemble;
  const host = $('ensemble-profiles-plot');
  if (ens.profiles === 'none') {
    host.textContent = 'This ensemble has no profiles (run cait ensemble with --profiles final to see them here).';
    ex.views.delete('ensemble-profiles');
    return;
  }
  await ex.parser.ensureEnsembleProfiles(ens, ex.page.state.members);
  if (generation !== ex.page.generation.ensemble) return;
  const maxDepth = Number(($('ensemble-depth') as HTMLInputElement).value) || 150;
  const panels: Panel[] = ensemblePanels(ens, ex.page.state.members, maxDepth);
  drawPanels(host, panels, {
    view: 'ensemble-profiles',
    title: `members ${ex.page.state.members.join(', ') || '(none selected)'}`,
    cols: Math.min(2, panels.length),
  });
  ex.views.set('ensemble-profiles', { svg: () => host.querySelector('svg'), csv: () => panelsCsv(panels, 'depth_nm', 'n_over_n0') });
}
