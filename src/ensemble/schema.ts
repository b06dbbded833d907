/**
 * The ensemble file `cait-ensemble/1` (`cait ensemble --out`, `cait merge`,
 * `cait run-shard`, `cait headless`, the page's download; docs/formats.md
 * §3.1) as a zod schema: the one definition of its shape. output.ts builds
 * it (its types are inferred here), `cait merge` (src/cluster/merge.ts) and
 * the page (src/web/data.ts) check a file they read with it.
 * Platform-neutral.
 *
 * A member stage is a `cait-result/1` stage's scalars (src/io/schema.ts)
 * plus the summary (summary.ts), with the profile fields its `profiles`
 * level keeps. The engine interface's own types (types.ts MemberStage,
 * summary.ts StageSummary, observe/ ObservationResidual) are the same
 * shapes; the `…Agree` types fail to compile when they drift apart.
 */
import { z } from 'zod';
import { protocolSchema } from '../config/schema.js';
import type { Assert, Equal } from '../core/types.js';
import {
  balanceSchema,
  currentSchema,
  numberList as nums,
  densitySchema,
  provenanceSchema,
  snapshotSchema,
  stageStatsSchema,
} from '../io/schema.js';
import type { ObservationResidual } from '../observe/observe.js';
import type { StageSummary } from './summary.js';
import type { MemberStage, ProfilesLevel } from './types.js';

export const ENSEMBLE_SCHEMA = 'cait-ensemble/1';

const num = z.number();
const count = z.number().int().min(0);

export const profilesLevelSchema = z.enum(['none', 'final', 'all']);
export const designSchema = z.enum(['grid', 'lhs']);

/** The scalar summary of a stage (summary.ts); null: no front, maximum or mean composition. */
export const stageSummarySchema = z.object({
  name: z.string(),
  beam: z.string(),
  duration_s: num,
  charge_C: num,
  final_current_A: num,
  front_nm: z.record(z.string(), num.nullable()),
  max: z.record(z.string(), z.object({ value: num, depth_nm: num }).nullable()),
  mean: z.object({ from_nm: num, to_nm: num, density: z.record(z.string(), num) }).nullable(),
});

/** One stage of a member: the summary, stats and balance, and the profile fields of its `profiles` level. */
export const memberStageSchema = stageSummarySchema.extend({
  stats: stageStatsSchema,
  balance: balanceSchema,
  /** `final`, `all` */
  depth_nm: nums.optional(),
  density: densitySchema.optional(),
  potential_V: nums.optional(),
  /** `all` */
  current: currentSchema.optional(),
  snapshots: z.array(snapshotSchema).optional(),
});

/** A member's residual against one measured observation (a fit's batch; src/observe/observe.ts). */
export const observationResidualSchema = z.object({
  ssr: num,
  parts: z.record(z.string(), num),
  points: count,
  model: z.record(z.string(), nums).optional(),
});

export const memberEntrySchema = z.object({
  /** the member's values of `parameters` */
  values: nums,
  status: z.enum(['ok', 'failed']),
  reason: z.string().optional(),
  /** cells of the member's grid (0 if it failed before the grid existed) */
  cells: count,
  /** wall time of the member, s */
  wall_s: num,
  /** one per stage for an ok member, empty for a failed one */
  stages: z.array(memberStageSchema),
  /** a fit's batch (request with observations): the member's residual per observation */
  residuals: z.array(observationResidualSchema).optional(),
});

/** The Slurm job arrays that ran an ensemble or a fit's batches (`--executor slurm`). */
export const executorRecordSchema = z.object({
  kind: z.literal('slurm'),
  /** one per engine batch (an ensemble: one; a fit: grid, refinement rounds, intervals, sensitivity) */
  jobs: z.array(z.object({ job_id: z.string(), tasks: count, members: count, failed_tasks: z.array(count), dir: z.string() })),
  /** the sbatch options of --slurm-opt, as given */
  sbatch_options: z.array(z.string()),
  /** the job template: `default` or the file of --slurm-template */
  template: z.string(),
});

const slurmTaskSchema = z.object({ job_id: z.string(), task_id: z.string() });

/** Where a shard ran, as its merged file records it. */
export const shardRecordSchema = z.object({
  index: count,
  date: z.string(),
  wall_s: num,
  adapter: z.string(),
  node: z.string(),
  platform: z.string(),
  /** the Slurm array job and task that ran it, if any */
  slurm: slurmTaskSchema.optional(),
});

/** The provenance of a result file plus what ran the ensemble. */
export const ensembleProvenanceSchema = provenanceSchema.extend({
  engine: z.string(),
  adapter: z.string(),
  /** wall time of the whole ensemble, s (of a merged file: the sum of its shards' wall times) */
  wall_s: num,
  /** the command line that made the file */
  command: z.string().optional(),
  /** what was swept, as `--vary` spells it (PATH=a,b,c | PATH=lo:hi:N[:log]; LHS ranges PATH=lo:hi[:log]), the LHS sample and the sweep file, if any */
  sweep: z
    .object({
      vary: z.array(z.string()),
      sample: z.object({ method: z.literal('lhs'), n: count, seed: num }).optional(),
      file: z.string().optional(),
    })
    .optional(),
  /** --executor slurm: the job array that ran it */
  executor: executorRecordSchema.optional(),
  /** a merged file (`cait merge`): where each shard ran */
  shards: z.array(shardRecordSchema).optional(),
  /** a shard run by a Slurm array task: its job and task */
  slurm: slurmTaskSchema.optional(),
});

/** What makes two shards parts of the same ensemble (src/cluster/shard.ts computes it; `cait merge` compares it). */
export const ensembleIdentitySchema = z.object({
  /** package version that ran it */
  version: z.string(),
  /** sha256 of the base protocol's canonical JSON */
  config_sha256: z.string(),
  parameters: z.array(z.string()),
  /** members of the whole ensemble */
  members: count,
  design: designSchema,
  seed: num.optional(),
  /** sha256 of the canonical JSON of the whole member × parameter value table */
  values_sha256: z.string(),
  profiles: profilesLevelSchema,
  /** a fit's batch: sha256 of the canonical JSON of the measured observations */
  observations_sha256: z.string().optional(),
});

/** The `shard` block of a shard file: member i of the ensemble is in shard i mod count. */
export const shardInfoSchema = z
  .object({
    /** K, 0-based */
    index: count,
    /** N */
    count: z.number().int().min(1),
    /** members in this shard */
    members: count,
    rule: z.literal('i mod N'),
    ensemble: ensembleIdentitySchema,
  })
  .refine((s) => s.index < s.count, { message: 'expected index < count', path: ['index'] });

export const ensembleFileSchema = z
  .object({
    schema: z.literal(ENSEMBLE_SCHEMA),
    version: z.string(),
    provenance: ensembleProvenanceSchema,
    engine: z.string(),
    adapter: z.string(),
    profiles: profilesLevelSchema,
    /** `grid` (cartesian product of the --vary values) or `lhs` (Latin hypercube) */
    design: designSchema,
    /** PRNG seed of an LHS design */
    seed: num.optional(),
    base: protocolSchema,
    parameters: z.array(z.string()),
    /** species of the base protocol, in its order */
    species: z.array(z.string()),
    counts: z.object({ members: count, ok: count, failed: count }),
    members: z.array(memberEntrySchema),
    /** a shard: which share of which ensemble (absent in a whole or merged ensemble) */
    shard: shardInfoSchema.optional(),
  })
  .superRefine((f, ctx) => {
    const P = f.parameters.length;
    let ok = 0;
    f.members.forEach((m, i) => {
      if (m.values.length !== P) ctx.addIssue({ code: 'custom', path: ['members', i, 'values'], message: `expected ${P} values (one per parameter), got ${m.values.length}` });
      if (m.status === 'ok') ok++;
    });
    const counts = { members: f.members.length, ok, failed: f.members.length - ok };
    for (const k of ['members', 'ok', 'failed'] as const)
      if (f.counts[k] !== counts[k]) ctx.addIssue({ code: 'custom', path: ['counts', k], message: `expected ${counts[k]} (counted in members), got ${f.counts[k]}` });
  });

export type ExecutorRecord = z.infer<typeof executorRecordSchema>;
export type ShardRecord = z.infer<typeof shardRecordSchema>;
export type EnsembleProvenance = z.infer<typeof ensembleProvenanceSchema>;
export type EnsembleIdentity = z.infer<typeof ensembleIdentitySchema>;
export type ShardInfo = z.infer<typeof shardInfoSchema>;
export type MemberEntry = z.infer<typeof memberEntrySchema>;
export type EnsembleFile = z.infer<typeof ensembleFileSchema>;

export type StageSummaryAgrees = Assert<Equal<z.infer<typeof stageSummarySchema>, StageSummary>>;
export type MemberStageAgrees = Assert<Equal<z.infer<typeof memberStageSchema>, MemberStage>>;
export type ProfilesLevelAgrees = Assert<Equal<z.infer<typeof profilesLevelSchema>, ProfilesLevel>>;
export type ObservationResidualAgrees = Assert<Equal<z.infer<typeof observationResidualSchema>, ObservationResidual>>;
