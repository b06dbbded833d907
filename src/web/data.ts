/**
 * What the explorer page can load, recognized by content: a fit result
 * (`cait-fit/1`), an ensemble (`cait-ensemble/1`), a sensitivity study
 * (`cait-gsa/1`, checked with its zod schema) or a measured SIMS depth
 * profile (CSV/TSV, IONTOF ASCII, Cameca; through src/sims importSims).
 * JSON files are checked for the structure the views rely on; a file that
 * does not fit is an InputError naming the file and the field.
 */
import { formatZodError, parseJson } from '../config/validate.js';
import { InputError } from '../core/errors.js';
import type { EnsembleFile } from '../ensemble/output.js';
import { ENSEMBLE_SCHEMA } from '../ensemble/output.js';
import type { FitFile } from '../fit/schema.js';
import { FIT_SCHEMA } from '../fit/schema.js';
import { GSA_SCHEMA, gsaFileSchema, type GsaFile } from '../gsa/schema.js';
import { importSims, type MeasuredProfile, type ProcessOptions } from '../sims/index.js';

export type Loaded =
  | { kind: 'fit'; name: string; fit: FitFile }
  | { kind: 'ensemble'; name: string; ens: EnsembleFile }
  | { kind: 'gsa'; name: string; gsa: GsaFile }
  | { kind: 'sims'; name: string; measured: MeasuredProfile; text: string };

function need(cond: unknown, where: string, msg: string): asserts cond {
  if (!cond) throw new InputError(`${where}: ${msg}`);
}

const isNumArray = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x));

/** Check what the fit views read from a cait-fit/1 object (types: src/fit/schema.ts). */
export function checkFit(v: FitFile, where: string): FitFile {
  need(Array.isArray(v.parameters) && v.parameters.length >= 1, where, 'parameters: expected a non-empty list of parameter paths');
  const P = v.parameters.length;
  need(v.grid && Array.isArray(v.grid.axes) && v.grid.axes.length === P, where, `grid.axes: expected ${P} axes (one per parameter)`);
  v.grid.axes.forEach((a, k) => need(isNumArray(a) && a.length >= 1, where, `grid.axes.${k}: expected a non-empty list of numbers`));
  const size = v.grid.axes.reduce((s, a) => s * a.length, 1);
  need(v.grid.size === size, where, `grid.size: ${v.grid.size} is not the product of the axis lengths (${size})`);
  need(Array.isArray(v.scale) && v.scale.length === P, where, `scale: expected ${P} entries (log or linear)`);
  need(Array.isArray(v.residual) && v.residual.length === size, where, `residual: expected ${size} entries (one per grid member), got ${v.residual?.length}`);
  v.residual.forEach((r, i) => need(r === null || (typeof r === 'number' && Number.isFinite(r) && r >= 0), where, `residual.${i}: expected a number ≥ 0 or null`));
  need(Array.isArray(v.members) && v.members.length >= size, where, `members: expected at least the ${size} grid members`);
  need(v.noise && typeof v.noise.s2 === 'number' && v.noise.s2 > 0, where, 'noise.s2: expected a positive number');
  need(v.best && isNumArray(v.best.values) && v.best.values.length === P, where, `best.values: expected ${P} numbers`);
  need(Number.isInteger(v.best.member) && v.best.member >= 0 && v.best.member < v.members.length, where, 'best.member: not an index into members');
  need(v.measured && Array.isArray(v.measured.observations), where, 'measured.observations: expected a list');
  v.measured.observations.forEach((o, k) => {
    need(isNumArray(o.depth_nm), where, `measured.observations.${k}.depth_nm: expected numbers`);
    for (const sp of o.species ?? [])
      need(isNumArray(o.target?.[sp]) && o.target[sp].length === o.depth_nm.length, where, `measured.observations.${k}.target.${sp}: expected ${o.depth_nm.length} numbers`);
  });
  return v;
}

/** Check what the ensemble views read from a cait-ensemble/1 object. */
export function checkEnsemble(v: EnsembleFile, where: string): EnsembleFile {
  need(Array.isArray(v.parameters), where, 'parameters: expected a list of parameter paths');
  need(Array.isArray(v.members), where, 'members: expected a list');
  v.members.forEach((m, i) => {
    need(Array.isArray(m.values) && m.values.length === v.parameters.length, where, `members.${i}.values: expected ${v.parameters.length} numbers`);
    need(Array.isArray(m.stages), where, `members.${i}.stages: expected a list`);
  });
  need(Array.isArray(v.species), where, 'species: expected a list');
  return v;
}

/** SIMS processing inputs of the page (the `cait sims` options). */
export type SimsInputs = ProcessOptions;

/** Check a cait-gsa/1 object against its schema (src/gsa/schema.ts). */
export function checkGsa(v: unknown, where: string): GsaFile {
  const r = gsaFileSchema.safeParse(v);
  if (!r.success) throw new InputError(formatZodError(r.error, where));
  return r.data;
}

/** A parsed cait-fit/1, cait-ensemble/1 or cait-gsa/1 object (e.g. from the live sweep), checked. */
export function loadedFromObject(v: { schema?: unknown }, name: string): Loaded {
  if (v?.schema === FIT_SCHEMA) return { kind: 'fit', name, fit: checkFit(v as FitFile, name) };
  if (v?.schema === ENSEMBLE_SCHEMA) return { kind: 'ensemble', name, ens: checkEnsemble(v as EnsembleFile, name) };
  if (v?.schema === GSA_SCHEMA) return { kind: 'gsa', name, gsa: checkGsa(v, name) };
  throw new InputError(`${name}: schema ${JSON.stringify(v?.schema)} is none of ${FIT_SCHEMA}, ${ENSEMBLE_SCHEMA}, ${GSA_SCHEMA}`);
}

/** Recognize and parse a file's text. */
export function parseLoaded(text: string, name: string, sims: SimsInputs = {}): Loaded {
  const t = text.trimStart();
  if (t.startsWith('{')) {
    return loadedFromObject(parseJson(text, name) as { schema?: unknown }, name);
  }
  return { kind: 'sims', name, measured: importSims(text, sims, name), text };
}
