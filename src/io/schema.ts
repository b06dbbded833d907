/**
 * The result file `cait-result/1` (`cait simulate --out`, docs/formats.md
 * §2.1) as a zod schema: the one definition of its shape. Written by
 * src/io/result.ts (buildResultJson); its stage pieces (current record,
 * snapshots, balance, stats) are also those of an ensemble member's stage
 * (src/ensemble/schema.ts). Platform-neutral: the page may import it.
 *
 * The solver's own values (src/solver/types.ts: StageResult, GridInfo, …)
 * are the same shapes; the `…Agree` types below fail to compile when an
 * interface and its schema drift apart.
 */
import { z } from 'zod';
import { protocolSchema } from '../config/schema.js';
import type { Assert, Equal } from '../core/types.js';
import type { GridInfo, Snapshot, StageResult, StageStats } from '../solver/types.js';

export const RESULT_SCHEMA = 'cait-result/1';

const num = z.number();
const count = z.number().int().min(0);

const kindOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/**
 * A list of finite numbers (a profile, a current record), checked in one
 * loop: z.array(z.number()) checks each element as a schema of its own and
 * copies the list, ~10x slower on the profiles of a large ensemble. The
 * first element that is not a number is named by its index, in zod's words.
 */
export const numberList = z
  .custom<number[]>((v) => Array.isArray(v), { error: (iss) => `Invalid input: expected array, received ${kindOf(iss.input)}` })
  .superRefine((v, ctx) => {
    if (!Array.isArray(v)) return; // reported above
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (typeof x !== 'number' || !Number.isFinite(x)) {
        ctx.addIssue({ code: 'custom', path: [i], message: `Invalid input: expected number, received ${kindOf(x)}` });
        return;
      }
    }
  });
const nums = numberList;
/** per species: values on the cell centres */
export const densitySchema = z.record(z.string(), nums);

/** Where and when a file was made (docs/formats.md, "Provenance"). */
export const provenanceSchema = z.object({
  /** package version */
  version: z.string(),
  /** ISO 8601 date of the run */
  date: z.string(),
  config_sha256: z.string(),
  /** Node.js version (process.version) */
  node: z.string(),
  /** `${process.platform}-${process.arch}` */
  platform: z.string(),
});

export const snapshotSchema = z.object({ t_s: num, charge_C: num, density: densitySchema });

export const stageStatsSchema = z.object({ steps: count, rejected: count, newtonIterations: count, factorizations: count });

/** per species: ∫ n dx at the start and the end, what entered through the front and left through the back (n0·nm) */
export const balanceSchema = z.record(z.string(), z.object({ start: num, end: num, inFront: num, outBack: num }));

/** the current record: per accepted step, t since the stage began (s), currents (A), delivered charge (C) */
export const currentSchema = z.object({ t_s: nums, I_A: nums, I_back_A: nums, Q_C: nums });

export const resultStageSchema = z.object({
  name: z.string(),
  beam: z.string(),
  duration_s: num,
  charge_C: num,
  final_current_A: num,
  depth_nm: nums,
  density: densitySchema,
  potential_V: nums,
  current: currentSchema,
  snapshots: z.array(snapshotSchema),
  balance: balanceSchema,
  stats: stageStatsSchema,
});

export const gridInfoSchema = z.object({ cells: count, h_min_nm: num, h_max_nm: num, faces_nm: nums });

export const resultFileSchema = z.object({
  schema: z.literal(RESULT_SCHEMA),
  version: z.string(),
  provenance: provenanceSchema,
  /** the validated protocol, defaults filled in */
  config: protocolSchema,
  /** the species of the protocol, in its order (the order of the CSV columns) */
  species: z.array(z.string()),
  grid: gridInfoSchema,
  stages: z.array(resultStageSchema),
});

export type Provenance = z.infer<typeof provenanceSchema>;
/** A stage of the result file: every field of the solver's StageResult. */
export type ResultStage = z.infer<typeof resultStageSchema>;
export type ResultFile = z.infer<typeof resultFileSchema>;

export type SnapshotAgrees = Assert<Equal<z.infer<typeof snapshotSchema>, Snapshot>>;
export type StageStatsAgree = Assert<Equal<z.infer<typeof stageStatsSchema>, StageStats>>;
export type ResultStageAgrees = Assert<Equal<ResultStage, StageResult>>;
export type GridInfoAgrees = Assert<Equal<z.infer<typeof gridInfoSchema>, GridInfo>>;
