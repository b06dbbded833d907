/**
 * Residual maps: any two fitted parameters as axes over the grid members of
 * a fit (platform-neutral; the CLI plots and the browser explorer both
 * import this). The other parameters are either fixed at the best grid
 * member's values (`fixed`) or minimised over (`min`: a profile map).
 *
 * @example
 * const m = residualMap(fitFile, 'stages.1.D.Cs.D_m2s', 'stages.1.D.Rb.width.value_eV', 'min');
 * m.z[iy][ix]; // the residual at x.values[ix], y.values[iy] (null: failed)
 */
import type { FitFile } from './schema.js';

export type MapMode = 'fixed' | 'min';

/** What a map needs of a fit (a cait-fit/1 file has it). */
export type MapInput = Pick<FitFile, 'parameters' | 'grid' | 'residual'> & Partial<Pick<FitFile, 'scale'>>;

export interface ResidualMap {
  mode: MapMode;
  x: { path: string; index: number; values: number[]; scale: 'log' | 'linear' };
  y: { path: string; index: number; values: number[]; scale: 'log' | 'linear' };
  /** z[iy][ix]: residual at (x.values[ix], y.values[iy]); null where the member failed */
  z: (number | null)[][];
  /** `fixed`: the other parameters' values (the best grid member's); `min`: empty */
  fixed: Record<string, number>;
  /** the lowest cell */
  best: { ix: number; iy: number; residual: number } | null;
  /** z range over the non-null cells */
  zMin: number | null;
  zMax: number | null;
}

function indexOfParam(fit: MapInput, p: number | string): number {
  const i = typeof p === 'number' ? p : fit.parameters.indexOf(p);
  if (!(Number.isInteger(i) && i >= 0 && i < fit.parameters.length))
    throw new Error(`residual map: no parameter ${String(p)} (parameters: ${fit.parameters.join(', ')})`);
  return i;
}

/** Grid index of member i → per-axis indices (the last parameter varies fastest). */
export function gridIndices(sizes: readonly number[], i: number): number[] {
  const out = new Array<number>(sizes.length);
  let rest = i;
  for (let j = sizes.length - 1; j >= 0; j--) {
    out[j] = rest % sizes[j];
    rest = Math.floor(rest / sizes[j]);
  }
  return out;
}

/** A residual map of parameters `px` (x axis) and `py` (y axis), by index or path. */
export function residualMap(fit: MapInput, px: number | string, py: number | string, mode: MapMode = 'min'): ResidualMap {
  const ix = indexOfParam(fit, px);
  const iy = indexOfParam(fit, py);
  if (ix === iy) throw new Error(`residual map: x and y are the same parameter ${fit.parameters[ix]}`);
  const sizes = fit.grid.axes.map((a) => a.length);
  const nx = sizes[ix];
  const ny = sizes[iy];
  const z: (number | null)[][] = Array.from({ length: ny }, () => new Array<number | null>(nx).fill(null));
  // the best grid member fixes the others in `fixed` mode
  let bestI = -1;
  fit.residual.forEach((r, i) => {
    if (r !== null && Number.isFinite(r) && (bestI < 0 || r < fit.residual[bestI]!)) bestI = i;
  });
  const bestIdx = bestI >= 0 ? gridIndices(sizes, bestI) : sizes.map(() => 0);
  const fixed: Record<string, number> = {};
  if (mode === 'fixed') fit.parameters.forEach((p, j) => j !== ix && j !== iy && (fixed[p] = fit.grid.axes[j][bestIdx[j]]));
  fit.residual.forEach((r, i) => {
    if (r === null || !Number.isFinite(r)) return;
    const idx = gridIndices(sizes, i);
    if (mode === 'fixed' && idx.some((v, j) => j !== ix && j !== iy && v !== bestIdx[j])) return;
    const cur = z[idx[iy]][idx[ix]];
    if (cur === null || r < cur) z[idx[iy]][idx[ix]] = r;
  });
  let best: ResidualMap['best'] = null;
  let zMin: number | null = null;
  let zMax: number | null = null;
  z.forEach((row, b) =>
    row.forEach((v, a) => {
      if (v === null) return;
      if (best === null || v < best.residual) best = { ix: a, iy: b, residual: v };
      zMin = zMin === null ? v : Math.min(zMin, v);
      zMax = zMax === null ? v : Math.max(zMax, v);
    }),
  );
  const sc = (j: number) => fit.scale?.[j] ?? 'linear';
  return {
    mode,
    x: { path: fit.parameters[ix], index: ix, values: fit.grid.axes[ix].slice(), scale: sc(ix) },
    y: { path: fit.parameters[iy], index: iy, values: fit.grid.axes[iy].slice(), scale: sc(iy) },
    z,
    fixed,
    best,
    zMin,
    zMax,
  };
}

/** Every pair of parameters with more than one grid value (x before y in parameter order), at most `max` pairs. */
export function mapPairs(fit: MapInput, max = 6): [number, number][] {
  const free = fit.grid.axes.map((a, j) => (a.length > 1 ? j : -1)).filter((j) => j >= 0);
  const out: [number, number][] = [];
  for (let a = 0; a < free.length; a++) for (let b = a + 1; b < free.length; b++) if (out.length < max) out.push([free[a], free[b]]);
  return out;
}
