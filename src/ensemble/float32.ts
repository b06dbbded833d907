
import { InputError } from '../core/errors.js';
import type { Grid } from '../solver/grid.js';
import { gridOf } from '../solver/simulate.js';
import type { EnsembleRequest } from './types.js';

/** Most active species per stage of a float32 engine (the closing one included). */
export const FLOAT32_MAX_SPECIES = 4;

/**
 * What both float32 engines (webgpu, gpujs) can run: members that share
 * species, stages and grid (only numbers vary), the arithmetic face D, no
 * snapshot records, 2..FLOAT32_MAX_SPECIES species per stage, nref = bulk, table models on
 * a uniform θ grid from 0 to 1. Returns the shared grid; throws InputError
 * naming the member and the field.
 */
export function checkFloat32Request(req: EnsembleRequest, engine: string): Grid {
  const ms = req.members;
  if (ms.length === 0) throw new InputError('the request has no members');
  for (let i = 1; i < ms.length; i++) {
    const v = varyingStructure(ms[0], ms[i]);
    if (v) throw new InputError(`${engine} engine: all members must share species, stages and grid; member ${i} differs from member 0 at ${v}`);
  }
  ms.forEach((p, i) => {
    if (p.solver.face_D !== 'arithmetic') throw new InputError(`member ${i}: solver.face_D: the ${engine} engine implements the arithmetic face average only`);
    p.stages.forEach((st, k) => {
      if (st.record.times_s.length || st.record.charges_C.length)
        throw new InputError(`member ${i}: stages.${k}.record: the ${engine} engine records no snapshots (leave times_s and charges_C empty)`);
      const names = Object.keys(st.D);
      if (names.length < 2 || names.length > FLOAT32_MAX_SPECIES) throw new InputError(`member ${i}: stages.${k}.D: the ${engine} engine needs 2..${FLOAT32_MAX_SPECIES} species per stage`);
      for (const nm of names) {
        const d = st.D[nm];
        if ((d.model === 'sed' || d.model === 'table') && d.nref === 'stageStart')
          throw new InputError(`member ${i}: stages.${k}.D.${nm}.nref: the ${engine} engine supports nref = bulk only`);
        if (d.model === 'table') {
          const n = d.theta.length;
          const uniform = n >= 2 && d.theta.every((t, j) => Math.abs(t - j / (n - 1)) <= 1e-12);
          if (!uniform) throw new InputError(`member ${i}: stages.${k}.D.${nm}: the ${engine} engine needs table models on a uniform θ grid from 0 to 1`);
        }
      }
    });
  });
  return gridOf(ms[0]);
}

/** The value at a dotted path where two member protocols differ in structure (not just a number), or in a numeric field that must be shared. */
export function varyingStructure(a: unknown, b: unknown, path: string[] = []): string | undefined {
  const p = path.join('.');
  if (path.length === 1 && (path[0] === 'name' || path[0] === 'description')) return undefined;
  if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b) || (a === null) !== (b === null)) return p || '(root)';
  if (typeof a === 'number') {
    const shared = path[0] === 'grid' || p === 'sample.thickness_m' || (path[0] === 'species' && path[2] === 'z');
    return shared && a !== b ? p : undefined;
  }
  if (typeof a !== 'object' || a === null) return a === b ? undefined : p || '(root)';
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return p;
    for (let i = 0; i < a.length; i++) {
      const r = varyingStructure(a[i], bb[i], [...path, String(i)]);
      if (r) return r;
    }
    return undefined;
  }
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return p || '(root)';
  for (const k of ka) {
    const r = varyingStructure((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], [...path, k]);
    if (r) return r;
  }
  return undefined;
}
