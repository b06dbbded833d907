/**
 * The result file `cait-result/1` and the per-stage CSV files.
 *
 * Result file (JSON):
 *   { schema: "cait-result/1", version, provenance, config, species, grid, stages: [...] }
 * with one entry per stage holding the final profiles (n/n0 on the cell
 * centres, depth in nm, every species of the protocol), the potential (V),
 * the current record (t in s, currents in A, delivered charge in C),
 * snapshots, the particle balance and the solver statistics.
 *
 * Its shape is defined once, as the zod schema resultFileSchema
 * (src/io/schema.ts).
 *
 * CSV files (per stage k = 1..N, comment lines start with `#`):
 *   <stem>_stage<k>.csv          depth_nm,<species...>   (n/n0)
 *   <stem>_stage<k>_current.csv  t_s,I_A,I_back_A,Q_C
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import type { Protocol } from '../config/schema.js';
import type { ProtocolResult, StageResult } from '../solver/types.js';
import { RESULT_SCHEMA, type Provenance, type ResultFile } from './schema.js';
import { writeFilesAtomic, type OutputFile } from './atomic.js';
import { canonicalJson } from './canonical.js';
import { compactJson } from '../core/json.js';

export { RESULT_SCHEMA };
/** The file's shape is its zod schema (src/io/schema.ts). */
export type { Provenance, ResultFile, ResultStage } from './schema.js';
const PACKAGE_NAME = 'cait-ensemble';

let cachedVersion: string | undefined;

/** The package version, read once from package.json (found upwards from this file, so it works from src/ and dist/src/). */
export function packageVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  cachedVersion = '0.0.0-unknown';
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      try {
        const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === PACKAGE_NAME && typeof pkg.version === 'string') {
          cachedVersion = pkg.version;
          break;
        }
      } catch {
        /* keep looking */
      }
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return cachedVersion;
}

export { canonicalJson };

/** sha256 (hex) of the canonical JSON of the validated protocol. */
export function configSha256(protocol: Protocol): string {
  return createHash('sha256').update(canonicalJson(protocol)).digest('hex');
}

export function makeProvenance(protocol: Protocol, date: Date = new Date()): Provenance {
  return {
    version: packageVersion(),
    date: date.toISOString(),
    config_sha256: configSha256(protocol),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

/** Species of the protocol in its declared order. */
export function protocolSpecies(protocol: Protocol): string[] {
  return Object.keys(protocol.species);
}

/** Every species of the protocol, in protocol order; a species the solver left out is all zeros. */
function fullDensity(species: string[], density: Record<string, number[]>, cells: number): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const s of species) out[s] = density[s] ? Array.from(density[s]) : new Array<number>(cells).fill(0);
  return out;
}

/** The `cait-result/1` object of a run. */
export function buildResultJson(
  protocol: Protocol,
  result: ProtocolResult,
  provenance: Provenance = makeProvenance(protocol),
): ResultFile {
  const species = protocolSpecies(protocol);
  return {
    schema: RESULT_SCHEMA,
    version: provenance.version,
    provenance,
    config: protocol,
    species,
    grid: result.grid,
    stages: result.stages.map((st) => ({
      name: st.name,
      beam: st.beam,
      duration_s: st.duration_s,
      charge_C: st.charge_C,
      final_current_A: st.final_current_A,
      depth_nm: Array.from(st.depth_nm),
      density: fullDensity(species, st.density, st.depth_nm.length),
      potential_V: Array.from(st.potential_V),
      current: {
        t_s: Array.from(st.current.t_s),
        I_A: Array.from(st.current.I_A),
        I_back_A: Array.from(st.current.I_back_A),
        Q_C: Array.from(st.current.Q_C),
      },
      snapshots: st.snapshots.map((s) => ({
        t_s: s.t_s,
        charge_C: s.charge_C,
        density: fullDensity(species, s.density, st.depth_nm.length),
      })),
      balance: st.balance,
      stats: st.stats,
    })),
  };
}

/** JSON text of a result (src/core/json.ts: profiles on one line, NaN and ±Infinity as null), with a final newline. */
export function resultJsonText(value: unknown): string {
  return compactJson(value) + '\n';
}

/** Write a result file atomically. */
export function writeResultJson(path: string, file: ResultFile): void {
  writeFilesAtomic([{ path, data: resultJsonText(file) }]);
}

/** A number as CSV text: String() is the shortest form that round-trips exactly. */
function num(x: number): string {
  return String(x);
}

function csvHeader(prov: Provenance, protocol: Protocol, st: StageResult, k: number, n: number): string[] {
  return [
    `# cait-ensemble ${prov.version}`,
    `# config sha256 ${prov.config_sha256}`,
    `# date ${prov.date}`,
    `# protocol: ${JSON.stringify(protocol.name)}`,
    `# stage ${k}/${n}: name ${JSON.stringify(st.name)}, beam ${st.beam}, duration_s ${num(st.duration_s)}, charge_C ${num(st.charge_C)}`,
  ];
}

/** Profile CSV of stage k (1-based): depth_nm and n/n0 of every species. */
export function stageProfileCsv(protocol: Protocol, result: ProtocolResult, k: number, prov: Provenance): string {
  const st = result.stages[k - 1];
  const species = protocolSpecies(protocol);
  const dens = fullDensity(species, st.density, st.depth_nm.length);
  const lines = csvHeader(prov, protocol, st, k, result.stages.length);
  lines.push(
    `# units: depth_nm = depth of the cell centre below the irradiated surface in nm; ${species.join(', ')} = number density n/n0 (n0 = ${num(protocol.sample.n0_m3)} m^-3)`,
  );
  lines.push(['depth_nm', ...species].join(','));
  for (let i = 0; i < st.depth_nm.length; i++) {
    lines.push([num(st.depth_nm[i]), ...species.map((s) => num(dens[s][i]))].join(','));
  }
  return lines.join('\n') + '\n';
}

/** Current CSV of stage k (1-based): time, front and back currents, delivered charge. */
export function stageCurrentCsv(protocol: Protocol, result: ProtocolResult, k: number, prov: Provenance): string {
  const st = result.stages[k - 1];
  const c = st.current;
  const lines = csvHeader(prov, protocol, st, k, result.stages.length);
  lines.push(
    '# units: t_s = time since the stage began in s; I_A = current through the irradiated surface in A; I_back_A = current through the back electrode in A; Q_C = delivered charge in C',
  );
  lines.push('t_s,I_A,I_back_A,Q_C');
  for (let i = 0; i < c.t_s.length; i++) lines.push([c.t_s[i], c.I_A[i], c.I_back_A[i], c.Q_C[i]].map(num).join(','));
  return lines.join('\n') + '\n';
}

/** The CSV paths of stage k (1-based). */
export function csvPaths(dir: string, stem: string, k: number): { profile: string; current: string } {
  return { profile: join(dir, `${stem}_stage${k}.csv`), current: join(dir, `${stem}_stage${k}_current.csv`) };
}

/** All CSV outputs of a run (two per stage), ready for writeFilesAtomic. */
export function csvOutputs(dir: string, stem: string, protocol: Protocol, result: ProtocolResult, prov: Provenance): OutputFile[] {
  const out: OutputFile[] = [];
  for (let k = 1; k <= result.stages.length; k++) {
    const p = csvPaths(dir, stem, k);
    out.push({ path: p.profile, data: stageProfileCsv(protocol, result, k, prov) });
    out.push({ path: p.current, data: stageCurrentCsv(protocol, result, k, prov) });
  }
  return out;
}

/** Write all CSV files of a run atomically (all or none). */
export function writeCsvs(dir: string, stem: string, protocol: Protocol, result: ProtocolResult, prov: Provenance): string[] {
  const files = csvOutputs(dir, stem, protocol, result, prov);
  writeFilesAtomic(files);
  return files.map((f) => f.path);
}

/**
 * Depth (nm) where a profile first crosses `level`, scanning from the
 * surface, linearly interpolated between cell centres; NaN if it never does.
 * For the native species after a stage this is the exchange front (Li+
 * rising through 0.5 n0).
 */
export function crossingDepth(depth_nm: ArrayLike<number>, n: ArrayLike<number>, level = 0.5): number {
  for (let i = 1; i < n.length; i++) {
    const a = n[i - 1] - level;
    const b = n[i] - level;
    if (a === 0) return depth_nm[i - 1];
    if ((a < 0 && b >= 0) || (a > 0 && b <= 0)) {
      return depth_nm[i - 1] + ((depth_nm[i] - depth_nm[i - 1]) * a) / (a - b);
    }
  }
  return NaN;
}
