/**
 * SVG figures of a run, as strings (no DOM needed): the n/n0 depth profiles
 * after each stage and the current record I(t). Deterministic: the same
 * input gives the same bytes (no dates, fixed rounding, fixed ids).
 *
 * @example
 *   writeFileSync('paper.svg', profilesSvg(protocol, result, { maxDepth_nm: 150 }));
 */
import { speciesColor } from './palette.js';
import { format } from 'd3-format';
import { scaleLinear, scaleLog } from 'd3-scale';
import { line } from 'd3-shape';
import type { Protocol } from '../config/schema.js';
import type { ProtocolResult } from '../solver/types.js';

/** The categorical palette (one colour per line of a plot); species colours come from palette.ts. */
export { CATEGORICAL as SPECIES_COLORS } from './palette.js';

export interface Series {
  label: string;
  color: string;
  /** x values, increasing */
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** stroke-dasharray, e.g. "4 3" */
  dash?: string;
  /** extra attributes for the <path>, e.g. { 'data-species': 'Li' } */
  attrs?: Record<string, string>;
}

export interface Panel {
  title?: string;
  series: Series[];
}

export interface LinePlotSpec {
  title?: string;
  xLabel: string;
  yLabel: string;
  panels: Panel[];
  xLog?: boolean;
  yLog?: boolean;
  /** shared x domain of all panels; default: extent of the data */
  xDomain?: [number, number];
  /** shared y domain of all panels; default: extent of the data (from 0 on linear axes when all data ≥ 0) */
  yDomain?: [number, number];
  /** panels side by side (row, default) or stacked (column) */
  layout?: 'row' | 'column';
  panelWidth?: number;
  panelHeight?: number;
  /** legend entries; default: one per distinct series label */
  legend?: { label: string; color: string; dash?: string }[];
  /** prefix of element ids (clip paths), to embed several figures in one page */
  idPrefix?: string;
}

const FONT = 'Helvetica, Arial, sans-serif';
const M = { left: 64, right: 16, top: 28, bottom: 48 };
const TITLE_H = 34;
const LEGEND_W = 140;

/** Coordinates rounded to 0.01 px: stable output, small files. */
export function r(v: number): string {
  const x = Math.round(v * 100) / 100;
  return String(Object.is(x, -0) ? 0 : x);
}

/** XML-escape text and attribute values. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** SVG attributes ` k="v"` (numbers rounded by {@link r}, text escaped; undefined left out). */
export function attrs(a: Record<string, string | number | undefined>): string {
  return Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${esc(typeof v === 'number' ? r(v) : v!)}"`)
    .join('');
}

function usable(v: number, log: boolean): boolean {
  return Number.isFinite(v) && (!log || v > 0);
}

function extent(vals: Iterable<number>, log: boolean): [number, number] | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of vals) {
    if (!usable(v, log)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : undefined;
}

/** Indices of the points to draw: those inside [lo, hi] in x, plus one neighbour on each side (the clip path cuts them). */
function visibleRange(x: ArrayLike<number>, lo: number, hi: number): [number, number] {
  let a = -1;
  let b = -1;
  for (let i = 0; i < x.length; i++) {
    if (x[i] >= lo && x[i] <= hi) {
      if (a < 0) a = i;
      b = i;
    }
  }
  if (a < 0) return [0, -1];
  return [Math.max(0, a - 1), Math.min(x.length - 1, b + 1)];
}

type Scale = ((v: number) => number) & { ticks(n?: number): number[]; domain(): number[] };

/** A scale; an automatic (data) domain is extended to round numbers, an explicit one is kept. */
function makeScale(log: boolean, domain: [number, number], range: [number, number], nice: boolean): Scale {
  if (log) {
    const s = scaleLog().domain(domain).range(range);
    return (nice ? s.nice() : s) as unknown as Scale;
  }
  const s = scaleLinear().domain(domain).range(range);
  return (nice ? s.nice(6) : s) as unknown as Scale;
}

interface Tick {
  v: number;
  label?: string;
  /** label as 10^k, written with a superscript */
  pow10?: number;
}

function ticksOf(scale: Scale, log: boolean): Tick[] {
  if (!log) {
    const t = scale.ticks(6);
    const step = t.length > 1 ? t[1] - t[0] : 1;
    const fmt = format(`.${Math.max(0, -Math.floor(Math.log10(step) + 1e-9))}f`);
    return t.map((v) => ({ v, label: fmt(v) }));
  }
  const [d0, d1] = scale.domain() as [number, number];
  const k0 = Math.ceil(Math.log10(d0) - 1e-9);
  const k1 = Math.floor(Math.log10(d1) + 1e-9);
  const out: Tick[] = [];
  if (k1 - k0 >= 1) {
    const every = Math.max(1, Math.ceil((k1 - k0 + 1) / 8));
    // minor ticks (2..9 × 10^k) only where they do not crowd the axis
    const mMax = k1 - k0 <= 5 ? 9 : 1;
    for (let k = Math.floor(Math.log10(d0)); k <= k1; k++) {
      for (let m = 1; m <= mMax; m++) {
        const v = m * 10 ** k;
        if (v < d0 * (1 - 1e-9) || v > d1 * (1 + 1e-9)) continue;
        out.push(m === 1 && (k - k0) % every === 0 ? { v, pow10: k } : { v });
      }
    }
    return out;
  }
  const fmt = format('~g');
  return scale.ticks(5).map((v) => ({ v, label: fmt(v) }));
}

function tickLabel(t: Tick): string {
  if (t.pow10 !== undefined) return `10<tspan dy="-6" font-size="9">${t.pow10}</tspan>`;
  return esc(t.label ?? '');
}

/**
 * A figure of line plots: one or more panels with shared axes and labels,
 * a light grid, ticks, a legend on the right and an optional title.
 */
export function linePlotSvg(spec: LinePlotSpec): string {
  const pw = spec.panelWidth ?? 360;
  const ph = spec.panelHeight ?? 260;
  const xLog = !!spec.xLog;
  const yLog = !!spec.yLog;
  const n = Math.max(1, spec.panels.length);
  const row = (spec.layout ?? 'row') === 'row';
  const cellW = M.left + pw + M.right;
  const cellH = M.top + ph + M.bottom;
  const titleH = spec.title ? TITLE_H : 8;
  const width = (row ? n * cellW : cellW) + LEGEND_W;
  const height = titleH + (row ? cellH : n * cellH);
  const idp = spec.idPrefix ?? 'cait';

  const allSeries = spec.panels.flatMap((p) => p.series);
  const xDom: [number, number] =
    spec.xDomain ?? extent(allSeries.flatMap((s) => Array.from(s.x)), xLog) ?? (xLog ? [1, 10] : [0, 1]);
  // y extent from the points that are visible in x
  const yVals: number[] = [];
  for (const s of allSeries) {
    const [a, b] = visibleRange(s.x, xDom[0], xDom[1]);
    for (let i = a; i <= b; i++) if (s.x[i] >= xDom[0] && s.x[i] <= xDom[1]) yVals.push(s.y[i]);
  }
  let yDom: [number, number] = spec.yDomain ?? extent(yVals, yLog) ?? (yLog ? [1, 10] : [0, 1]);
  if (!spec.yDomain && !yLog && yDom[0] >= 0) yDom = [0, yDom[1]];
  if (yDom[0] === yDom[1]) yDom = yLog ? [yDom[0] / 2, yDom[1] * 2] : [yDom[0] - 1, yDom[1] + 1];
  if (xDom[0] === xDom[1]) xDom[1] = xLog ? xDom[0] * 10 : xDom[0] + 1;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg"${attrs({ width, height, viewBox: `0 0 ${width} ${height}`, 'font-family': FONT, 'font-size': 12 })}>`,
  );
  out.push(`<rect${attrs({ x: 0, y: 0, width, height, fill: 'white' })}/>`);
  if (spec.title)
    out.push(
      `<text class="title"${attrs({ x: (width - LEGEND_W) / 2, y: 22, 'text-anchor': 'middle', 'font-size': 15, 'font-weight': 'bold' })}>${esc(spec.title)}</text>`,
    );

  spec.panels.forEach((panel, pi) => {
    const ox = row ? pi * cellW : 0;
    const oy = titleH + (row ? 0 : pi * cellH);
    const x = makeScale(xLog, xDom, [0, pw], !spec.xDomain);
    const y = makeScale(yLog, yDom, [ph, 0], !spec.yDomain);
    const xd = x.domain();
    const yd = y.domain();
    const clipId = `${idp}-clip-${pi}`;
    out.push(`<g class="panel"${attrs({ transform: `translate(${r(ox + M.left)},${r(oy + M.top)})` })}>`);
    out.push(`<defs><clipPath id="${esc(clipId)}"><rect${attrs({ x: 0, y: 0, width: pw, height: ph })}/></clipPath></defs>`);
    if (panel.title)
      out.push(
        `<text class="panel-title"${attrs({ x: pw / 2, y: -10, 'text-anchor': 'middle', 'font-size': 13 })}>${esc(panel.title)}</text>`,
      );
    // grid and ticks
    const xt = ticksOf(x, xLog).filter((t) => t.v >= Math.min(xd[0], xd[1]) - 1e-12 && t.v <= Math.max(xd[0], xd[1]) + 1e-12);
    const yt = ticksOf(y, yLog).filter((t) => t.v >= Math.min(yd[0], yd[1]) - 1e-12 && t.v <= Math.max(yd[0], yd[1]) + 1e-12);
    out.push(`<g class="grid" stroke="#e6e6e6" stroke-width="1">`);
    for (const t of xt) if (t.label !== undefined || t.pow10 !== undefined) out.push(`<line${attrs({ x1: x(t.v), x2: x(t.v), y1: 0, y2: ph })}/>`);
    for (const t of yt) if (t.label !== undefined || t.pow10 !== undefined) out.push(`<line${attrs({ x1: 0, x2: pw, y1: y(t.v), y2: y(t.v) })}/>`);
    out.push(`</g>`);
    // series
    out.push(`<g clip-path="url(#${esc(clipId)})" fill="none" stroke-width="1.8" stroke-linejoin="round">`);
    for (const s of panel.series) {
      const [a, b] = visibleRange(s.x, xDom[0], xDom[1]);
      const pts: [number, number][] = [];
      for (let i = a; i <= b; i++) pts.push([s.x[i], s.y[i]]);
      const gen = line<[number, number]>()
        .defined((p) => usable(p[0], xLog) && usable(p[1], yLog))
        .x((p) => x(p[0]))
        .y((p) => y(p[1]))
        .digits(2);
      const d = gen(pts) ?? '';
      out.push(
        `<path class="series"${attrs({ d, stroke: s.color, 'stroke-dasharray': s.dash, 'data-label': s.label, ...(s.attrs ?? {}) })}/>`,
      );
    }
    out.push(`</g>`);
    // axes: frame, ticks, labels
    out.push(`<rect${attrs({ x: 0, y: 0, width: pw, height: ph, fill: 'none', stroke: '#222', 'stroke-width': 1 })}/>`);
    out.push(`<g class="x-axis" font-size="11" text-anchor="middle">`);
    for (const t of xt) {
      const major = t.label !== undefined || t.pow10 !== undefined;
      out.push(`<line${attrs({ x1: x(t.v), x2: x(t.v), y1: ph, y2: ph + (major ? 5 : 3), stroke: '#222' })}/>`);
      if (major) out.push(`<text${attrs({ x: x(t.v), y: ph + 18 })}>${tickLabel(t)}</text>`);
    }
    out.push(`<text class="axis-label"${attrs({ x: pw / 2, y: ph + 38, 'font-size': 13 })}>${esc(spec.xLabel)}</text>`);
    out.push(`</g>`);
    out.push(`<g class="y-axis" font-size="11" text-anchor="end">`);
    for (const t of yt) {
      const major = t.label !== undefined || t.pow10 !== undefined;
      out.push(`<line${attrs({ x1: major ? -5 : -3, x2: 0, y1: y(t.v), y2: y(t.v), stroke: '#222' })}/>`);
      if (major) out.push(`<text${attrs({ x: -8, y: y(t.v) + 4 })}>${tickLabel(t)}</text>`);
    }
    out.push(
      `<text class="axis-label"${attrs({ transform: `translate(${-46},${r(ph / 2)}) rotate(-90)`, 'text-anchor': 'middle', 'font-size': 13 })}>${esc(spec.yLabel)}</text>`,
    );
    out.push(`</g>`);
    out.push(`</g>`);
  });

  // legend
  const legend =
    spec.legend ??
    [...new Map(allSeries.map((s) => [s.label, { label: s.label, color: s.color, dash: s.dash }])).values()];
  const lx = width - LEGEND_W + 8;
  const ly = titleH + M.top + 6;
  out.push(`<g class="legend" font-size="12">`);
  legend.forEach((e, i) => {
    const yy = ly + i * 20;
    out.push(
      `<line${attrs({ x1: lx, x2: lx + 24, y1: yy, y2: yy, stroke: e.color, 'stroke-width': 2.2, 'stroke-dasharray': e.dash })}/>`,
    );
    out.push(`<text${attrs({ x: lx + 30, y: yy + 4 })}>${esc(e.label)}</text>`);
  });
  out.push(`</g>`);
  out.push(`</svg>`);
  return out.join('\n') + '\n';
}

export interface ProfilesOptions {
  /** depth range shown, nm (default 150) */
  maxDepth_nm?: number;
  layout?: 'row' | 'column';
  panelWidth?: number;
  panelHeight?: number;
  idPrefix?: string;
}

function fmtMC(c: number): string {
  return `${(c * 1e3).toPrecision(3)} mC`;
}

function fmtH(t: number): string {
  return `${(t / 3600).toPrecision(3)} h`;
}

/** Ion label from the species name and charge number: Li+, Ca2+, F-. */
export function ionLabel(name: string, z = 1): string {
  const sign = z > 0 ? '+' : '-';
  return `${name}${Math.abs(z) === 1 ? '' : Math.abs(z)}${sign}`;
}

/** Species colour by protocol order (the same in every panel and figure). */
export function speciesColors(protocol: Protocol): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of Object.keys(protocol.species)) out[s] = speciesColor(s);
  return out;
}

/** n/n0 versus depth after each stage: one panel per stage, one line per species of the protocol. */
export function profilesSvg(protocol: Protocol, result: ProtocolResult, opts: ProfilesOptions = {}): string {
  const species = Object.keys(protocol.species);
  const colors = speciesColors(protocol);
  const maxDepth = opts.maxDepth_nm ?? 150;
  const panels: Panel[] = result.stages.map((st, k) => ({
    title: `${k + 1}. ${st.name}: ${ionLabel(st.beam, protocol.species[st.beam]?.z)} beam, ${fmtMC(st.charge_C)}, ${fmtH(st.duration_s)}`,
    series: species.map((s) => ({
      label: s,
      color: colors[s],
      x: st.depth_nm,
      y: st.density[s] ?? new Array<number>(st.depth_nm.length).fill(0),
      attrs: { 'data-species': s, 'data-stage': String(k + 1) },
    })),
  }));
  let yMax = 1;
  for (const st of result.stages)
    for (const s of species) {
      const d = st.density[s];
      if (!d) continue;
      for (let i = 0; i < d.length; i++) if (st.depth_nm[i] <= maxDepth && Number.isFinite(d[i]) && d[i] > yMax) yMax = d[i];
    }
  return linePlotSvg({
    title: `${protocol.name}: depth profiles after ${result.stages.map((st) => `${st.name} (${fmtMC(st.charge_C)})`).join(', ')}`,
    xLabel: 'depth (nm)',
    yLabel: 'n / n0',
    panels,
    xDomain: [0, maxDepth],
    yDomain: [0, Math.max(1.1, yMax * 1.02)],
    layout: opts.layout,
    panelWidth: opts.panelWidth,
    panelHeight: opts.panelHeight,
    legend: species.map((s) => ({ label: ionLabel(s, protocol.species[s].z), color: colors[s] })),
    idPrefix: opts.idPrefix ?? 'cait-profiles',
  });
}

export interface CurrentOptions {
  /** logarithmic time axis in s (default, shows the initial charging transient); false: linear in hours */
  logTime?: boolean;
  layout?: 'row' | 'column';
  idPrefix?: string;
}

/** Current through the front (and back) versus time, one panel per stage, in nA. */
export function currentSvg(protocol: Protocol, result: ProtocolResult, opts: CurrentOptions = {}): string {
  const log = opts.logTime ?? true;
  const scaleT = log ? 1 : 1 / 3600;
  const panels: Panel[] = result.stages.map((st, k) => ({
    title: `${k + 1}. ${st.name}: ${fmtMC(st.charge_C)}, ${fmtH(st.duration_s)}`,
    series: [
      {
        label: 'front',
        color: '#222222',
        x: Array.from(st.current.t_s, (t) => t * scaleT),
        y: Array.from(st.current.I_A, (i) => i * 1e9),
      },
      {
        label: 'back',
        color: '#888888',
        dash: '5 3',
        x: Array.from(st.current.t_s, (t) => t * scaleT),
        y: Array.from(st.current.I_back_A, (i) => i * 1e9),
      },
    ],
  }));
  return linePlotSvg({
    title: `${protocol.name}: current`,
    xLabel: log ? 'time (s)' : 'time (h)',
    yLabel: 'current (nA)',
    panels,
    xLog: log,
    layout: opts.layout,
    legend: [
      { label: 'front surface', color: '#222222' },
      { label: 'back electrode', color: '#888888', dash: '5 3' },
    ],
    idPrefix: opts.idPrefix ?? 'cait-current',
  });
}
