/**
 * Writing an ensemble's outputs (Node only): the `cait-ensemble/1` JSON, its
 * CSV and a figure, all through temporary files renamed at the end
 * (src/io/atomic.ts), so that either every output is replaced or, on a
 * failure, every existing file is left as it was.
 *
 * @example
 * const file = buildEnsembleFile(req, res, ensembleProvenance(req.base), { design: 'grid' });
 * writeEnsembleOutputs(file, { json: 'results/dcs.json', csv: 'results/dcs.csv' });
 */
import type { Protocol } from '../config/schema.js';
import { writeFilesAtomic, type OutputFile } from '../io/atomic.js';
import { makeProvenance, type Provenance } from '../io/result.js';
import { ensembleCsv, ensembleJsonChunks, type EnsembleFile } from './output.js';

/** Provenance of an ensemble: package version, date, sha256 of the base protocol, node, platform. */
export function ensembleProvenance(base: Protocol, date: Date = new Date()): Provenance {
  return makeProvenance(base, date);
}

export interface EnsembleOutputPaths {
  /** the cait-ensemble/1 JSON */
  json: string;
  /** the compact CSV (one row per member) */
  csv?: string;
  /** extra files written in the same batch (figures) */
  extra?: OutputFile[];
}

/** The JSON as bytes, assembled from per-member pieces (a large ensemble never becomes one string). */
export function ensembleJsonBytes(file: EnsembleFile): Uint8Array {
  return Buffer.concat(ensembleJsonChunks(file).map((c) => Buffer.from(c, 'utf8')));
}

/** Write every output of an ensemble atomically (all or none). Returns the paths written. */
export function writeEnsembleOutputs(file: EnsembleFile, paths: EnsembleOutputPaths): string[] {
  const files: OutputFile[] = [{ path: paths.json, data: ensembleJsonBytes(file) }];
  if (paths.csv !== undefined) files.push({ path: paths.csv, data: ensembleCsv(file) });
  if (paths.extra) files.push(...paths.extra);
  writeFilesAtomic(files);
  return files.map((f) => f.path);
}
