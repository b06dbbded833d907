/**
 * The 2D residual map of a fit's grid: any two swept parameters as axes,
 * every other parameter either fixed at one of its grid values or minimized
 * over (the profile of the residual). Platform-neutral, O(grid size).
 * (src/fit has no map module yet; this is the page's reduction.)
 *
 * Grid order (src/fit/schema.ts): members are the cartesian product of
 * grid.axes with the last parameter varying fastest, so grid member i has
 * axis indices idx_k = floor(i / stride_k) mod n_k, stride_k = Π_{l>k} n_l.
 */
import type { FitFile } from '../fit/schema.js';

export type MapMode = 'min' | 'fixed';

export interface MapSpec {
  /** parameter index on the horizontal axis */
  x: number;
  /** parameter index on the vertical axis; -1 with a single parameter (one row) */
  y: number;
  mode: MapMode;
  /** per parameter: the grid index it is held at in `fixed` mode (x and y entries ignored) */
  fixed: number[];
}

export interface ResidualMap {
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

/** Axis indices of grid member i. */
export function gridIndex(axes: readonly (readonly number[])[], i: number): number[] {
  const st = gridStrides(axes);
  return axes.map((a, k) => Math.floor(i / st[k]) % a.length);
}

/** Grid indices of a member's values (nearest grid value per axis; relative match). */
export function indexOfValues(axes: readonly (readonly number[])[], values: readonly number[]): number[] {
  return axes.map((a, k) => {
    let best = 0;
    let bd = Infinity;
    a.forEach((v, n) => {
      const d = Math.abs(v - values[k]) / (Math.abs(v) + Math.abs(values[k]) || 1);
      if (d < bd) (bd = d), (best = n);
    });
    return best;
  });
}

export function residualMap(fit: Pick<FitFile, 'grid' | 'residual'>, spec: MapSpec): ResidualMap {
  const axes = fit.grid.axes;
  const P = axes.length;
  if (spec.x < 0 || spec.x >= P) throw new RangeError(`map: x axis ${spec.x} is not a parameter index (0..${P - 1})`);
  if (spec.y >= P || spec.y < -1 || (spec.y === -1 && P > 1) || spec.y === spec.x)
    throw new RangeError(`map: y axis ${spec.y} must be another parameter index than x`);
  const st = gridStrides(axes);
  const nx = axes[spec.x].length;
  const ny = spec.y >= 0 ? axes[spec.y].length : 1;
  const values = new Float64Array(nx * ny).fill(NaN);
  const member = new Int32Array(nx * ny).fill(-1);
  const r = fit.residual;
  if (spec.mode === 'fixed') {
    let base = 0;
    for (let k = 0; k < P; k++) if (k !== spec.x && k !== spec.y) base += Math.min(Math.max(spec.fixed[k] ?? 0, 0), axes[k].length - 1) * st[k];
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        const m = base + i * st[spec.x] + (spec.y >= 0 ? j * st[spec.y] : 0);
        const v = r[m];
        if (v !== null && v !== undefined) {
          values[j * nx + i] = v;
          member[j * nx + i] = m;
        }
      }
  } else {
    const sx = st[spec.x];
    const sy = spec.y >= 0 ? st[spec.y] : 1;
    for (let m = 0; m < r.length; m++) {
      const v = r[m];
      if (v === null || v === undefined) continue;
      const i = Math.floor(m / sx) % nx;
      const j = spec.y >= 0 ? Math.floor(m / sy) % ny : 0;
      const c = j * nx + i;
      if (!(v >= values[c])) {
        // NaN (empty) or larger: take this one
        values[c] = v;
        member[c] = m;
      }
    }
  }
  let min = Infinity;
  let max = -Infinity;
  for (const v of values)
    if (Number.isFinite(v)) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  return { nx, ny, values, member, min, max };
}
