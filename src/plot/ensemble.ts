/**
 * Ensemble figures as SVG strings (no DOM): one species' depth profile
 * after one stage, one line per member, labelled by its varied values —
 * "the Rb+ profiles of D(Cs+) = 2.4e-23, 3.1e-23, 3.8e-23 in one SVG".
 * Built on the line plot of src/plot/profiles.ts; deterministic output.
 *
 * @example
 * writeFileSync('rb.svg', ensembleProfilesSvg(file, { stage: 2, species: 'Rb', maxDepth_nm: 120 }));
 */
import { interpolateViridis } from 'd3-scale-chromatic';
import { InputError } from '../core/errors.js';
import { SPECIES_COLORS, ionLabel, linePlotSvg, type Series } from './profiles.js';
import type { EnsembleFile } from '../ensemble/output.js';

export interface EnsembleProfilesOptions {
  /** the stage, 1-based (default: the last) */
  stage?: number;
  /** the species (default: the beam of that stage) */
  species?: string;
  /** depth range shown, nm (default 150) */
  maxDepth_nm?: number;
  /** legend entries are listed up to this many members (default 20) */
  maxLegend?: number;
  panelWidth?: number;
  panelHeight?: number;
  idPrefix?: string;
}

/** A parameter value for a legend: 4 significant digits, shortest form (2.4e-23, 0.85). */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const s = String(Number(v.toPrecision(4)));
  return s.replace('e+', 'e');
}

/** The short name of a path for a legend heading: its last two segments (`Cs.D_m2s`). */
function shortPath(path: string): string {
  return path.split('.').slice(-2).join('.');
}

/** Member colours: Okabe–Ito for up to 6 members, otherwise viridis in member order. */
function memberColor(i: number, n: number): string {
  if (n <= SPECIES_COLORS.length) return SPECIES_COLORS[i];
  return interpolateViridis(n === 1 ? 0 : (0.9 * i) / (n - 1));
}

/**
 * One species' n/n0 versus depth after one stage, one line per ok member
 * that kept its profiles (`--profiles final` or `all`), legend = the varied
 * values. Throws an InputError when the stage or species does not exist or
 * no member has profiles.
 */
export function ensembleProfilesSvg(file: EnsembleFile, opts: EnsembleProfilesOptions = {}): string {
  const nStages = file.base.stages.length;
  const stage = opts.stage ?? nStages;
  if (!(Number.isInteger(stage) && stage >= 1 && stage <= nStages))
    throw new InputError(`plot: stage ${stage} does not exist (the protocol has stages 1..${nStages})`);
  const st = file.base.stages[stage - 1];
  const species = opts.species ?? st.beam;
  if (!(species in file.base.species))
    throw new InputError(`plot: unknown species "${species}" (the protocol has ${Object.keys(file.base.species).join(', ')})`);
  const maxDepth = opts.maxDepth_nm ?? 150;
  const drawn = file.members
    .map((m, i) => ({ m, i }))
    .filter(({ m }) => m.status === 'ok' && m.stages[stage - 1]?.density?.[species] && m.stages[stage - 1]?.depth_nm);
  if (drawn.length === 0)
    throw new InputError(
      file.profiles === 'none'
        ? 'plot: the ensemble kept no profiles (--profiles none); use --profiles final or all'
        : 'plot: no member finished ok, so there is no profile to draw',
    );
  const label = (i: number): string => {
    const vals = file.members[i].values;
    return vals.length ? vals.map(formatValue).join(', ') : `member ${i}`;
  };
  const n = drawn.length;
  const series: Series[] = drawn.map(({ m, i }, k) => {
    const s = m.stages[stage - 1];
    return {
      label: label(i),
      color: memberColor(k, n),
      x: s.depth_nm!,
      y: s.density![species],
      attrs: { 'data-member': String(i), 'data-species': species, 'data-stage': String(stage) },
    };
  });
  let yMax = 1;
  for (const s of series)
    for (let i = 0; i < s.x.length; i++) if (s.x[i] <= maxDepth && Number.isFinite(s.y[i]) && s.y[i] > yMax) yMax = s.y[i];
  const maxLegend = opts.maxLegend ?? 20;
  const heading = file.parameters.length === 1 ? [{ label: `${shortPath(file.parameters[0])}:`, color: 'none' }] : [];
  const legend =
    n <= maxLegend
      ? [...heading, ...series.map((s) => ({ label: s.label, color: s.color }))]
      : [...heading, { label: series[0].label, color: series[0].color }, { label: '…', color: 'none' }, { label: series[n - 1].label, color: series[n - 1].color }];
  const z = file.base.species[species].z;
  const varied = file.parameters.length ? file.parameters.join(', ') : 'no parameter varied';
  const stageText = st.name.toLowerCase().startsWith(`stage ${stage}`) ? st.name : `stage ${stage} (${st.name})`;
  return linePlotSvg({
    title: `${file.base.name}: ${ionLabel(species, z)} after ${stageText}, ${n} member${n === 1 ? '' : 's'} — ${varied}`,
    xLabel: 'depth (nm)',
    yLabel: `n(${ionLabel(species, z)}) / n0`,
    panels: [{ series }],
    xDomain: [0, maxDepth],
    yDomain: [0, Math.max(1.1, yMax * 1.02)],
    panelWidth: opts.panelWidth ?? 560,
    panelHeight: opts.panelHeight ?? 340,
    legend,
    idPrefix: opts.idPrefix ?? 'cait-ensemble',
  });
}
