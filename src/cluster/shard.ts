/**
 * Shards of an ensemble: `--shard K/N` runs the members i with i mod N = K
 * (K = 0..N−1, so `--shard $SLURM_ARRAY_TASK_ID/N` works as it is), in member
 * order. Taking every N-th member rather than a block spreads the members of
 * a grid (whose cost grows along its axes) evenly over the shards. A shard
 * file is a `cait-ensemble/1` file of its members with a `shard` block that
 * names the whole ensemble (EnsembleIdentity), so that `cait merge` can
 * check that shards belong together (src/cluster/merge.ts).
 *
 * @example
 * const spec = parseShard('1/4');              // { index: 1, count: 4 }
 * shardMembers(10, spec);                      // [1, 5, 9]
 * const part = shardRequest(req, spec);        // the request of members 1, 5, 9
 */
import { createHash } from 'node:crypto';
import { InputError } from '../core/errors.js';
import { canonicalJson, configSha256, packageVersion } from '../io/result.js';
import type { Provenance } from '../io/result.js';
import type { EnsembleEngine, EnsembleRequest, EnsembleRunOptions } from '../ensemble/types.js';
import { buildEnsembleFile, type EnsembleFile, type EnsembleIdentity, type ShardInfo } from '../ensemble/output.js';

/** Which share: K of N. */
export interface ShardSpec {
  /** K, 0-based */
  index: number;
  /** N ≥ 1 */
  count: number;
}

/** The design of an ensemble: a grid, or a Latin hypercube with its seed. */
export interface Design {
  design: 'grid' | 'lhs';
  seed?: number;
}

/** The most shards of one ensemble (Slurm's default MaxArraySize is 1001). */
export const MAX_SHARDS = 100_000;

/**
 * Parse `K/N` (K = 0..N−1). Errors name the option: `--shard 4/4: K must be
 * 0..3 (K counts from 0, like $SLURM_ARRAY_TASK_ID)`.
 */
export function parseShard(text: string, option = '--shard'): ShardSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new InputError(`${option} ${text}: expected K/N, e.g. 0/4 (shard K of N, K = 0..N-1)`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > MAX_SHARDS) throw new InputError(`${option} ${text}: N must be 1..${MAX_SHARDS}`);
  if (index >= count) throw new InputError(`${option} ${text}: K must be 0..${count - 1} (K counts from 0, like $SLURM_ARRAY_TASK_ID)`);
  return { index, count };
}

/** The members of shard `spec` of an ensemble of `total`: K, K+N, K+2N, … below total. */
export function shardMembers(total: number, spec: ShardSpec): number[] {
  const out: number[] = [];
  for (let i = spec.index; i < total; i += spec.count) out.push(i);
  return out;
}

/** The request of one shard's members (same base, parameters, profiles and observations). */
export function shardRequest(req: EnsembleRequest, spec: ShardSpec): EnsembleRequest {
  const idx = shardMembers(req.values.length, spec);
  return { ...req, values: idx.map((i) => req.values[i]), members: idx.map((i) => req.members[i]) };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The identity of a whole ensemble: what two of its shards must share (the member protocols are not needed). */
export function ensembleIdentity(req: Omit<EnsembleRequest, 'members'>, design: Design): EnsembleIdentity {
  const id: EnsembleIdentity = {
    version: packageVersion(),
    config_sha256: configSha256(req.base),
    parameters: [...req.parameters],
    members: req.values.length,
    design: design.design,
    values_sha256: sha256(canonicalJson(req.values)),
    profiles: req.profiles,
  };
  if (design.seed !== undefined) id.seed = design.seed;
  if (req.observations) id.observations_sha256 = sha256(canonicalJson({ observations: req.observations, keepModel: !!req.keepModel }));
  return id;
}

/** The shard block of shard `spec` of the ensemble `identity`. */
export function shardInfo(identity: EnsembleIdentity, spec: ShardSpec): ShardInfo {
  return { index: spec.index, count: spec.count, members: shardMembers(identity.members, spec).length, rule: 'i mod N', ensemble: identity };
}

/** A shard's ensemble file: the file of its members with the shard block. */
export function withShard(file: EnsembleFile, identity: EnsembleIdentity, spec: ShardSpec): EnsembleFile {
  const info = shardInfo(identity, spec);
  if (info.members !== file.members.length)
    throw new Error(`shard ${spec.index}/${spec.count}: ${file.members.length} members in the file, ${info.members} expected`);
  return { ...file, shard: info };
}

/** The Slurm array job and task this process runs in, if any (for a shard's provenance). */
export function slurmTaskOf(env: Record<string, string | undefined>): { job_id: string; task_id: string } | undefined {
  const job = env.SLURM_ARRAY_JOB_ID;
  const task = env.SLURM_ARRAY_TASK_ID;
  return job && task ? { job_id: job, task_id: task } : undefined;
}

/**
 * Run a request on `engine` and build its ensemble file: the whole ensemble,
 * or with `shard` only that shard's members in member order with the shard
 * block naming the whole ensemble. `provenance` is asked for after the run
 * (a Slurm executor knows its job ids then). Progress events count the
 * members run; `finished.index` is the member's index in the whole ensemble.
 */
export async function runToFile(
  req: EnsembleRequest,
  design: Design,
  engine: EnsembleEngine,
  provenance: () => Provenance,
  opts: EnsembleRunOptions & { shard?: ShardSpec } = {},
): Promise<EnsembleFile> {
  const { shard, ...runOpts } = opts;
  if (!shard) {
    const res = await engine.run(req, runOpts);
    return buildEnsembleFile(req, res, provenance(), design);
  }
  return runPart(shardRequest(req, shard), ensembleIdentity(req, design), shard, design, engine, provenance, runOpts);
}

/**
 * Run the members of shard `spec` (`part`: the shard's request, e.g. from
 * shardRequest) of the ensemble `identity` and build the shard file.
 */
export async function runPart(
  part: EnsembleRequest,
  identity: EnsembleIdentity,
  spec: ShardSpec,
  design: Design,
  engine: EnsembleEngine,
  provenance: () => Provenance,
  opts: EnsembleRunOptions = {},
): Promise<EnsembleFile> {
  const idx = shardMembers(identity.members, spec);
  if (idx.length !== part.values.length) throw new Error(`shard ${spec.index}/${spec.count}: ${part.values.length} members given, ${idx.length} expected`);
  const onProgress = opts.onProgress;
  const res = await engine.run(part, {
    ...opts,
    onProgress: onProgress && ((p) => onProgress(p.finished ? { ...p, finished: { ...p.finished, index: idx[p.finished.index] } } : p)),
  });
  return withShard(buildEnsembleFile(part, res, provenance(), design), identity, spec);
}
