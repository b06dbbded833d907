/**
 * Synthetic SIMS data: a forward model of a SIMS depth-profile measurement
 * that turns a simulated profile (n/n0 per species on cell centres) into raw
 * data with realistic artefacts, and writers for every format the importer
 * reads (plain CSV, IONTOF SurfaceLab ASCII, Cameca .dp_rpc_asc). Synthetic
 * data are for testing the import and the fit: every file says SYNTHETIC in
 * its header, with the parameters that made it.
 *
 * The model, point by point (depth x of a data point = sputter time · rate):
 *  1. depth resolution: the cell-wise constant profile seen through a
 *     Gaussian (or MRI) resolution function mirrored at the surface — the
 *     observation operator of the observation layer (src/observe/observe.ts), not a
 *     copy of it;
 *  2. a near-surface artefact: the yield of element X is multiplied by
 *     1 + (a_X − 1) e^{−x/ℓ} (pre-equilibrium sputtering; a_X > 1 enhanced,
 *     < 1 depleted), so the first few ℓ are distorted;
 *  3. unequal sensitivities: the true intensity of element X is
 *     I_X = Y_X · (that factor) · n_X/n0 (Y_X: counts per point, or cnt/s,
 *     at n/n0 = 1), split over the isotopes by natural abundance;
 *  4. detector and counting noise, drawn with a seeded RNG (mulberry32):
 *     - ToF (`tof`, counts per point): with N primary shots per point a
 *       channel records at most one ion per shot, so C ~ Binomial(N,
 *       1 − e^{−I/N}): mean N(1 − e^{−I/N}) (the saturation the importer's
 *       Poisson correction −N ln(1 − C/N) undoes), Poisson(I) for I ≪ N;
 *       without `shots`, C ~ Poisson(I);
 *     - electron multiplier (`em`, count rates, Cameca): non-paralysable
 *       dead time τ: observed rate R/(1 + Rτ) for a true rate R; counts
 *       ~ Poisson(dwell · R/(1 + Rτ)), written as counts / dwell (cnt/s);
 *  5. the sputter-time axis: constant sputter rate (crater depth / total
 *     sputter time). ToF: every channel at the end of its cycle,
 *     t_i = (i + 1) T/P. EM: the species are measured one after another, species k of K at
 *     t = (i + (k + 1)/K) T/P, each with its own time column.
 *
 * Platform-neutral (no Node imports).
 *
 * @example
 * const s = synthesizeSims({ depth_nm, density }, { seed: 1, points: 250, craterDepth_nm: 100, totalTime_s: 500,
 *   yields: { Li: 2000, Rb: 5000, Cs: 8000 }, detector: { kind: 'tof', shots: 10000 } });
 * const text = syntheticSimsText(s, 'iontof'); // importSims(text, { shots: 10000, craterDepth_nm: 100, sensitivity: { Rb: 0.4, Cs: 0.25 } })
 */
import { InputError } from '../core/errors.js';
import { applyOperator, observationOperator, type DepthResolution } from '../observe/observe.js';
import { facesFromCentres } from '../analysis/profiles.js';
import { mulberry32 } from '../core/random.js';
import { parseParams } from './cameca.js';
import type { SimsFormat } from './types.js';

/** One isotope of an element: channel label (without charge), mass (u), natural abundance (fraction). */
export interface Isotope {
  label: string;
  mass: number;
  abundance: number;
}

/** Natural isotopes of the mobile ions (IUPAC abundances; ion masses as IONTOF lists them). */
export const ISOTOPES: Readonly<Record<string, readonly Isotope[]>> = {
  Li: [
    { label: '6Li', mass: 6.015, abundance: 0.0759 },
    { label: '7Li', mass: 7.016, abundance: 0.9241 },
  ],
  Na: [{ label: '23Na', mass: 22.99, abundance: 1 }],
  K: [
    { label: '39K', mass: 38.964, abundance: 0.932581 },
    { label: '41K', mass: 40.962, abundance: 0.067302 + 0.000117 },
  ],
  Rb: [
    { label: '85Rb', mass: 84.912, abundance: 0.7217 },
    { label: '87Rb', mass: 86.909, abundance: 0.2783 },
  ],
  Cs: [{ label: '133Cs', mass: 132.905, abundance: 1 }],
};

export type SyntheticDetector =
  /** ToF-SIMS: counts per data point; `shots` primary-ion shots per point (omitted: no saturation) */
  | { kind: 'tof'; shots?: number }
  /** electron multiplier (Cameca): count rates (cnt/s), non-paralysable dead time, counting time per species per cycle */
  | { kind: 'em'; deadTime_ns: number; dwell_s: number };

export interface SyntheticOptions {
  /** seed of the counting noise (mulberry32) */
  seed: number;
  /** data points (sputter cycles) */
  points: number;
  /** crater depth at the end of the profile, nm */
  craterDepth_nm: number;
  /** total sputter time, s (constant sputter rate craterDepth / totalTime) */
  totalTime_s: number;
  /** depth resolution (default Gaussian σ = 2 nm) */
  resolution?: DepthResolution;
  /** near-surface artefact: yield factor a_X at x = 0 relaxing to 1 over `length_nm` (elements not listed: 1) */
  surface?: { length_nm: number; factor: Record<string, number> };
  /** useful yield per element: counts per point (tof) or cnt/s (em) at n/n0 = 1 */
  yields: Record<string, number>;
  detector: SyntheticDetector;
  /** isotopes per element (default ISOTOPES) */
  isotopes?: Record<string, readonly Isotope[]>;
  /** description lines for the file headers (e.g. what was simulated, with which parameters) */
  about?: string[];
  /** parameters recorded as one JSON line in every header (`synthetic-params: {...}`) */
  params?: Record<string, unknown>;
}

export interface SyntheticChannel {
  /** channel label without charge, e.g. 7Li */
  label: string;
  element: string;
  mass: number;
  /** sputter time of each point, s */
  time_s: number[];
  /** true sputter depth of each point, nm */
  depth_nm: number[];
  /** true intensity (counts per point or cnt/s) before the detector */
  expected: number[];
  /** what the instrument writes: counts per point (tof) or cnt/s (em) */
  observed: number[];
}

export interface SyntheticSims {
  options: SyntheticOptions;
  channels: SyntheticChannel[];
  /** elements in channel order */
  elements: string[];
  /** the blurred truth (normalized to unit sum, no artefacts) at the first channel's depths */
  truth: { depth_nm: number[]; c: Record<string, number[]> };
  /** header lines every writer puts first (SYNTHETIC …) */
  header: string[];
}

/** ln Γ(x) for x > 0 (Stirling series after shifting x ≥ 12; error ~3e-15). */
export function logGamma(x: number): number {
  let shift = 0;
  while (x < 12) {
    shift += Math.log(x);
    x += 1;
  }
  const x2 = x * x;
  const series = 1 / (12 * x) - 1 / (360 * x * x2) + 1 / (1260 * x * x2 * x2) - 1 / (1680 * x * x2 * x2 * x2) + 1 / (1188 * x * x2 * x2 * x2 * x2);
  return (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + series - shift;
}

/**
 * Inversion of a discrete distribution on lo … hi from its mode outwards
 * (m, m + 1, m − 1, m + 2, …: a fixed order, so it is an exact inversion),
 * with pmf(mode) and the ratios pmf(k + 1)/pmf(k) and pmf(k − 1)/pmf(k).
 * O(√variance) steps.
 */
function invertFromMode(
  u: number,
  mode: number,
  pmfMode: number,
  up: (k: number) => number,
  down: (k: number) => number,
  lo: number,
  hi: number,
): number {
  let cum = pmfMode;
  if (u < cum) return mode;
  let kU = mode;
  let pU = pmfMode;
  let kD = mode;
  let pD = pmfMode;
  for (;;) {
    const canUp = kU < hi && pU > 0;
    const canDown = kD > lo && pD > 0;
    if (!canUp && !canDown) return mode; // u in the rounding remainder (< 1e-12)
    if (canUp) {
      pU *= up(kU);
      kU++;
      cum += pU;
      if (u < cum) return kU;
    }
    if (canDown) {
      pD *= down(kD);
      kD--;
      cum += pD;
      if (u < cum) return kD;
    }
  }
}

/** A Poisson(λ) draw from one uniform number. */
export function poissonDraw(lambda: number, rand: () => number): number {
  if (!(lambda > 0)) return 0;
  const m = Math.floor(lambda);
  const pm = Math.exp(m * Math.log(lambda) - lambda - logGamma(m + 1));
  return invertFromMode(rand(), m, pm, (k) => lambda / (k + 1), (k) => k / lambda, 0, Infinity);
}

/** A Binomial(n, p) draw from one uniform number. */
export function binomialDraw(n: number, p: number, rand: () => number): number {
  if (!(p > 0)) return 0;
  if (p >= 1) return n;
  const m = Math.min(n, Math.floor((n + 1) * p));
  const lpm = logGamma(n + 1) - logGamma(m + 1) - logGamma(n - m + 1) + m * Math.log(p) + (n - m) * Math.log1p(-p);
  const r = p / (1 - p);
  return invertFromMode(rand(), m, Math.exp(lpm), (k) => ((n - k) / (k + 1)) * r, (k) => (k / (n - k + 1)) / r, 0, n);
}

function positive(name: string, v: number): void {
  if (!(Number.isFinite(v) && v > 0)) throw new InputError(`synthetic SIMS: ${name} must be a positive number (got ${v})`);
}

/** The raw SIMS data a measurement of `profile` would give (see the module comment for the model). */
export function synthesizeSims(profile: { depth_nm: ArrayLike<number>; density: Record<string, ArrayLike<number>> }, opts: SyntheticOptions): SyntheticSims {
  const P = opts.points;
  if (!(Number.isInteger(P) && P >= 2)) throw new InputError(`synthetic SIMS: points must be an integer >= 2 (got ${P})`);
  positive('craterDepth_nm', opts.craterDepth_nm);
  positive('totalTime_s', opts.totalTime_s);
  const det = opts.detector;
  if (det.kind === 'tof' && det.shots !== undefined && !(Number.isInteger(det.shots) && det.shots >= 1))
    throw new InputError(`synthetic SIMS: shots must be an integer >= 1 (got ${det.shots})`);
  if (det.kind === 'em') {
    positive('deadTime_ns', det.deadTime_ns);
    positive('dwell_s', det.dwell_s);
  }
  const iso = opts.isotopes ?? ISOTOPES;
  const elements = Object.keys(opts.yields);
  for (const el of elements) {
    positive(`yields.${el}`, opts.yields[el]);
    if (!(el in profile.density)) throw new InputError(`synthetic SIMS: the profile has no species ${el} (has ${Object.keys(profile.density).join(', ')})`);
    if (!iso[el]) throw new InputError(`synthetic SIMS: no isotopes known for ${el}`);
  }
  if (opts.surface) {
    positive('surface.length_nm', opts.surface.length_nm);
    for (const [el, a] of Object.entries(opts.surface.factor)) {
      if (!elements.includes(el)) throw new InputError(`synthetic SIMS: surface.factor.${el}: not an element of the yields (${elements.join(', ')})`);
      positive(`surface.factor.${el}`, a);
    }
  }
  const res = opts.resolution ?? { kind: 'gauss', sigma_nm: 2 };
  const faces = facesFromCentres(profile.depth_nm);
  const rate = opts.craterDepth_nm / opts.totalTime_s;
  const cycle = opts.totalTime_s / P;
  const rand = mulberry32(opts.seed);

  // channels in element order, isotopes in mass order
  const chans: { label: string; element: string; mass: number; abundance: number }[] = [];
  for (const el of elements) for (const i of iso[el]) chans.push({ label: i.label, element: el, mass: i.mass, abundance: i.abundance });
  const K = chans.length;
  const timeOf = (i: number, k: number) => (det.kind === 'tof' ? (i + 1) * cycle : (i + (k + 1) / K) * cycle);

  const blurredAt = (depths: number[]) => {
    const op = observationOperator(faces, depths, res);
    const out: Record<string, Float64Array> = {};
    for (const el of elements) out[el] = applyOperator(op, profile.density[el]);
    return out;
  };
  // ToF channels share one time axis (one operator); EM channels each have their own
  const blurCache = new Map<number, Record<string, Float64Array>>();
  const channels: SyntheticChannel[] = chans.map((ch, k) => {
    const time_s = Array.from({ length: P }, (_, i) => timeOf(i, k));
    const depth_nm = time_s.map((t) => t * rate);
    const key = det.kind === 'tof' ? 0 : k;
    if (!blurCache.has(key)) blurCache.set(key, blurredAt(depth_nm));
    const b = blurCache.get(key)![ch.element];
    const a = opts.surface?.factor[ch.element] ?? 1;
    const ell = opts.surface?.length_nm ?? 1;
    const expected = depth_nm.map((x, i) => Math.max(0, opts.yields[ch.element] * ch.abundance * (1 + (a - 1) * Math.exp(-x / ell)) * b[i]));
    return { label: ch.label, element: ch.element, mass: ch.mass, time_s, depth_nm, expected, observed: new Array<number>(P) };
  });
  // noise: point by point, channel by channel (a fixed draw order)
  for (let i = 0; i < P; i++) {
    for (const ch of channels) {
      const I = ch.expected[i];
      if (det.kind === 'tof') {
        const N = det.shots;
        ch.observed[i] = N === undefined ? poissonDraw(I, rand) : binomialDraw(N, -Math.expm1(-I / N), rand);
      } else {
        const tau = det.deadTime_ns * 1e-9;
        const counts = poissonDraw((det.dwell_s * I) / (1 + I * tau), rand);
        ch.observed[i] = counts / det.dwell_s;
      }
    }
  }
  const depth0 = channels[0].depth_nm;
  const tb = blurCache.get(0)!;
  const c: Record<string, number[]> = {};
  for (const el of elements) c[el] = [];
  for (let i = 0; i < P; i++) {
    let sum = 0;
    for (const el of elements) sum += tb[el][i];
    for (const el of elements) c[el].push(sum > 0 ? tb[el][i] / sum : 0);
  }
  const header = syntheticHeader(opts, res);
  return { options: opts, channels, elements, truth: { depth_nm: depth0.slice(), c }, header };
}

/** The first header line of every synthetic file. */
export const SYNTHETIC_MARK = 'SYNTHETIC data made by cait-ensemble (src/sims/synthetic.ts), NOT a measurement';

/** True when a file's text was written by the synthetic writers (its header carries SYNTHETIC_MARK). */
export function isSyntheticSims(text: string): boolean {
  return text.includes(SYNTHETIC_MARK);
}

function syntheticHeader(opts: SyntheticOptions, res: DepthResolution): string[] {
  const det = opts.detector;
  const resText = res.kind === 'gauss' ? `Gaussian sigma ${res.sigma_nm} nm` : `MRI w ${res.w_nm} nm, sigma ${res.sigma_nm} nm, lambda ${res.lambda_nm} nm`;
  const lines = [
    SYNTHETIC_MARK,
    ...(opts.about ?? []),
    `forward model: depth resolution ${resText} (mirrored at the surface); noise seed ${opts.seed}`,
    opts.surface
      ? `near-surface artefact: yield x (1 + (a - 1) exp(-x / ${opts.surface.length_nm} nm)), a = ${Object.entries(opts.surface.factor)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`
      : 'near-surface artefact: none',
    `useful yields at n/n0 = 1 (${det.kind === 'tof' ? 'counts per point' : 'cnt/s'}): ${Object.entries(opts.yields)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    det.kind === 'tof'
      ? det.shots === undefined
        ? 'detector: ToF counting, Poisson noise, no saturation'
        : `detector: ToF counting, ${det.shots} shots per point (binomial: at most one ion per shot)`
      : `detector: electron multiplier, non-paralysable, tau ${det.deadTime_ns} ns, ${det.dwell_s} s per species per cycle (Poisson)`,
    `sputtering: ${opts.points} points, ${opts.totalTime_s} s in all, ${opts.craterDepth_nm} nm at the end`,
  ];
  if (opts.params) lines.push(`synthetic-params: ${JSON.stringify(opts.params)}`);
  return lines;
}

/** Integer or up to 8 significant digits. */
function num(x: number): string {
  return String(Number(x.toPrecision(8)));
}

/** Cameca-style scientific notation: 1.234560E+06. */
function sci(x: number): string {
  const [m, e] = x.toExponential(6).split('e');
  const ex = Number(e);
  return `${m}E${ex < 0 ? '-' : '+'}${String(Math.abs(ex)).padStart(2, '0')}`;
}

/** The first `synthetic-params:` JSON of a file's text (any format), or undefined. */
export function syntheticParamsOf(text: string): Record<string, unknown> | undefined {
  const m = /synthetic-params: (\{.*\})\s*$/m.exec(text);
  return m ? (JSON.parse(m[1]) as Record<string, unknown>) : undefined;
}

function requireTof(s: SyntheticSims, format: string): void {
  if (s.options.detector.kind !== 'tof') throw new InputError(`synthetic SIMS: the ${format} writer takes ToF counts per point (detector kind "tof"), not ${s.options.detector.kind} count rates`);
}

/** Plain CSV: `#` header lines, then time_s and one column per mass channel (counts per point). LF line ends. */
export function syntheticCsv(s: SyntheticSims): string {
  requireTof(s, 'CSV');
  const out = s.header.map((l) => `# ${l}`);
  out.push(['time_s', ...s.channels.map((c) => c.label)].join(','));
  const t = s.channels[0].time_s;
  for (let i = 0; i < t.length; i++) out.push([num(t[i]), ...s.channels.map((c) => num(c.observed[i]))].join(','));
  return out.join('\n') + '\n';
}

/**
 * IONTOF SurfaceLab ASCII export: CRLF, tab separated with trailing tabs,
 * `#` header lines (comments, ion labels 7Li+ …, masses, column titles),
 * one (Sputter Time (s), Intensity(Background Corrected)) pair per ion.
 */
export function syntheticIontof(s: SyntheticSims): string {
  requireTof(s, 'IONTOF');
  const K = s.channels.length;
  const pad = '\t'.repeat(2 * K);
  const lines = s.header.map((l) => `# ${l}${pad}`);
  lines.push(`#\t${s.channels.map((c) => `${c.label}+\t\t`).join('')}`);
  lines.push(`#\t${s.channels.map((c) => `${c.mass}\t\t`).join('')}`);
  lines.push(`#\t${s.channels.map(() => 'Sputter Time (s)\tIntensity(Background Corrected)\t').join('')}`);
  const P = s.channels[0].time_s.length;
  for (let i = 0; i < P; i++) lines.push(s.channels.map((c) => `${num(c.time_s[i])}\t${num(c.observed[i])}\t`).join(''));
  return lines.join('\r\n') + '\r\n';
}

/**
 * Cameca IMS `.dp_rpc_asc`: header lines, `*** DATA START ***`, a species
 * line over Time[mn] Depth I[cnt/s] triplets (each species its own time
 * column: measured one after another), `*** DATA END ***`, then the
 * analytical (EM dead time) and calibration (total sputtering time, mean
 * sputter rate, crater depth) parameter sections.
 */
export function syntheticCameca(s: SyntheticSims): string {
  const det = s.options.detector;
  if (det.kind !== 'em') throw new InputError('synthetic SIMS: the Cameca writer takes electron-multiplier count rates (detector kind "em")');
  // the header must not be read as a parameter (the parser reads key : value lines outside the data block)
  const header = ['CAMECA IMS depth profile -- SYNTHETIC', ...s.header.map((l) => `Comment : ${l}`)];
  if (Object.keys(parseParams(header)).length > 0) throw new Error(`synthetic Cameca header would be read as parameters: ${JSON.stringify(parseParams(header))}`);
  const o = s.options;
  const lines = [...header, '', '*** DATA START ***', ''];
  lines.push(s.channels.map((c) => `${c.label}\t\t`).join('\t').replace(/\t+$/, ''));
  lines.push(s.channels.map(() => 'Time[mn]\tDepth\tI[cnt/s]').join('\t'));
  const P = s.channels[0].time_s.length;
  for (let i = 0; i < P; i++)
    lines.push(s.channels.map((c) => `${(c.time_s[i] / 60).toFixed(6)}\t${c.depth_nm[i].toFixed(3)}\t${sci(c.observed[i])}`).join('\t'));
  lines.push(
    '',
    '*** DATA END ***',
    '',
    '*** ANALYTICAL PARAMETERS ***',
    `EM Dead Time (ns) : ${det.deadTime_ns}`,
    `Counting time per species per cycle (s) : ${det.dwell_s}`,
    '',
    '*** CALIBRATION PARAMETERS ***',
    `Total sputtering time (s) : ${o.totalTime_s}`,
    `Mean sputter rate (nm/s) : ${num(o.craterDepth_nm / o.totalTime_s)}`,
    `Crater depth (nm) : ${o.craterDepth_nm}`,
  );
  return lines.join('\n') + '\n';
}

/** The synthetic data as the text of a file in `format`. */
export function syntheticSimsText(s: SyntheticSims, format: SimsFormat): string {
  switch (format) {
    case 'csv':
      return syntheticCsv(s);
    case 'iontof':
      return syntheticIontof(s);
    case 'cameca':
      return syntheticCameca(s);
    default:
      throw new InputError(`synthetic SIMS: unknown format ${String(format)}`);
  }
}
