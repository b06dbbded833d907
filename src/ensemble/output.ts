/**
 * The ensemble result file `cait-ensemble/1` and its compact CSV export,
 * built as text (no Node imports: the writing, atomic and all-or-nothing, is
 * in write.ts).
 *
 * JSON:
 *   { schema: "cait-ensemble/1", version, provenance: {version, date,
 *     config_sha256 (of the base), node, platform, engine, adapter, wall_s},
 *     engine, adapter, profiles, design, seed?, base: <protocol>,
 *     parameters: [paths], species: [...], counts: {members, ok, failed},
 *     members: [ { values: [...], status: "ok"|"failed", reason?, cells,
 *                  wall_s, stages: [ <MemberStage> ] } ] }
 * A member stage has the fields of a `cait-result/1` stage that its
 * profiles level keeps (none: name, beam, duration_s, charge_C,
 * final_current_A, balance, stats; final: + depth_nm, density, potential_V;
 * all: + current, snapshots) and the scalar summary (front_nm, max, mean;
 * see summary.ts). NaN and ±Infinity are written as null.
 *
 * A shard (`cait ensemble --shard K/N`, or one task of a Slurm array) holds
 * only its share of the members, those with index i ≡ K (mod N), in member
 * order, and a top-level `shard` block: K, N and the identity of the whole
 * ensemble (src/cluster/shard.ts; `cait merge` joins shards). Files of a
 * fit's batches also keep each member's `residuals`.
 *
 * CSV: one row per member; columns `member`, the parameter paths, `status`,
 * `reason`, `cells`, `wall_s`, then per stage k = 1..N the summary as
 * `s<k>_<field>` (see {@link csvColumns}); `#` comment lines first.
 *
 * The JSON's shape is defined once, as the zod schema ensembleFileSchema
 * (schema.ts).
 */
import type { Provenance } from '../io/schema.js';
import type { EnsembleRequest, EnsembleResult, MemberStage, ProfilesLevel } from './types.js';
import { compactJson } from '../core/json.js';
import { ENSEMBLE_SCHEMA, type EnsembleFile, type EnsembleProvenance, type MemberEntry } from './schema.js';

export { ENSEMBLE_SCHEMA };
export const ENSEMBLE_CSV_SCHEMA = 'cait-ensemble-csv/1';

/** The file's shape is its zod schema (schema.ts): these types are inferred from it. */
export type { EnsembleFile, EnsembleIdentity, EnsembleProvenance, ExecutorRecord, MemberEntry, ShardInfo, ShardRecord } from './schema.js';

/** The index in the whole ensemble of a file's i-th member (a shard holds every count-th member from its index). */
export function memberIndex(file: Pick<EnsembleFile, 'shard'>, i: number): number {
  return file.shard ? file.shard.index + i * file.shard.count : i;
}

const PROFILE_KEYS: Record<ProfilesLevel, readonly (keyof MemberStage)[]> = {
  none: [],
  final: ['depth_nm', 'density', 'potential_V'],
  all: ['depth_nm', 'density', 'potential_V', 'current', 'snapshots'],
};
const ALL_PROFILE_KEYS = PROFILE_KEYS.all;

/** A member stage with exactly the profile fields of `level` (those the engine kept beyond it are dropped). */
export function stageAtLevel(st: MemberStage, level: ProfilesLevel): MemberStage {
  const keep = new Set<keyof MemberStage>(PROFILE_KEYS[level]);
  const out = { ...st };
  for (const k of ALL_PROFILE_KEYS) if (!keep.has(k)) delete out[k];
  return out;
}

/**
 * The `cait-ensemble/1` object of a run.
 *
 * @example
 * const file = buildEnsembleFile(req, res, makeProvenance(req.base), { design: grid.design, seed: grid.seed });
 * file.counts; // { members: 3, ok: 3, failed: 0 }
 */
export function buildEnsembleFile(
  req: EnsembleRequest,
  result: EnsembleResult,
  provenance: Provenance,
  design: { design: 'grid' | 'lhs'; seed?: number; sweep?: EnsembleProvenance['sweep']; command?: string } = { design: 'grid' },
): EnsembleFile {
  const members: MemberEntry[] = result.members.map((m) => {
    const e = { values: [...m.values], status: m.status } as MemberEntry;
    if (m.reason !== undefined) e.reason = m.reason;
    e.cells = m.cells;
    e.wall_s = m.wall_s;
    e.stages = m.status === 'ok' ? m.stages.map((s) => stageAtLevel(s, req.profiles)) : [];
    if (m.residuals !== undefined) e.residuals = m.residuals;
    return e;
  });
  const ok = members.filter((m) => m.status === 'ok').length;
  const file: EnsembleFile = {
    schema: ENSEMBLE_SCHEMA,
    version: provenance.version,
    provenance: { ...provenance, engine: result.engine, adapter: result.adapter, wall_s: result.wall_s },
    engine: result.engine,
    adapter: result.adapter,
    profiles: req.profiles,
    design: design.design,
    base: req.base,
    parameters: [...req.parameters],
    species: Object.keys(req.base.species),
    counts: { members: members.length, ok, failed: members.length - ok },
    members,
  };
  if (design.seed !== undefined) file.seed = design.seed;
  if (design.sweep) file.provenance.sweep = design.sweep;
  if (design.command) file.provenance.command = design.command;
  return file;
}

// ---- JSON text ----------------------------------------------------------------------------------

/**
 * The JSON text of an ensemble file as pieces (the head, one per member, the
 * tail), so that a large ensemble never has to be one string.
 */
export function ensembleJsonChunks(file: EnsembleFile): string[] {
  const { members, ...head } = file;
  // the head is a multi-line object (it holds the base protocol): reopen it before its closing "\n}"
  const open = compactJson(head, '').slice(0, -2);
  if (members.length === 0) return [open + ',\n  "members": []\n}\n'];
  const chunks = [open + ',\n  "members": [\n'];
  members.forEach((m, i) => chunks.push('    ' + compactJson(m, '    ') + (i < members.length - 1 ? ',\n' : '\n')));
  chunks.push('  ]\n}\n');
  return chunks;
}

/** The JSON text of an ensemble file. */
export function ensembleJsonText(file: EnsembleFile): string {
  return ensembleJsonChunks(file).join('');
}

// ---- CSV --------------------------------------------------------------------------------------------

/** A CSV field: numbers in their shortest exact form, null/undefined/NaN empty, text quoted when needed. */
export function field(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const s = String(v);
  return /[",\n\r]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The per-stage columns (without the `s<k>_` prefix), for species `species`. */
export function stageColumns(species: readonly string[]): string[] {
  return [
    'duration_s',
    'charge_C',
    'final_current_A',
    'steps',
    ...species.map((s) => `front_${s}_nm`),
    ...species.flatMap((s) => [`max_${s}`, `max_${s}_depth_nm`]),
    'mean_from_nm',
    'mean_to_nm',
    ...species.map((s) => `mean_${s}`),
  ];
}

/** The CSV header: member, parameter paths, status, reason, cells, wall_s, then s<k>_<stage column> for k = 1..stages. */
export function csvColumns(parameters: readonly string[], species: readonly string[], stages: number): string[] {
  const per = stageColumns(species);
  const cols = ['member', ...parameters, 'status', 'reason', 'cells', 'wall_s'];
  for (let k = 1; k <= stages; k++) cols.push(...per.map((c) => `s${k}_${c}`));
  return cols;
}

function stageCells(st: MemberStage | undefined, species: readonly string[]): unknown[] {
  if (!st) return stageColumns(species).map(() => null);
  return [
    st.duration_s,
    st.charge_C,
    st.final_current_A,
    st.stats?.steps,
    ...species.map((s) => st.front_nm[s]),
    ...species.flatMap((s) => [st.max[s]?.value, st.max[s]?.depth_nm]),
    st.mean?.from_nm,
    st.mean?.to_nm,
    ...species.map((s) => st.mean?.density[s]),
  ];
}

/**
 * The compact CSV of an ensemble: one row per member (in member order),
 * empty cells where a value is undefined (a failed member's stages, a front
 * that does not exist). Comment lines (`#`) give the schema, version,
 * provenance, design and the unit of every column.
 */
export function ensembleCsv(file: EnsembleFile): string {
  const species = file.species;
  const nStages = file.base.stages.length;
  const p = file.provenance;
  const lines = [
    `# ${ENSEMBLE_CSV_SCHEMA}: cait-ensemble ${file.version}, one row per member of a ${file.design === 'lhs' ? `Latin hypercube (seed ${file.seed})` : 'grid'}`,
    `# date ${p.date}`,
    `# base protocol ${JSON.stringify(file.base.name)}, config sha256 ${p.config_sha256}`,
    `# engine ${file.engine}: ${file.adapter}; wall time ${p.wall_s.toFixed(3)} s; node ${p.node}, ${p.platform}`,
    `# members ${file.counts.members}: ${file.counts.ok} ok, ${file.counts.failed} failed`,
    ...(file.shard ? [`# shard ${file.shard.index}/${file.shard.count} of ${file.shard.ensemble.members} members (member i is in shard i mod ${file.shard.count}; the member column is i)`] : []),
    `# stages: ${file.base.stages.map((s, k) => `s${k + 1} = ${JSON.stringify(s.name)} (beam ${s.beam})`).join('; ')}`,
    '# units: parameter columns in the units of their path (see the protocol schema); cells = grid cells; wall_s = wall time of the member in s;',
    '#   s<k>_duration_s in s; s<k>_charge_C = delivered charge in C; s<k>_final_current_A = current through the surface at the end in A; s<k>_steps = accepted time steps;',
    '#   s<k>_front_<species>_nm = depth in nm where n/n0 crosses 0.5 (native species rising, foreign species falling; empty if it does not);',
    '#   s<k>_max_<species> = maximum n/n0 of the profile blurred by a 1 nm Gaussian over 2-150 nm, s<k>_max_<species>_depth_nm its depth in nm;',
    '#   s<k>_mean_<species> = mean n/n0 between s<k>_mean_from_nm and s<k>_mean_to_nm (2 nm to the native front - 5 nm), in nm',
    csvColumns(file.parameters, species, nStages).join(','),
  ];
  file.members.forEach((m, i) => {
    const row: unknown[] = [memberIndex(file, i), ...m.values, m.status, m.reason, m.cells, m.wall_s];
    for (let k = 0; k < nStages; k++) row.push(...stageCells(m.stages[k], species));
    lines.push(row.map(field).join(','));
  });
  return lines.join('\n') + '\n';
}
