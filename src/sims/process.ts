/**
 * From a raw SIMS profile to a measured profile (PHYSICS.md §7):
 *
 *  1. Poisson (dead-time) correction, only with the number of primary-ion
 *     shots per point N: I = −N ln(1 − C/N). A channel with C/N ≥ 0.5 at some
 *     point (correction ≥ 39 %) gets a warning; C ≥ N is an ERROR naming the
 *     line and column (the true intensity is unbounded there — no clamping).
 *     Not for already normalized element columns, nor for Cameca count rates.
 *  2. Depth: a depth axis is used as is; a time axis needs a depth scale —
 *     --sputter-rate R (depth = R·t), or --crater-depth D
 *     (depth = t·D/T, T the file's total sputtering time, else the last
 *     time point), else the file's crater depth or mean sputter rate.
 *  3. Isotope sums per element (7Li+ → Li, 133Cs → Cs; 6Li + 7Li → Li).
 *  4. Normalization per point to unit sum with relative sensitivity factors:
 *     c_X = s_X I_X / Σ_Y s_Y I_Y (s default 1). Points whose weighted sum is
 *     zero are dropped with a warning.
 */
import { InputError, fmtNum } from '../config/validate.js';
import type { MeasuredProfile, ProcessOptions, RawProfile } from './types.js';
import { elementOf } from './util.js';

/** Poisson (dead-time) corrected intensity of C counts with N shots: −N ln(1 − C/N). Requires 0 ≤ C < N. */
export function poissonCorrect(counts: number, shots: number): number {
  return -shots * Math.log1p(-counts / shots);
}

/** C/N above which a channel gets a saturation warning. */
export const SATURATION_WARN = 0.5;

function depthScale(raw: RawProfile, opts: ProcessOptions, where: string): { depth: number[]; from: string } {
  const t = raw.axis.values;
  const hasCrater = opts.craterDepth_nm !== undefined;
  const hasRate = opts.sputterRate_nm_s !== undefined;
  if (hasCrater && hasRate) throw new InputError('--crater-depth and --sputter-rate cannot be used together');
  for (const [name, v] of [['--crater-depth', opts.craterDepth_nm], ['--sputter-rate', opts.sputterRate_nm_s]] as const)
    if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw new InputError(`${name} must be a positive number`);
  if (raw.axis.kind === 'depth_nm') {
    if (hasCrater || hasRate)
      throw new InputError(`${where}: has a depth column (${raw.axis.title}); ${hasCrater ? '--crater-depth' : '--sputter-rate'} applies only to a sputter-time axis`);
    return { depth: t.slice(), from: `depth column "${raw.axis.title}"` };
  }
  const p = raw.params;
  const crater = opts.craterDepth_nm ?? (hasRate ? undefined : p.craterDepth_nm);
  const rate = opts.sputterRate_nm_s ?? (crater === undefined ? p.sputterRate_nm_s : undefined);
  const src = hasCrater || hasRate ? 'option' : 'file';
  if (crater !== undefined) {
    const total = p.totalTime_s ?? t[t.length - 1];
    const totalFrom = p.totalTime_s !== undefined ? 'total sputtering time of the file' : 'last time point';
    if (!(total > 0)) throw new InputError(`${where}: total sputter time ${fmtNum(total)} s: cannot scale depth by the crater depth`);
    return { depth: t.map((x) => (x * crater) / total), from: `crater depth ${fmtNum(crater)} nm (${src}) / ${fmtNum(total)} s (${totalFrom})` };
  }
  if (rate !== undefined) return { depth: t.map((x) => x * rate), from: `sputter rate ${fmtNum(rate)} nm/s (${src})` };
  throw new InputError(`${where}: the profile has a sputter-time axis (${raw.axis.title}): give --crater-depth NM or --sputter-rate NM_PER_S`);
}

export function processProfile(raw: RawProfile, opts: ProcessOptions = {}, where = 'input'): MeasuredProfile {
  const warnings = raw.warnings.slice();
  const { depth, from } = depthScale(raw, opts, where);
  const n = depth.length;

  // 1. dead-time correction
  const intens = raw.channels.map((ch) => ch.values.slice());
  if (opts.shots !== undefined) {
    const N = opts.shots;
    if (!(Number.isFinite(N) && N > 0)) throw new InputError('--shots must be a positive number');
    if (raw.normalized) throw new InputError(`${where}: --shots applies to counts, but the columns are already normalized elements`);
    if (raw.format === 'cameca') throw new InputError(`${where}: --shots applies to ToF-SIMS counts per point; Cameca intensities are count rates (cnt/s)`);
    raw.channels.forEach((ch, k) => {
      let high = 0;
      let maxRatio = 0;
      for (let i = 0; i < n; i++) {
        const C = ch.values[i];
        if (C >= N)
          throw new InputError(
            `${where}: line ${raw.lines[i]}, column ${ch.column} (${ch.label}): ${fmtNum(C)} counts >= ${fmtNum(N)} shots: saturated, the Poisson correction diverges`,
          );
        if (C / N >= SATURATION_WARN) high++;
        maxRatio = Math.max(maxRatio, C / N);
        intens[k][i] = poissonCorrect(C, N);
      }
      if (high > 0) warnings.push(`${ch.label}: ${high} point(s) near saturation (C/N up to ${fmtNum(maxRatio)}; correction up to ×${fmtNum(-Math.log1p(-maxRatio) / maxRatio)})`);
    });
  }

  // 3. isotope sums
  const elements: string[] = [];
  const channelsOf: Record<string, string[]> = {};
  const sum: Record<string, number[]> = {};
  raw.channels.forEach((ch, k) => {
    const el = elementOf(ch.label);
    if (el === undefined) return;
    if (!(el in sum)) {
      elements.push(el);
      channelsOf[el] = [];
      sum[el] = new Array<number>(n).fill(0);
    }
    channelsOf[el].push(ch.label);
    for (let i = 0; i < n; i++) sum[el][i] += intens[k][i];
  });

  // 4. sensitivities and normalization
  const s: Record<string, number> = {};
  for (const el of elements) s[el] = 1;
  for (const [el, v] of Object.entries(opts.sensitivity ?? {})) {
    if (!(el in s)) throw new InputError(`--sensitivity ${el}: no such element in the data (${elements.join(', ')})`);
    if (!(Number.isFinite(v) && v > 0)) throw new InputError(`--sensitivity ${el}=${v}: must be a positive number`);
    if (raw.normalized) throw new InputError(`${where}: --sensitivity applies to intensities, but the columns are already normalized elements`);
    s[el] = v;
  }
  const keep: number[] = [];
  const dropped: number[] = [];
  let offUnit = 0;
  const total = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    let tot = 0;
    for (const el of elements) tot += s[el] * sum[el][i];
    total[i] = tot;
    if (tot > 0) keep.push(i);
    else dropped.push(raw.lines[i]);
    if (raw.normalized && Math.abs(tot - 1) > 1e-3) offUnit++;
  }
  if (raw.normalized && offUnit > 0) warnings.push(`${offUnit} point(s) of the normalized columns do not sum to 1; renormalized`);
  if (dropped.length > 0)
    warnings.push(`${dropped.length} point(s) with zero total signal dropped (line${dropped.length > 1 ? 's' : ''} ${dropped.slice(0, 5).join(', ')}${dropped.length > 5 ? ', …' : ''})`);
  if (keep.length === 0) throw new InputError(`${where}: every point has zero total signal`);
  const c: Record<string, number[]> = {};
  for (const el of elements) c[el] = keep.map((i) => (s[el] * sum[el][i]) / total[i]);
  return {
    format: raw.format,
    depth_nm: keep.map((i) => depth[i]),
    elements,
    c,
    channelsOf,
    depthFrom: from,
    raw,
    warnings,
  };
}
