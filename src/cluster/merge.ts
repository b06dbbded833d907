/**
 * Joining shards (src/cluster/shard.ts) into the file the whole run would
 * have written: the members in member order with their values, status,
 * stages (durations, profiles, …) as the shards hold them, the counts, and a
 * provenance that lists where each shard ran. Shards of different ensembles
 * or versions, shards that split the ensemble differently, a shard given
 * twice and a missing shard are refused with a message that names the files.
 *
 * @example
 * const shards = paths.map((p) => ({ label: p, file: parseShardFile(readFileSync(p, 'utf8'), p) }));
 * const whole = mergeShards(shards); // a cait-ensemble/1 file without a shard block
 */
import { createHash } from 'node:crypto';
import { parseJson, parseWithSchema } from '../config/validate.js';
import { InputError } from '../core/errors.js';
import { canonicalJson, configSha256 } from '../io/result.js';
import type { MemberResult } from '../ensemble/types.js';
import { buildEnsembleFile } from '../ensemble/output.js';
import { ENSEMBLE_SCHEMA, ensembleFileSchema, type EnsembleFile, type EnsembleIdentity, type MemberEntry, type ShardRecord } from '../ensemble/schema.js';
import { shardMembers, type Design } from './shard.js';

/** A shard file and how to name it in messages (its path). */
export interface ShardInput {
  label: string;
  file: EnsembleFile;
}

/**
 * Parse a shard file's text and check it: a `cait-ensemble/1` file (its zod
 * schema, src/ensemble/schema.ts; a file that does not fit is refused with
 * one line naming the first bad field) with a shard block whose member
 * count matches its members.
 */
export function parseShardFile(text: string, label: string): EnsembleFile {
  const v = parseJson(text, label) as { schema?: unknown; shard?: unknown } | null;
  if (v?.schema !== ENSEMBLE_SCHEMA) throw new InputError(`${label}: not a ${ENSEMBLE_SCHEMA} file (schema ${JSON.stringify(v?.schema)})`);
  const file = parseWithSchema(ensembleFileSchema, v, label);
  const shard = file.shard;
  if (!shard) throw new InputError(`${label}: not a shard (no "shard" block): it is a whole ensemble already`);
  const expected = shardMembers(shard.ensemble.members, shard).length;
  if (file.members.length !== expected)
    throw new InputError(`${label}: shard ${shard.index}/${shard.count} of ${shard.ensemble.members} members should hold ${expected} members, it holds ${file.members.length}`);
  return file;
}

const name = (s: ShardInput) => `${s.label} (shard ${s.file.shard!.index}/${s.file.shard!.count})`;

function short(v: unknown): string {
  const t = typeof v === 'string' ? v : JSON.stringify(v);
  return /^[0-9a-f]{64}$/.test(t) ? `${t.slice(0, 12)}…` : t;
}

/** The fields in which two ensemble identities differ, as `field (a vs b)`. */
function identityDiff(a: EnsembleIdentity, b: EnsembleIdentity): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as (keyof EnsembleIdentity)[]);
  const out: string[] = [];
  for (const k of keys) {
    if (k === 'version') continue;
    if (canonicalJson(a[k] ?? null) !== canonicalJson(b[k] ?? null)) out.push(`${k} (${short(a[k] ?? 'none')} vs ${short(b[k] ?? 'none')})`);
  }
  return out;
}

/** A checked set of shards of one ensemble. */
export interface ShardSet {
  identity: EnsembleIdentity;
  count: number;
  /** byIndex[k]: shard k, or undefined when it is missing */
  byIndex: (ShardInput | undefined)[];
  missing: number[];
}

/**
 * Check that the shards belong to one ensemble of one version, split the
 * same way, with no shard twice; with `allowMissing` false also that none
 * is missing. Throws an InputError naming the files.
 */
export function checkShards(shards: readonly ShardInput[], opts: { allowMissing?: boolean } = {}): ShardSet {
  if (shards.length === 0) throw new InputError('no shards to merge');
  const first = shards[0];
  const id = first.file.shard!.ensemble;
  const count = first.file.shard!.count;
  const byIndex: (ShardInput | undefined)[] = new Array(count).fill(undefined);
  for (const s of shards) {
    const f = s.file;
    const sh = f.shard!;
    if (f.version !== sh.ensemble.version) throw new InputError(`${s.label}: written by version ${f.version} for an ensemble of version ${sh.ensemble.version}`);
    if (sh.ensemble.version !== id.version)
      throw new InputError(`shards of different versions: ${name(first)} is from cait-ensemble ${id.version}, ${name(s)} from ${sh.ensemble.version}`);
    const diff = identityDiff(id, sh.ensemble);
    if (diff.length) throw new InputError(`shards of different ensembles: ${name(first)} and ${name(s)} differ in ${diff.join(', ')}`);
    if (configSha256(f.base) !== sh.ensemble.config_sha256) throw new InputError(`${s.label}: its base protocol does not match the ensemble's config_sha256 (was it edited?)`);
    if (sh.count !== count)
      throw new InputError(`shards split the ensemble differently: ${name(first)} is one of ${count} shards, ${name(s)} one of ${sh.count}`);
    if (f.engine !== first.file.engine)
      throw new InputError(`shards ran on different engines: ${name(first)} on ${first.file.engine}, ${name(s)} on ${f.engine}`);
    const prev = byIndex[sh.index];
    if (prev) throw new InputError(`shard ${sh.index}/${count} is given twice: ${prev.label} and ${s.label}`);
    byIndex[sh.index] = s;
  }
  const missing = byIndex.flatMap((s, k) => (s ? [] : [k]));
  if (missing.length && !opts.allowMissing) {
    const have = byIndex.flatMap((s, k) => (s ? [k] : []));
    throw new InputError(
      `missing shard${missing.length > 1 ? 's' : ''} ${missing.map((k) => `${k}/${count}`).join(', ')} of the ensemble of ${id.members} members (given: ${have.join(', ')})`,
    );
  }
  return { identity: id, count, byIndex, missing };
}

/** The members of the whole ensemble in member order from each shard's members (`perShard(k)`, in shard order). */
export function joinMembers<T>(total: number, count: number, perShard: (k: number) => readonly T[]): T[] {
  const out = new Array<T>(total);
  for (let k = 0; k < count; k++) {
    const idx = shardMembers(total, { index: k, count });
    const part = perShard(k);
    if (part.length !== idx.length) throw new Error(`shard ${k}/${count}: ${part.length} members, ${idx.length} expected`);
    idx.forEach((i, j) => (out[i] = part[j]));
  }
  return out;
}

/** A member entry of a file as the engine result it came from (index in the whole ensemble). */
export function entryToResult(e: MemberEntry, index: number): MemberResult {
  const m: MemberResult = { index, values: e.values, status: e.status, cells: e.cells, stages: e.stages, wall_s: e.wall_s };
  if (e.reason !== undefined) m.reason = e.reason;
  if (e.residuals !== undefined) m.residuals = e.residuals;
  return m;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function joined(values: string[]): string {
  return [...new Set(values)].join('; ');
}

/**
 * The whole ensemble from all its shards: member order, counts, the base,
 * parameters, design and profiles level of the ensemble; provenance: the
 * latest shard's date, the sum of the shards' wall times and `shards` (where
 * each ran). Refuses incomplete or mismatched sets (checkShards) and member
 * values that are not the ensemble's (values_sha256).
 */
export function mergeShards(shards: readonly ShardInput[]): EnsembleFile {
  const set = checkShards(shards);
  const { identity: id, count } = set;
  const all = set.byIndex as ShardInput[];
  const entries = joinMembers(id.members, count, (k) => all[k].file.members);
  const values = entries.map((e) => e.values);
  if (sha256(canonicalJson(values)) !== id.values_sha256)
    throw new InputError(`the shards' member values are not those of their ensemble (values_sha256 differs): was a shard file edited?`);
  const head = all[0].file;
  const dates = all.map((s) => s.file.provenance.date).sort();
  const records: ShardRecord[] = all.map((s) => {
    const p = s.file.provenance;
    const r: ShardRecord = { index: s.file.shard!.index, date: p.date, wall_s: p.wall_s, adapter: s.file.adapter, node: p.node, platform: p.platform };
    if (p.slurm) r.slurm = p.slurm;
    return r;
  });
  const provenance = {
    version: id.version,
    date: dates[dates.length - 1],
    config_sha256: id.config_sha256,
    node: joined(all.map((s) => s.file.provenance.node)),
    platform: joined(all.map((s) => s.file.provenance.platform)),
    shards: records,
  };
  const wall_s = all.reduce((t, s) => t + s.file.provenance.wall_s, 0);
  const design: Design = id.seed !== undefined ? { design: id.design, seed: id.seed } : { design: id.design };
  return buildEnsembleFile(
    { base: head.base, parameters: id.parameters, values, members: [], profiles: id.profiles },
    { engine: head.engine, adapter: joined(all.map((s) => s.file.adapter)), members: entries.map(entryToResult), wall_s },
    provenance,
    design,
  );
}
