/**
 * What the explorer page can load, recognized by content: a fit result
 * (`cait-fit/1`), an ensemble (`cait-ensemble/1`), a sensitivity study
 * (`cait-gsa/1`, checked with its zod schema) or a measured SIMS depth
 * profile (CSV/TSV, IONTOF ASCII, Cameca; through src/sims importSims).
 * JSON files are checked against their format's zod schema (src/fit/schema.ts,
 * src/ensemble/schema.ts, src/gsa/schema.ts); a file that does not fit is an
 * InputError of one line naming the file and the first bad field
 * (`fit.json: members.3.residual: Invalid input: expected number, received string`).
 */
import { parseJson, parseWithSchema } from '../config/validate.js';
import { InputError } from '../core/errors.js';
import { ENSEMBLE_SCHEMA, ensembleFileSchema, type EnsembleFile } from '../ensemble/schema.js';
import { FIT_SCHEMA, fitFileSchema, type FitFile } from '../fit/schema.js';
import { GSA_SCHEMA, gsaFileSchema, type GsaFile } from '../gsa/schema.js';
import { importSims, type MeasuredProfile, type ProcessOptions } from '../sims/index.js';

export type Loaded =
  | { kind: 'fit'; name: string; fit: FitFile }
  | { kind: 'ensemble'; name: string; ens: EnsembleFile }
  | { kind: 'gsa'; name: string; gsa: GsaFile }
  | { kind: 'sims'; name: string; measured: MeasuredProfile; text: string };

/** Check a cait-fit/1 object against its schema (src/fit/schema.ts), and that it has the noise estimate the views divide by. */
export function checkFit(v: unknown, where: string): FitFile {
  const f = parseWithSchema(fitFileSchema, v, where);
  if (!(f.noise.s2 > 0)) throw new InputError(`${where}: noise.s2: expected a positive number (χ² = residual / s2), got ${f.noise.s2}`);
  return f;
}

/** Check a cait-ensemble/1 object against its schema (src/ensemble/schema.ts). */
export function checkEnsemble(v: unknown, where: string): EnsembleFile {
  return parseWithSchema(ensembleFileSchema, v, where);
}

/** SIMS processing inputs of the page (the `cait sims` options). */
export type SimsInputs = ProcessOptions;

/** Check a cait-gsa/1 object against its schema (src/gsa/schema.ts). */
export function checkGsa(v: unknown, where: string): GsaFile {
  return parseWithSchema(gsaFileSchema, v, where);
}

/** A parsed cait-fit/1, cait-ensemble/1 or cait-gsa/1 object (e.g. from the live sweep), checked. */
export function loadedFromObject(v: { schema?: unknown }, name: string): Loaded {
  if (v?.schema === FIT_SCHEMA) return { kind: 'fit', name, fit: checkFit(v, name) };
  if (v?.schema === ENSEMBLE_SCHEMA) return { kind: 'ensemble', name, ens: checkEnsemble(v, name) };
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
