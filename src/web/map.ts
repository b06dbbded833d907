/**
 * The 2D residual map of a fit's grid as the page draws it: any two swept
 * parameters as axes, every other parameter either fixed at one of its grid
 * values or minimized over (the profile of the residual). The reduction is
 * src/fit/map.ts's; this adds the chosen slice, the member per cell and
 * flat arrays for drawing. Platform-neutral, O(grid size).
 *
 * Grid order (src/fit/schema.ts): members are the cartesian product of
 * grid.axes with the last parameter varying fastest, so grid member i has
 * axis indices idx_k = floor(i / stride_k) mod n_k, stride_k = Π_{l>k} n_l.
 */
import { residualMap as fitResidualMap, type MapMode } from '../fit/map.js';
import type { FitFile } from '../fit/schema.js';

export type { MapMode };

export interface MapSpec {
  /** parameter index on the horizontal axis */
  x: number;
  /** parameter index on the vertical axis; -1 with a single parameter (one row) */
  y: number;
  mode: MapMode;
  /** per parameter: the grid index it is held at in `fixed` mode (x and y entries ignored) */
  fixed: number[];
}

/** The page's form of a residual map (src/fit/map.ts ResidualMap reduced to a slice, flat for drawing). */
export interface PageMap {
  nx: number;
  ny: number;
  /** values[j * nx + i]: residual of cell (i along x, j along y); NaN where no member (failed) */
  values: Float64Array;
  /** grid member shown in each cell (the minimizing one in `min` mode), -1 where none */
  member: Int32Array;
  /** smallest and largest finite value */
  min: number;
  max: number;
}

/** Strides of the grid order (last axis fastest). */
export function gridStrides(axes: readonly (readonly number[])[]): number[] {
  const s = new Array<number>(axes.length);
  let acc = 1;
  for (let k = axes.length - 1; k >= 0; k--) {
    s[k] = acc;
    acc *= axes[k].length;
  }
  return s;
}

/** Grid indices of a member's values (nearest grid value per axis; relative match). */
export function indexOfValues(axes: readonly (readonly number[])[], values: readonly number[]): number[] {
  return axes.map((a, k) => {
    let best = 0;
    let bd = Infinity;
    a.forEach((v, n) => {
      const d = Math.abs(v - values[k]) / (Math.abs(v) + Math.abs(values[k]) || 1);
      if (d < bd) {
        bd = d;
        best = n;
      }
    });
    return best;
  });
}

/**
 * The page's map: src/fit/map.ts residualMap (the one reduction of the
 * project) on the chosen slice, plus which grid member each cell shows.
 * `fixed` mode holds the other parameters at `spec.fixed` (any grid value,
 * not only the best member's): members outside that slice are left out
 * before the reduction. A single-parameter fit gets a one-value dummy y axis.
 */
export function pageMap(fit: Pick<FitFile, 'parameters' | 'grid' | 'residual'>, spec: MapSpec): PageMap {
  const axes = fit.grid.axes;
  const P = axes.length;
  if (spec.x < 0 || spec.x >= P) throw new RangeError(`map: x axis ${spec.x} is not a parameter index (0..${P - 1})`);
  if (spec.y >= P || spec.y < -1 || (spec.y === -1 && P > 1) || spec.y === spec.x)
    throw new RangeError(`map: y axis ${spec.y} must be another parameter index than x`);
  const st = gridStrides(axes);
  const sizes = axes.map((a) => a.length);
  const fixedIdx = axes.map((a, k) => Math.min(Math.max(spec.fixed[k] ?? 0, 0), a.length - 1));
  const inSlice = (i: number) => spec.mode !== 'fixed' || axes.every((_, k) => k === spec.x || k === spec.y || Math.floor(i / st[k]) % sizes[k] === fixedIdx[k]);
  const residual = spec.mode === 'fixed' ? fit.residual.map((r, i) => (inSlice(i) ? r : null)) : fit.residual;
  // one parameter: a dummy second axis of one value (the grid order is unchanged)
  const input =
    spec.y >= 0
      ? { parameters: fit.parameters, grid: fit.grid, residual }
      : { parameters: [...fit.parameters, '(none)'], grid: { axes: [...axes, [0]], size: fit.grid.size }, residual };
  const m = fitResidualMap(input, spec.x, spec.y >= 0 ? spec.y : P, 'min');
  const nx = sizes[spec.x];
  const ny = spec.y >= 0 ? sizes[spec.y] : 1;
  const values = new Float64Array(nx * ny).fill(NaN);
  const member = new Int32Array(nx * ny).fill(-1);
  m.z.forEach((row, j) => row.forEach((v, i) => v !== null && (values[j * nx + i] = v)));
  // which member each cell shows: the first in grid order whose residual is the cell's
  const sy = spec.y >= 0 ? st[spec.y] : 1;
  for (let i = 0; i < residual.length; i++) {
    const r = residual[i];
    if (r === null || r === undefined) continue;
    const c = (spec.y >= 0 ? (Math.floor(i / sy) % ny) * nx : 0) + (Math.floor(i / st[spec.x]) % nx);
    if (member[c] < 0 && r === values[c]) member[c] = i;
  }
  return { nx, ny, values, member, min: m.zMin ?? Infinity, max: m.zMax ?? -Infinity };
}
