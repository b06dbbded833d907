/**
 * Figures of a sensitivity study (`cait-gsa/1`) as SVG strings (d3 scales
 * and colour schemes, no DOM: the same text in Node and on the explorer
 * page, which adds hover to it; deterministic):
 *
 *  - {@link indicesSvg}: one panel per scalar output — Sobol': S1 and ST per
 *    parameter as bars with their bootstrap intervals (and the exact values
 *    of a test function as black ticks); Morris: μ* with its interval and σ;
 *  - {@link depthMapSvg}: depth-resolved indices, one panel per stage and
 *    species: the mean blurred profile ± 1 SD over the runs on top, and
 *    below it a map of depth × parameter coloured by the index (S1, ST, the
 *    interaction part ST − S1, or Morris μ*); depths where the profile
 *    varies by less than `minSd` (n/n0) over the runs are grey: indices of
 *    an output that does not vary say nothing.
 *
 * Elements carry data-* attributes (output, parameter, index, value,
 * interval; each map panel its scales) so that pages and tests can read
 * values back.
 *
 * @example
 * writeFileSync('indices.svg', indicesSvg(file));
 * writeFileSync('depth_ST.svg', depthMapSvg(file, 'ST'));
 */
import { format } from 'd3-format';
import { scaleLinear } from 'd3-scale';
import { interpolateYlGnBu } from 'd3-scale-chromatic';
import { area, line } from 'd3-shape';
import type { DepthMap, GsaFile } from '../gsa/schema.js';
import { attrs, esc, r, SPECIES_COLORS } from './profiles.js';
import { fmtLabel } from './fit.js';

const FONT = 'Helvetica, Arial, sans-serif';
/** Okabe–Ito colours of the two bars of each parameter. */
const BAR_COLORS = { first: '#0072B2', second: '#E69F00' };
const GREY = '#d9d9d9';

/** Profiles varying by less than this (SD of n/n0 over the runs) are drawn grey in the depth maps. */
export const DEFAULT_MIN_SD = 1e-3;

/**
 * A short label of a parameter: `stages.1.D.Cs.D_m2s` → `s2 Cs.D_m2s`
 * (stage counted from 1, the species' model path), tied paths joined by +;
 * other paths unchanged.
 */
export function parameterLabel(path: string): string {
  return path
    .split('+')
    .map((p) => {
      const m = /^stages\.(\d+)\.(?:D\.)?(.*)$/.exec(p);
      return m ? `s${Number(m[1]) + 1} ${m[2]}` : p;
    })
    .join('+');
}

/** The index shown by a depth map. */
export type DepthIndex = 'S1' | 'ST' | 'ST-S1' | 'mu_star';

export const DEPTH_INDEX_LABEL: Record<DepthIndex, string> = {
  S1: 'first-order index S1',
  ST: 'total index ST',
  'ST-S1': 'interactions ST − S1',
  mu_star: 'Morris μ* (n/n0 per unit range)',
};

/** The indices a study's depth maps can show. */
export function depthIndices(file: GsaFile): DepthIndex[] {
  return file.method === 'sobol' ? ['S1', 'ST', 'ST-S1'] : ['mu_star'];
}

/** A depth map's values of one index, [parameter][depth] (null where undefined). */
export function depthIndexValues(m: DepthMap, index: DepthIndex): (number | null)[][] {
  if ('S1' in m) {
    if (index === 'S1') return m.S1;
    if (index === 'ST') return m.ST;
    if (index === 'ST-S1') return m.ST.map((row, i) => row.map((st, j) => (st === null || m.S1[i][j] === null ? null : st - m.S1[i][j]!)));
  } else if (index === 'mu_star') return m.mu_star;
  throw new Error(`depth map: no ${index} in a ${'S1' in m ? 'Sobol' : 'Morris'} study`);
}

function nice(lo: number, hi: number): [number, number] {
  const d = scaleLinear().domain([lo, hi]).nice(5).domain();
  return [d[0], d[1]];
}

// ------------------------------------------------------------------ bars

interface Bar {
  value: number | null;
  conf: number | null;
  index: string;
  color: string;
}

/** S1/ST (Sobol') or μ* and σ (Morris) of every scalar output, a panel each (outputs: a subset, in this order). */
export function indicesSvg(file: GsaFile, opts: { outputs?: string[]; cols?: number } = {}): string {
  const names = opts.outputs ?? Object.keys(file.outputs);
  const k = file.parameters.length;
  const pw = Math.max(180, Math.min(420, 44 * k));
  const ph = 150;
  // the parameter labels run down-right at 35°: room below and to the right of the last one
  const labelW = Math.max(...file.parameters.map((p) => parameterLabel(p.path).length)) * 6.2;
  const M = { left: 56, right: Math.max(20, Math.ceil(labelW * Math.cos(0.61) - pw / k / 2) + 10), top: 40, bottom: Math.ceil(labelW * Math.sin(0.61)) + 24 };
  const cols = Math.max(1, Math.min(opts.cols ?? 3, names.length));
  const rows = Math.max(1, Math.ceil(names.length / cols));
  const cellW = M.left + pw + M.right;
  const cellH = M.top + ph + M.bottom;
  const titleH = 70;
  const width = Math.max(cols * cellW, 560);
  const left0 = (width - cols * cellW) / 2;
  const height = titleH + rows * cellH;
  const sobol = file.method === 'sobol';
  const level = Math.round(file.bootstrap.level * 100);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg"${attrs({ width, height, viewBox: `0 0 ${width} ${height}`, 'font-family': FONT, 'font-size': 11, 'data-method': file.method })}>`);
  out.push(`<rect${attrs({ x: 0, y: 0, width, height, fill: 'white' })}/>`);
  const title = sobol ? `Sobol' indices: N = ${file.N} base samples, ${file.runs} runs` : `Morris screening: r = ${file.N} trajectories, ${file.runs} runs`;
  const sub = `${sobol ? 'bars' : 'μ*'}: estimate ± ${level} % bootstrap interval (${file.bootstrap.resamples} resamples)`;
  out.push(`<text class="title"${attrs({ x: width / 2, y: 20, 'text-anchor': 'middle', 'font-size': 14, 'font-weight': 'bold' })}>${esc(title)}</text>`);
  out.push(`<text${attrs({ x: width / 2, y: 36, 'text-anchor': 'middle', 'font-size': 11 })}>${esc(sub)}</text>`);
  // legend
  const lg = sobol
    ? [
        { label: 'S1 (first order)', color: BAR_COLORS.first },
        { label: 'ST (total)', color: BAR_COLORS.second },
        ...(file.analytic ? [{ label: 'exact value', color: '#000000' }] : []),
      ]
    : [
        { label: 'μ* (mean |effect|)', color: BAR_COLORS.first },
        { label: 'σ (SD of the effects)', color: BAR_COLORS.second },
      ];
  const lgW = 160;
  lg.forEach((e, i) => {
    const lx = width / 2 - (lg.length * lgW) / 2 + i * lgW;
    out.push(`<rect${attrs({ x: lx, y: 46, width: 12, height: 10, fill: e.color })}/><text${attrs({ x: lx + 17, y: 55 })}>${esc(e.label)}</text>`);
  });
  names.forEach((name, pi) => {
    const o = file.outputs[name];
    if (!o) throw new Error(`indicesSvg: no output ${name}`);
    const ox = left0 + (pi % cols) * cellW + M.left;
    const oy = titleH + Math.floor(pi / cols) * cellH + M.top;
    const bars: Bar[][] = file.parameters.map((_, i) =>
      'S1' in o
        ? [
            { value: o.S1[i], conf: o.S1_conf[i], index: 'S1', color: BAR_COLORS.first },
            { value: o.ST[i], conf: o.ST_conf[i], index: 'ST', color: BAR_COLORS.second },
          ]
        : [
            { value: o.mu_star[i], conf: o.mu_star_conf[i], index: 'mu_star', color: BAR_COLORS.first },
            { value: o.sigma[i], conf: null, index: 'sigma', color: BAR_COLORS.second },
          ],
    );
    const ends = bars.flat().flatMap((b) => (b.value === null ? [] : [b.value - (b.conf ?? 0), b.value + (b.conf ?? 0)]));
    let yDom: [number, number];
    if (sobol) yDom = nice(Math.max(-0.5, Math.min(0, ...ends)), Math.min(1.5, Math.max(1, ...ends)));
    else yDom = nice(0, Math.max(...ends.filter(Number.isFinite), 0) || 1);
    const y = scaleLinear().domain(yDom).range([ph, 0]);
    const band = pw / k;
    out.push(`<g class="panel"${attrs({ transform: `translate(${r(ox)},${r(oy)})`, 'data-output': name })}>`);
    out.push(`<text class="panel-title"${attrs({ x: pw / 2, y: -22, 'text-anchor': 'middle', 'font-size': 12, 'font-weight': 'bold' })}>${esc(name)}</text>`);
    const sub =
      'S1' in o
        ? o.rows < 2
          ? `not defined in enough runs (${o.rows} rows)`
          : o.variance === null || o.S1.every((v) => v === null)
          ? `does not vary (${o.rows} rows)`
          : `mean ${fmtLabel(o.mean!)}, SD ${fmtLabel(Math.sqrt(o.variance))}${o.unit ? ` ${o.unit}` : ''}; ${o.rows} of ${file.N} rows`
        : `effects per unit range${o.unit ? ` (${o.unit})` : ''}; ${Math.min(...o.effects)}–${Math.max(...o.effects)} per parameter`;
    out.push(`<text class="panel-subtitle"${attrs({ x: pw / 2, y: -8, 'text-anchor': 'middle', 'font-size': 10, fill: '#444' })}>${esc(sub)}</text>`);
    const yt = y.ticks(5);
    const fy = y.tickFormat(5);
    out.push('<g class="grid" stroke="#e6e6e6">');
    for (const t of yt) out.push(`<line${attrs({ x1: 0, x2: pw, y1: y(t), y2: y(t) })}/>`);
    out.push('</g>');
    if (yDom[0] < 0) out.push(`<line${attrs({ x1: 0, x2: pw, y1: y(0), y2: y(0), stroke: '#888' })}/>`);
    bars.forEach((pair, i) => {
      const path = file.parameters[i].path;
      pair.forEach((b, h) => {
        if (b.value === null) return;
        const x0 = band * i + band * (0.14 + 0.36 * h);
        const w = band * 0.34;
        const top = y(Math.max(b.value, yDom[0]));
        const base = y(Math.max(0, yDom[0]));
        out.push(
          `<rect class="bar"${attrs({ x: x0, y: Math.min(top, base), width: w, height: Math.abs(base - top), fill: b.color, 'data-output': name, 'data-param': i, 'data-path': path, 'data-index': b.index, 'data-value': String(b.value), 'data-conf': b.conf === null ? undefined : String(b.conf) })}/>`,
        );
        if (b.conf !== null && b.conf > 0) {
          const cx = x0 + w / 2;
          const y0 = y(Math.max(yDom[0], b.value - b.conf));
          const y1 = y(Math.min(yDom[1], b.value + b.conf));
          out.push(`<path class="interval"${attrs({ d: `M${r(cx)},${r(y0)}V${r(y1)}M${r(cx - 3)},${r(y0)}H${r(cx + 3)}M${r(cx - 3)},${r(y1)}H${r(cx + 3)}`, stroke: '#222', 'stroke-width': 1, fill: 'none' })}/>`);
        }
      });
      if (file.analytic && sobol) {
        const ex = [file.analytic.S1[i], file.analytic.ST[i]];
        ex.forEach((v, h) => {
          const x0 = band * i + band * (0.14 + 0.36 * h);
          out.push(`<line class="exact"${attrs({ x1: x0 - 2, x2: x0 + band * 0.34 + 2, y1: y(v), y2: y(v), stroke: '#000', 'stroke-width': 2, 'data-param': i, 'data-index': h ? 'ST' : 'S1', 'data-value': String(v) })}/>`);
        });
      }
      out.push(
        `<text class="param-label"${attrs({ transform: `translate(${r(band * (i + 0.5))},${ph + 10}) rotate(35)`, 'font-size': 10 })}>${esc(parameterLabel(path))}</text>`,
      );
    });
    out.push(`<rect${attrs({ x: 0, y: 0, width: pw, height: ph, fill: 'none', stroke: '#222' })}/>`);
    out.push('<g class="y-axis" font-size="10" text-anchor="end">');
    for (const t of yt) out.push(`<line${attrs({ x1: -4, x2: 0, y1: y(t), y2: y(t), stroke: '#222' })}/><text${attrs({ x: -6, y: y(t) + 3 })}>${esc(fy(t))}</text>`);
    out.push('</g>');
    out.push('</g>');
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

// ------------------------------------------------------------------ depth maps

/** Bins of the colour scale of the depth maps. */
const BINS = 20;

export interface DepthMapOptions {
  /** grey where the blurred profile's SD over the runs is below this, n/n0 (default 1e-3) */
  minSd?: number;
}

/** The colour domain of an index over every map of a file ([0, 1] for Sobol' indices, [0, max μ*] for Morris). */
export function depthColorDomain(file: GsaFile, index: DepthIndex): [number, number] {
  if (index !== 'mu_star') return [0, 1];
  let hi = 0;
  for (const m of file.depth?.maps ?? []) for (const row of depthIndexValues(m, index)) for (const v of row) if (v !== null && v > hi) hi = v;
  return [0, hi > 0 ? hi : 1];
}

/** The colour bin of a value (0 … BINS − 1), clamped to the domain. */
function binOf(v: number, dom: [number, number]): number {
  const t = (v - dom[0]) / (dom[1] - dom[0]);
  return Math.max(0, Math.min(BINS - 1, Math.floor(t * BINS)));
}

function binColor(b: number): string {
  return interpolateYlGnBu(0.05 + (0.95 * (b + 0.5)) / BINS);
}

/**
 * Depth × parameter maps of one index (see the file comment): a row of
 * panels per stage, one panel per species present in it.
 */
export function depthMapSvg(file: GsaFile, index: DepthIndex, opts: DepthMapOptions = {}): string {
  const depth = file.depth;
  if (!depth) throw new Error('depthMapSvg: the study has no depth-resolved indices');
  const minSd = opts.minSd ?? DEFAULT_MIN_SD;
  const k = file.parameters.length;
  const stages = [...new Set(depth.maps.map((m) => m.stage))].sort((a, b) => a - b);
  const perStage = stages.map((s) => depth.maps.filter((m) => m.stage === s));
  const cols = Math.max(1, ...perStage.map((p) => p.length));
  const pw = 330;
  const stripH = 70;
  const rowH = Math.max(12, Math.min(22, Math.floor(180 / k)));
  const mapH = k * rowH;
  // room for the longest parameter label (10 px text: ~5.6 px per character)
  const labelW = Math.max(...file.parameters.map((p) => parameterLabel(p.path).length)) * 6.2;
  const M = { left: Math.max(70, Math.ceil(labelW) + 12), right: 14, top: 28, bottom: 46 };
  const gap = 10;
  const cellW = M.left + pw + M.right;
  const cellH = M.top + stripH + gap + mapH + M.bottom;
  const titleH = 40;
  const barH = 46;
  const width = cols * cellW;
  const height = titleH + stages.length * cellH + barH;
  const d = depth.depth_nm;
  const step = d.length > 1 ? d[1] - d[0] : 1;
  const x = scaleLinear().domain([d[0], d[d.length - 1]]).range([0, pw]);
  const dom = depthColorDomain(file, index);
  const species = file.model.kind === 'protocol' ? Object.keys(file.model.base.species) : [];
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg"${attrs({ width, height, viewBox: `0 0 ${width} ${height}`, 'font-family': FONT, 'font-size': 11, 'data-index': index })}>`);
  out.push(`<rect${attrs({ x: 0, y: 0, width, height, fill: 'white' })}/>`);
  const what = file.method === 'sobol' ? `N = ${file.N}, ${file.runs} runs` : `r = ${file.N} trajectories, ${file.runs} runs`;
  out.push(
    `<text class="title"${attrs({ x: width / 2, y: 20, 'text-anchor': 'middle', 'font-size': 14, 'font-weight': 'bold' })}>${esc(`${DEPTH_INDEX_LABEL[index]} of n/n0 blurred by σ = ${depth.blur_nm} nm, at every depth (${what})`)}</text>`,
  );
  const fx = x.tickFormat(6);
  perStage.forEach((maps, si) => {
    maps.forEach((m, ci) => {
      const ox = ci * cellW + M.left;
      const oy = titleH + si * cellH + M.top;
      const color = SPECIES_COLORS[Math.max(0, species.indexOf(m.species)) % SPECIES_COLORS.length];
      const mapTop = stripH + gap;
      out.push(
        `<g class="depth-panel"${attrs({ transform: `translate(${r(ox)},${r(oy)})`, 'data-stage': m.stage, 'data-species': m.species, 'data-xdomain': `${d[0]},${d[d.length - 1]}`, 'data-xrange': `0,${pw}`, 'data-map-top': mapTop, 'data-row-height': rowH })}>`,
      );
      const beam = file.model.kind === 'protocol' ? file.model.base.stages[m.stage - 1]?.beam : undefined;
      out.push(`<text class="panel-title"${attrs({ x: pw / 2, y: -10, 'text-anchor': 'middle', 'font-size': 12, 'font-weight': 'bold' })}>${esc(`${m.species}+ after stage ${m.stage}${beam ? ` (${beam}+ beam)` : ''}`)}</text>`);
      // the mean profile ± SD
      const ys = m.mean.map((v, j) => (v ?? 0) + (m.sd[j] ?? 0));
      const y = scaleLinear().domain([0, Math.max(1.05, ...ys)]).range([stripH, 0]);
      const idx = d.map((_, j) => j).filter((j) => m.mean[j] !== null);
      const band = area<number>().x((j) => x(d[j])).y0((j) => y(Math.max(0, m.mean[j]! - (m.sd[j] ?? 0)))).y1((j) => y(m.mean[j]! + (m.sd[j] ?? 0))).digits(2)(idx) ?? '';
      const mean = line<number>().x((j) => x(d[j])).y((j) => y(m.mean[j]!)).digits(2)(idx) ?? '';
      out.push(`<path class="sd-band"${attrs({ d: band, fill: color, 'fill-opacity': 0.25, stroke: 'none' })}/>`);
      out.push(`<path class="mean-profile"${attrs({ d: mean, fill: 'none', stroke: color, 'stroke-width': 1.6 })}/>`);
      out.push(`<rect${attrs({ x: 0, y: 0, width: pw, height: stripH, fill: 'none', stroke: '#222' })}/>`);
      out.push(`<g font-size="9" text-anchor="end">`);
      for (const t of y.ticks(3)) out.push(`<line${attrs({ x1: -3, x2: 0, y1: y(t), y2: y(t), stroke: '#222' })}/><text${attrs({ x: -5, y: y(t) + 3 })}>${esc(String(t))}</text>`);
      out.push(`<text${attrs({ x: -30, y: stripH / 2 + 3 })}>n/n0</text></g>`);
      // the map: runs of equal colour merged into one rect per row
      const vals = depthIndexValues(m, index);
      out.push(`<g class="cells"${attrs({ transform: `translate(0,${mapTop})` })}>`);
      for (let i = 0; i < k; i++) {
        const key = (j: number): string => {
          const sd = m.sd[j];
          const v = vals[i][j];
          if (sd === null || sd < minSd || v === null) return 'grey';
          return String(binOf(v, dom));
        };
        let j0 = 0;
        while (j0 < d.length) {
          const kk = key(j0);
          let j1 = j0;
          while (j1 + 1 < d.length && key(j1 + 1) === kk) j1++;
          const xa = x(Math.max(d[0], d[j0] - step / 2));
          const xb = x(Math.min(d[d.length - 1], d[j1] + step / 2));
          out.push(`<rect class="cell"${attrs({ x: xa, y: i * rowH, width: xb - xa, height: rowH, fill: kk === 'grey' ? GREY : binColor(Number(kk)), 'data-param': i, 'data-from': j0, 'data-to': j1 })}/>`);
          j0 = j1 + 1;
        }
      }
      out.push('</g>');
      out.push(`<rect${attrs({ x: 0, y: mapTop, width: pw, height: mapH, fill: 'none', stroke: '#222' })}/>`);
      out.push('<g class="param-labels" font-size="10" text-anchor="end">');
      file.parameters.forEach((p, i) => out.push(`<text${attrs({ x: -5, y: mapTop + i * rowH + rowH / 2 + 3, 'data-path': p.path })}>${esc(parameterLabel(p.path))}</text>`));
      out.push('</g>');
      out.push('<g class="x-axis" font-size="10" text-anchor="middle">');
      for (const t of x.ticks(6)) out.push(`<line${attrs({ x1: x(t), x2: x(t), y1: mapTop + mapH, y2: mapTop + mapH + 4, stroke: '#222' })}/><text${attrs({ x: x(t), y: mapTop + mapH + 15 })}>${esc(fx(t))}</text>`);
      out.push(`<text${attrs({ x: pw / 2, y: mapTop + mapH + 31, 'font-size': 11 })}>depth (nm)</text></g>`);
      out.push('</g>');
    });
  });
  // colour bar
  const by = height - barH + 8;
  const bw = Math.min(360, width - 200);
  const bx = 20;
  out.push(`<g class="colorbar"${attrs({ transform: `translate(${bx},${by})` })}>`);
  for (let b = 0; b < BINS; b++) out.push(`<rect${attrs({ x: (b * bw) / BINS, y: 0, width: bw / BINS + 0.3, height: 12, fill: binColor(b) })}/>`);
  out.push(`<rect${attrs({ x: 0, y: 0, width: bw, height: 12, fill: 'none', stroke: '#222' })}/>`);
  const fz = format(index === 'mu_star' ? '.2~g' : '.2~f');
  for (let t = 0; t <= 4; t++) {
    const v = dom[0] + ((dom[1] - dom[0]) * t) / 4;
    out.push(`<text${attrs({ x: (bw * t) / 4, y: 24, 'text-anchor': 'middle', 'font-size': 9 })}>${esc(fz(v))}</text>`);
  }
  out.push(`<rect${attrs({ x: bw + 24, y: 0, width: 16, height: 12, fill: GREY, stroke: '#222' })}/>`);
  out.push(`<text${attrs({ x: bw + 46, y: 10 })}>${esc(`profile varies by SD < ${fmtLabel(minSd)} n/n0 over the runs`)}</text>`);
  out.push(`<text${attrs({ x: bw / 2, y: 36, 'text-anchor': 'middle', 'font-size': 10 })}>${esc(`${DEPTH_INDEX_LABEL[index]} (values outside [${fz(dom[0])}, ${fz(dom[1])}] clamped)`)}</text>`);
  out.push('</g>');
  out.push('</svg>');
  return out.join('\n') + '\n';
}
