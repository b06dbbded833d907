/**
 * The CSV exports of a sensitivity study (platform-neutral text; `#`
 * comment lines first with schema, version, provenance and units, like the
 * ensemble CSV):
 *
 *   samples.csv        one row per run: run, its place in the design, the parameter values
 *                      (Sobol': row, block A | AB_i | BA_i | B, in SALib's order, so samples.csv
 *                      and outputs.csv load straight into SALib's sobol.analyze; Morris:
 *                      trajectory, step, the parameter moved)
 *   outputs.csv        one row per run: run, status, reason, every scalar output
 *   indices.csv        one row per output and parameter: S1, S1_conf, ST, ST_conf
 *                      (Morris: mu, mu_star, mu_star_conf, sigma, effects)
 *   s2.csv             second-order indices: output, parameter_i, parameter_j, S2, S2_conf
 *   depth_indices.csv  one row per stage, species, depth and parameter: the profile's mean
 *                      and SD over the runs and the indices at that depth
 */
import { field } from '../ensemble/output.js';
import type { GsaFile } from './schema.js';
import type { Design, Evaluated } from './study.js';
import { saltelliRun } from './sobol.js';

function head(file: GsaFile, what: string): string[] {
  const p = file.provenance;
  const model = file.model.kind === 'protocol' ? `protocol ${JSON.stringify(file.model.base.name)}, config sha256 ${p.config_sha256 ?? '-'}` : `test function ${file.model.name} ${JSON.stringify(file.model.constants)}`;
  return [
    `# cait-gsa ${file.version}: ${what}`,
    `# date ${p.date}; ${model}`,
    `# method ${file.method}, ${file.method === 'sobol' ? `N = ${file.N} base samples` : `r = ${file.N} trajectories`}, ${file.runs} runs, seed ${file.seed}; engine ${p.engine}: ${p.adapter}; wall time ${p.wall_s.toFixed(3)} s`,
    `# parameters: ${file.parameters.map((q) => `${q.path} in [${q.lo}, ${q.hi}] (${q.scale})`).join('; ')}`,
  ];
}

const rowOf = (cells: unknown[]) => cells.map(field).join(',');

/** samples.csv: where each run sits in the design and its parameter values. */
export function samplesCsv(file: GsaFile, design: Design, values: readonly number[][]): string {
  const lines = head(file, 'the runs of the design, one row per run');
  const paths = file.parameters.map((p) => p.path);
  if (design.method === 'sobol') {
    lines.push("# row = base sample (0-based); block: A, AB_i (A with parameter i from B), BA_i (B with parameter i from A), B; values in the units of their path");
    lines.push(rowOf(['run', 'row', 'block', ...paths]));
    values.forEach((v, run) => {
      const w = saltelliRun(design, run);
      lines.push(rowOf([run, w.row, w.param === undefined ? w.block : `${w.block}_${w.param + 1}`, ...v]));
    });
  } else {
    lines.push('# trajectory (0-based); step 0 is its start, step s moved the parameter `moved` by ±delta of its range; values in the units of their path');
    lines.push(rowOf(['run', 'trajectory', 'step', 'moved', ...paths]));
    values.forEach((v, run) => {
      const t = Math.floor(run / (design.k + 1));
      const s = run % (design.k + 1);
      lines.push(rowOf([run, t, s, s === 0 ? '' : paths[design.moved[t * design.k + s - 1]], ...v]));
    });
  }
  return lines.join('\n') + '\n';
}

/** outputs.csv: every scalar output of every run. */
export function outputsCsv(file: GsaFile, ev: Evaluated): string {
  const lines = head(file, 'the scalar outputs of every run');
  lines.push(`# units: ${ev.outputs.map((o) => `${o.def.name} ${o.def.unit || '-'}`).join('; ')}`);
  lines.push(rowOf(['run', 'status', 'reason', ...ev.outputs.map((o) => o.def.name)]));
  for (let r = 0; r < ev.runs; r++) lines.push(rowOf([r, ev.status[r], ev.reasons[r], ...ev.outputs.map((o) => o.values[r])]));
  return lines.join('\n') + '\n';
}

/** indices.csv: the indices of every scalar output, one row per parameter. */
export function indicesCsv(file: GsaFile): string {
  const level = Math.round(file.bootstrap.level * 100);
  const lines = head(file, 'sensitivity indices of the scalar outputs');
  if (file.method === 'sobol') {
    lines.push(`# S1 first-order, ST total index; *_conf = half-width of the ${level} % bootstrap interval (${file.bootstrap.resamples} resamples); rows = base samples used`);
    lines.push(rowOf(['output', 'unit', 'parameter', 'S1', 'S1_conf', 'ST', 'ST_conf', 'rows']));
  } else {
    lines.push(`# elementary effects per unit of the parameter's range: mu (mean), mu_star (mean |effect|), sigma (SD); mu_star_conf = half-width of the ${level} % bootstrap interval`);
    lines.push(rowOf(['output', 'unit', 'parameter', 'mu', 'mu_star', 'mu_star_conf', 'sigma', 'effects']));
  }
  for (const [name, o] of Object.entries(file.outputs))
    file.parameters.forEach((p, i) =>
      lines.push(
        rowOf('S1' in o ? [name, o.unit, p.path, o.S1[i], o.S1_conf[i], o.ST[i], o.ST_conf[i], o.rows] : [name, o.unit, p.path, o.mu[i], o.mu_star[i], o.mu_star_conf[i], o.sigma[i], o.effects[i]]),
      ),
    );
  return lines.join('\n') + '\n';
}

/** s2.csv: the second-order indices (undefined without them). */
export function s2Csv(file: GsaFile): string | undefined {
  const outs = Object.entries(file.outputs).filter(([, o]) => 'S2' in o && o.S2);
  if (!outs.length) return undefined;
  const lines = head(file, 'second-order Sobol indices');
  lines.push(rowOf(['output', 'parameter_i', 'parameter_j', 'S2', 'S2_conf']));
  for (const [name, o] of outs)
    if ('S2' in o && o.S2)
      for (let i = 0; i < file.parameters.length; i++)
        for (let j = i + 1; j < file.parameters.length; j++) lines.push(rowOf([name, file.parameters[i].path, file.parameters[j].path, o.S2[i][j], o.S2_conf?.[i][j]]));
  return lines.join('\n') + '\n';
}

/** depth_indices.csv: the depth-resolved indices in long format (undefined without them). */
export function depthIndicesCsv(file: GsaFile): string | undefined {
  const depth = file.depth;
  if (!depth) return undefined;
  const lines = head(file, `depth-resolved indices of n/n0 blurred by a Gaussian of sigma = ${depth.blur_nm} nm`);
  const sobol = file.method === 'sobol';
  lines.push('# stage counted from 1; depth in nm; mean and sd: of the blurred n/n0 over the runs');
  lines.push(rowOf(['stage', 'species', 'depth_nm', 'mean', 'sd', 'parameter', ...(sobol ? ['S1', 'S1_conf', 'ST', 'ST_conf'] : ['mu_star', 'mu_star_conf', 'sigma'])]));
  for (const m of depth.maps)
    depth.depth_nm.forEach((x, j) =>
      file.parameters.forEach((p, i) =>
        lines.push(
          rowOf([m.stage, m.species, x, m.mean[j], m.sd[j], p.path, ...('S1' in m ? [m.S1[i][j], m.S1_conf[i][j], m.ST[i][j], m.ST_conf[i][j]] : [m.mu_star[i][j], m.mu_star_conf[i][j], m.sigma[i][j]])]),
        ),
      ),
    );
  return lines.join('\n') + '\n';
}
