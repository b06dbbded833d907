/**
 * The page state that a shared URL carries: the file (when it was loaded
 * from a URL, `?file=`), the map axes (parameter paths), the mode (min over
 * the other parameters, or fixed at grid indices), the selected member, the
 * residual scale, and the selected ensemble members. Read on load, written
 * with history.replaceState on every change.
 */
import type { MapMode } from './map.js';
import type { ResidualScale } from './heatmap.js';

export interface PageState {
  file: string | null;
  x: string | null;
  y: string | null;
  mode: MapMode;
  /** grid index per parameter for `fixed` mode */
  fixed: number[] | null;
  /** selected fit member (heatmap click) */
  cell: number | null;
  scale: ResidualScale;
  /** selected ensemble members */
  members: number[];
}

export const DEFAULT_STATE: PageState = { file: null, x: null, y: null, mode: 'min', fixed: null, cell: null, scale: 'log', members: [] };

const intList = (s: string | null): number[] | null => {
  if (!s) return null;
  const v = s.split(',').map(Number);
  return v.every((n) => Number.isInteger(n) && n >= 0) ? v : null;
};

export function readState(search: string): PageState {
  const q = new URLSearchParams(search);
  const cell = q.get('cell');
  return {
    file: q.get('file'),
    x: q.get('x'),
    y: q.get('y'),
    mode: q.get('mode') === 'fixed' ? 'fixed' : 'min',
    fixed: intList(q.get('fix')),
    cell: cell !== null && /^\d+$/.test(cell) ? Number(cell) : null,
    scale: q.get('scale') === 'linear' ? 'linear' : 'log',
    members: intList(q.get('members')) ?? [],
  };
}

export function stateSearch(s: PageState): string {
  const q = new URLSearchParams();
  if (s.file) q.set('file', s.file);
  if (s.x) q.set('x', s.x);
  if (s.y) q.set('y', s.y);
  if (s.mode !== 'min') q.set('mode', s.mode);
  if (s.mode === 'fixed' && s.fixed) q.set('fix', s.fixed.join(','));
  if (s.cell !== null) q.set('cell', String(s.cell));
  if (s.scale !== 'log') q.set('scale', s.scale);
  if (s.members.length) q.set('members', s.members.join(','));
  const t = q.toString();
  return t ? `?${t}` : '';
}
