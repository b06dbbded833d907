/**
 * The outputs of a fit (platform-neutral): the `cait-fit/1` file and its CSV
 * exports, each CSV with `#` comment lines giving provenance and units like
 * the ensemble CSV.
 *
 *   members.csv       one row per evaluated member: parameters, source, status,
 *                     reason, residual, per observation and species the SSR part
 *   best_fit_<k>.csv  observation k: depth_nm, per species measured and model (n/n0)
 *   sensitivity_<k>.csv  observation k: depth_nm, d model / d ln p per parameter and species
 *   map_<a>_<b>.csv   a residual map: x, y, residual, delta_chi2 (long format)
 *
 * @example
 * const file = buildFitFile(outcome, { version, date, config_sha256, node, platform }, 'cait fit …');
 * const csv = membersCsv(file);
 */
import { FIT_SCHEMA, type FitFile, type FitProvenance } from './schema.js';
import type { FitOutcome } from './fit.js';
import type { ResidualMap } from './map.js';

/** The provenance a caller supplies (version, date, sha256 of the base; Node adds node and platform). */
export interface ProvenanceBase {
  version: string;
  date: string;
  config_sha256: string;
  node?: string;
  platform?: string;
}

/** The cait-fit/1 object of a fit outcome (engine, adapter and wall time go into the provenance). */
export function buildFitFile(
  outcome: FitOutcome,
  prov: ProvenanceBase,
  command?: string,
): FitFile {
  const provenance: FitProvenance = {
    software: 'cait-ensemble',
    version: prov.version,
    date: prov.date,
    config_sha256: prov.config_sha256,
    engine: outcome.engine,
    adapter: outcome.adapter,
    wall_s: outcome.wall_s,
  };
  if (prov.node) provenance.node = prov.node;
  if (prov.platform) provenance.platform = prov.platform;
  if (command) provenance.command = command;
  const { engine: _e, adapter: _a, wall_s: _w, warnings, phases, residuals_source, ...rest } = outcome;
  return { schema: FIT_SCHEMA, provenance, ...rest, warnings, phases, residuals_source };
}

function field(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const s = String(v);
  return /[",\n\r]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

function header(file: FitFile, what: string): string[] {
  const p = file.provenance;
  return [
    `# cait-fit/1 ${what}: cait-ensemble ${p.version}`,
    `# date ${p.date}`,
    `# base protocol ${JSON.stringify(file.base.name)}, config sha256 ${p.config_sha256}`,
    `# engine ${p.engine}: ${p.adapter}; wall time ${p.wall_s.toFixed(3)} s${p.node ? `; node ${p.node}, ${p.platform}` : ''}`,
    ...(p.command ? [`# command ${p.command}`] : []),
    `# parameters (units of their path: _m2s = m^2/s, _eV = eV, _K = K, _V = V, _nm = nm): ${file.parameters.join(', ')}`,
    `# observations: ${file.measured.observations.map((o, k) => `${k + 1} = ${o.label} after stage ${o.stage + 1} (${o.species.join(', ')}; window ${o.window_nm[0]}-${o.window_nm[1]} nm)`).join('; ')}`,
  ];
}

/** One row per evaluated member: index, parameters, source, status, reason, residual, parts (obs<k>_<species>). */
export function membersCsv(file: FitFile): string {
  const obs = file.measured.observations;
  const partCols = obs.flatMap((o, k) => o.species.map((sp) => [k, sp] as const));
  const lines = [
    ...header(file, 'members'),
    `# residual = sum over observations and species of w_s * sum over points (model - measured)^2 (n/n0 squared); obs<k>_<species> = that observation's part; empty for a failed member`,
    `# noise s2 = ${file.noise.s2} (best residual / (${file.noise.points} points - parameters) = / ${file.noise.dof}); chi2 = residual / s2`,
    ['member', ...file.parameters, 'source', 'status', 'reason', 'residual', 'chi2', ...partCols.map(([k, sp]) => `obs${k + 1}_${sp}`)].map(field).join(','),
  ];
  file.members.forEach((m, i) => {
    const chi2 = m.residual !== null && file.noise.s2 > 0 ? m.residual / file.noise.s2 : null;
    lines.push(
      [i, ...m.values, m.source, m.status, m.reason, m.residual, chi2, ...partCols.map(([k, sp]) => m.parts?.[k]?.[sp])].map(field).join(','),
    );
  });
  return lines.join('\n') + '\n';
}

/** Observation k: depth_nm, then <species>_measured and <species>_model (n/n0) of the best member. */
export function bestFitCsv(file: FitFile, k: number): string {
  const o = file.measured.observations[k];
  const model = file.best.model[k] ?? {};
  const lines = [
    ...header(file, `best fit, observation ${k + 1}`),
    `# best member ${file.best.member}: ${file.parameters.map((p, j) => `${p} = ${file.best.values[j]}`).join(', ')}; residual ${file.best.residual}`,
    `# depth_nm = measured depth in nm; <species>_measured = measured normalized density; <species>_model = simulated n/n0 seen through the depth resolution ${JSON.stringify(o.resolution)}`,
    ['depth_nm', ...o.species.flatMap((sp) => [`${sp}_measured`, `${sp}_model`])].join(','),
  ];
  o.depth_nm.forEach((x, i) => lines.push([x, ...o.species.flatMap((sp) => [o.target[sp][i], model[sp]?.[i]])].map(field).join(',')));
  return lines.join('\n') + '\n';
}

/** Observation k: depth_nm, then d<species>_dln_<parameter> for every parameter and species; undefined without sensitivity. */
export function sensitivityCsv(file: FitFile, k: number): string | undefined {
  const sens = file.sensitivity;
  if (!sens?.length) return undefined;
  const o = file.measured.observations[k];
  const cols = sens.flatMap((s) => o.species.map((sp) => ({ s, sp })));
  const lines = [
    ...header(file, `sensitivity, observation ${k + 1}`),
    `# d model / d ln p by central differences of ±${sens[0].step * 100} % around the best member (${file.parameters.map((p, j) => `${p} = ${file.best.values[j]}`).join(', ')})`,
    `# columns d<species>_dln_<parameter>: change of n/n0 (at the measured depth, through the depth resolution) per e-fold of the parameter; RMS: ${sens.map((s) => `${s.path} ${s.rms}`).join(', ')}`,
    ['depth_nm', ...cols.map(({ s, sp }) => `d${sp}_dln_${s.path}`)].join(','),
  ];
  o.depth_nm.forEach((x, i) => lines.push([x, ...cols.map(({ s, sp }) => s.derivative[k]?.[sp]?.[i])].map(field).join(',')));
  return lines.join('\n') + '\n';
}

/** A residual map in long format: x, y, residual, delta_chi2 (= (residual − best residual of the fit) / s2). */
export function mapCsv(file: FitFile, map: ResidualMap): string {
  const lines = [
    ...header(file, `residual map ${map.x.path} x ${map.y.path}`),
    map.mode === 'fixed'
      ? `# the other parameters fixed at the best grid member: ${Object.entries(map.fixed).map(([p, v]) => `${p} = ${v}`).join(', ') || '(none)'}`
      : '# the other parameters minimised over (a profile map over the grid members)',
    `# delta_chi2 = (residual - ${file.best.residual}) / s2, s2 = ${file.noise.s2}; empty residual: failed member`,
    [map.x.path, map.y.path, 'residual', 'delta_chi2'].join(','),
  ];
  map.z.forEach((row, iy) =>
    row.forEach((v, ix) => {
      const d = v !== null && file.noise.s2 > 0 ? (v - file.best.residual) / file.noise.s2 : null;
      lines.push([map.x.values[ix], map.y.values[iy], v, d].map(field).join(','));
    }),
  );
  return lines.join('\n') + '\n';
}

/** A short name of a parameter path for file names and labels: its last two segments (`Cs.D_m2s`). */
export function shortPath(path: string): string {
  return path.split('.').slice(-2).join('.');
}
