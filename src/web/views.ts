/**
 * The panels of each view, as data (plots.ts draws them): a fit member's
 * model next to the best fit over the measured points (one panel per
 * observation), the sensitivity (RMS bars, derivative and the ±20 %
 * profiles), an ensemble's member profiles, a measured SIMS profile.
 */
import { max } from 'd3-array';
import { axisBottom } from 'd3-axis';
import { scaleLinear } from 'd3-scale';
import type { EnsembleFile } from '../ensemble/output.js';
import type { FitFile } from '../fit/schema.js';
import type { MeasuredProfile } from '../sims/index.js';
import { csvCell, fmtNum, newSvg, shortPath, type Panel, type Series } from './plots.js';

const DENSITY = 'n / n0';

function measuredSeries(fit: FitFile, k: number): Series[] {
  const o = fit.measured.observations[k];
  return o.species.map((sp) => ({ series: 'measured', species: sp, label: `${sp} measured (${o.label})`, x: o.depth_nm, y: o.target[sp], kind: 'points' as const }));
}

function obsTitle(fit: FitFile, k: number): string {
  const o = fit.measured.observations[k];
  const st = fit.base?.stages?.[o.stage];
  return `after stage ${o.stage + 1}${st?.beam ? ` (${st.beam}+)` : ''}: ${o.label}`;
}

/** One panel per observation: measured points, best fit (dashed), and the member (solid) if it has a model. */
export function memberPanels(fit: FitFile, member: number | null): Panel[] {
  return fit.measured.observations.map((o, k) => {
    const series = measuredSeries(fit, k);
    for (const sp of o.species)
      if (fit.best.model?.[k]?.[sp])
        series.push({ series: 'best', species: sp, label: `${sp} best fit`, x: o.depth_nm, y: fit.best.model[k][sp], kind: 'line', dash: '5 3' });
    const mm = member !== null ? fit.members[member] : undefined;
    if (mm?.model?.[k])
      for (const sp of o.species)
        if (mm.model[k][sp])
          series.push({ series: 'member', species: sp, label: `${sp} member ${member}`, x: o.depth_nm, y: mm.model[k][sp], kind: 'line', width: 2, attrs: { member: member! } });
    return { title: obsTitle(fit, k), xlabel: 'depth (nm)', ylabel: DENSITY, series, attrs: { obs: k, stage: o.stage } };
  });
}

/** ±20 %: per parameter and observation, best, × 0.8 and × 1.2 over the measured points. */
export function plusMinusPanels(fit: FitFile): Panel[] {
  const out: Panel[] = [];
  for (const s of fit.sensitivity ?? [])
    fit.measured.observations.forEach((o, k) => {
      const series = measuredSeries(fit, k);
      for (const sp of o.species) {
        if (fit.best.model?.[k]?.[sp]) series.push({ series: 'best', species: sp, label: `${sp} best`, x: o.depth_nm, y: fit.best.model[k][sp], kind: 'line', width: 1.5 });
        if (s.minus20?.[k]?.[sp]) series.push({ series: 'minus20', species: sp, label: `${sp} ×0.8`, x: o.depth_nm, y: s.minus20[k][sp], kind: 'line', dash: '2 2', width: 1 });
        if (s.plus20?.[k]?.[sp]) series.push({ series: 'plus20', species: sp, label: `${sp} ×1.2`, x: o.depth_nm, y: s.plus20[k][sp], kind: 'line', dash: '6 3', width: 1 });
      }
      out.push({ title: `${shortPath(s.path)} ±20 %, stage ${o.stage + 1}`, xlabel: 'depth (nm)', ylabel: DENSITY, series, attrs: { path: s.path, obs: k } });
    });
  return out;
}

/** d model / d ln p per parameter and observation. */
export function derivativePanels(fit: FitFile): Panel[] {
  const out: Panel[] = [];
  for (const s of fit.sensitivity ?? [])
    fit.measured.observations.forEach((o, k) => {
      const series: Series[] = o.species
        .filter((sp) => s.derivative?.[k]?.[sp])
        .map((sp) => ({ series: 'derivative', species: sp, label: `${sp} d/d ln p`, x: o.depth_nm, y: s.derivative[k][sp], kind: 'line' as const }));
      out.push({ title: `d model / d ln(${shortPath(s.path)}), stage ${o.stage + 1}`, xlabel: 'depth (nm)', ylabel: 'per e-fold', series, attrs: { path: s.path, obs: k } });
    });
  return out;
}

/** Bars of the RMS sensitivity per parameter, with the residuals at ±20 %. */
export function drawSensitivityBars(host: HTMLElement, fit: FitFile): SVGSVGElement {
  const sens = fit.sensitivity ?? [];
  const W = 640;
  const bh = 26;
  // room on the right for "residual at −20 % … / +20 % …" (it ran off the figure)
  const m = { l: 200, r: 210, t: 24, b: 36 };
  const H = m.t + Math.max(1, sens.length) * bh + m.b;
  const svg = newSvg(host, W, H, 'sensitivity');
  svg.append('rect').attr('width', W).attr('height', H).attr('fill', 'white');
  svg.append('text').attr('x', 8).attr('y', 15).attr('font-weight', 'bold').text('sensitivity: RMS of d model / d ln p (n/n0 per e-fold)');
  const x = scaleLinear()
    .domain([0, max(sens, (s) => s.rms) || 1])
    .nice()
    .range([m.l, W - m.r]);
  sens.forEach((s, k) => {
    const y = m.t + k * bh;
    const g = svg.append('g').attr('class', 'bar').attr('data-path', s.path).attr('data-rms', s.rms);
    g.append('rect').attr('x', m.l).attr('y', y + 4).attr('width', Math.max(0, x(s.rms) - m.l)).attr('height', bh - 8).attr('fill', '#4c78a8');
    g.append('text').attr('x', m.l - 6).attr('y', y + bh / 2 + 4).attr('text-anchor', 'end').text(shortPath(s.path));
    g.append('text')
      .attr('x', W - m.r + 6)
      .attr('y', y + bh / 2 + 4)
      .text(`residual at −20 %: ${s.residual_minus20 === null ? '–' : fmtNum(s.residual_minus20)}, +20 %: ${s.residual_plus20 === null ? '–' : fmtNum(s.residual_plus20)}`)
      .attr('font-size', 9);
  });
  svg.append('g').attr('transform', `translate(0,${m.t + sens.length * bh + 2})`).call(axisBottom(x).ticks(5));
  return svg.node()!;
}

export function sensitivityCsv(fit: FitFile): string {
  const out = ['path,step,rms,residual_minus20,residual_plus20'];
  for (const s of fit.sensitivity ?? []) out.push([csvCell(s.path), s.step, s.rms, s.residual_minus20 ?? '', s.residual_plus20 ?? ''].join(','));
  return out.join('\n') + '\n';
}

/** Final profiles of the selected ensemble members (to maxDepth_nm): one panel per stage, one line per member and species. */
export function ensemblePanels(ens: EnsembleFile, selected: readonly number[], maxDepth_nm = 150): Panel[] {
  const stages = ens.base?.stages ?? [];
  return stages.map((st, k) => {
    const series: Series[] = [];
    for (const i of selected) {
      const m = ens.members[i];
      const s = m?.stages?.[k];
      if (!s?.depth_nm || !s.density) continue;
      let n = s.depth_nm.findIndex((x) => x > maxDepth_nm);
      if (n < 0) n = s.depth_nm.length;
      for (const sp of ens.species)
        if (s.density[sp])
          series.push({ series: 'member', species: sp, label: `${sp} member ${i}`, x: s.depth_nm.slice(0, n), y: s.density[sp].slice(0, n), kind: 'line', attrs: { member: i } });
    }
    return { title: `end of stage ${k + 1}${st.beam ? ` (${st.beam}+)` : ''}`, xlabel: 'depth (nm)', ylabel: DENSITY, series, attrs: { stage: k } };
  });
}

/** A measured SIMS profile: one panel, one point series per element. */
export function simsPanels(p: MeasuredProfile, name: string): Panel[] {
  return [
    {
      title: `${name} (${p.format}; ${p.depthFrom})`,
      xlabel: 'depth (nm)',
      ylabel: 'normalized density',
      series: p.elements.map((el) => ({ series: 'measured', species: el, label: el, x: p.depth_nm, y: p.c[el], kind: 'points' as const })),
    },
  ];
}
