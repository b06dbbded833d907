/**
 * From a raw SIMS profile to a measured profile (docs/model.md §7.1):
 *
 *  1. Counting corrections (skipped when the detector is unknown):
 *     a. ToF, with the number of primary-ion shots per point N (--shots):
 *        the Poisson correction I = −N ln(1 − C/N). A channel with
 *        C/N ≥ 0.5 at some point (correction ≥ 39 %) gets a warning; C ≥ N
 *        is an ERROR naming the line and column (the true intensity is
 *        unbounded there — no clamping). Not for already normalized element
 *        columns, nor for Cameca count rates.
 *     b. Count rates (cnt/s) from a counting detector with a dead time τ
 *        (Cameca "EM Dead Time" of the file, or --dead-time): the
 *        non-paralysable correction N = N_obs / (1 − N_obs τ). N_obs τ > 0.1
 *        gets a warning, N_obs τ ≥ 1 is an ERROR naming line and column.
 *        (Cameca species are first resampled onto the first species' times;
 *        the correction is applied to the resampled rates.)
 *  2. Depth: a depth axis is used as is; a time axis needs a depth scale —
 *     --sputter-rate R (depth = R·t), or --crater-depth D
 *     (depth = t·D/T, T the file's total sputtering time, else the last
 *     time point), else the file's crater depth or mean sputter rate.
 *  3. Isotope sums per element (7Li+ → Li, 133Cs → Cs; 6Li + 7Li → Li).
 *  4. Normalization per point to unit sum with relative sensitivity factors:
 *     c_X = s_X I_X / Σ_Y s_Y I_Y (s default 1). Points whose weighted sum is
 *     zero are dropped with a warning.
 *     With a charge calibration, the factors s_b of the beam species b are
 *     solved for so that ∫ c_b dx = Q_b / (e n0 A) (the delivered ions as a
 *     layer of density n0); the other species keep theirs (default 1). Since
 *     Σ c = 1 is forced at every point, only ratios of factors are
 *     identifiable and at least one species must stay uncalibrated: with one
 *     beam species and one native species there is exactly one factor. The
 *     calibration scales with the assumed n0 (and A), and needs the whole
 *     inventory inside the profile.
 */
import { fmtNum } from '../core/format.js';
import { InputError } from '../core/errors.js';
import { ELEMENTARY_CHARGE } from '../physics/constants.js';
import type { CalibratedElement, ChargeCalibration, MeasuredProfile, ProcessOptions, RawProfile } from './types.js';
import { channelOf } from './util.js';

/** Poisson (dead-time) corrected intensity of C counts with N shots: −N ln(1 − C/N). Requires 0 ≤ C < N. */
export function poissonCorrect(counts: number, shots: number): number {
  return -shots * Math.log1p(-counts / shots);
}

/** C/N above which a channel gets a saturation warning. */
export const SATURATION_WARN = 0.5;

/** Non-paralysable dead-time correction of an observed count rate (cnt/s) with dead time τ (s): N_obs / (1 − N_obs τ). Requires N_obs τ < 1. */
export function deadTimeCorrect(rate: number, tau_s: number): number {
  return rate / (1 - rate * tau_s);
}

/** N_obs τ above which a channel gets a dead-time warning (the correction exceeds ~11 %). */
export const DEAD_TIME_WARN = 0.1;

/**
 * ∫ c dx over a profile sampled at increasing depths (nm): trapezoids
 * between the points, c held at its first value from the surface (0) to the
 * first point, nothing beyond the last point.
 */
export function profileIntegral(depth_nm: readonly number[], c: readonly number[]): number {
  if (depth_nm.length === 0) return 0;
  let s = Math.max(0, depth_nm[0]) * c[0];
  for (let i = 1; i < depth_nm.length; i++) s += 0.5 * (c[i] + c[i - 1]) * (depth_nm[i] - depth_nm[i - 1]);
  return s;
}

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

/** Step 1a: the ToF Poisson correction, in place on `intens`. */
function correctShots(raw: RawProfile, N: number, intens: number[][], warnings: string[], notes: string[], where: string): void {
  if (!(Number.isFinite(N) && N > 0)) throw new InputError('--shots must be a positive number');
  if (raw.normalized) throw new InputError(`${where}: --shots applies to counts, but the columns are already normalized elements`);
  if (raw.format === 'cameca') throw new InputError(`${where}: --shots applies to ToF-SIMS counts per point; Cameca intensities are count rates (cnt/s)`);
  let worst = 0;
  raw.channels.forEach((ch, k) => {
    let high = 0;
    let maxRatio = 0;
    for (let i = 0; i < ch.values.length; i++) {
      const C = ch.values[i];
      if (C >= N)
        throw new InputError(
          `${where}: line ${raw.lines[i]}, column ${ch.column} (${ch.label}): ${fmtNum(C)} counts >= ${fmtNum(N)} shots: saturated, the Poisson correction diverges`,
        );
      if (C / N >= SATURATION_WARN) high++;
      maxRatio = Math.max(maxRatio, C / N);
      intens[k][i] = poissonCorrect(C, N);
    }
    worst = Math.max(worst, maxRatio);
    if (high > 0) warnings.push(`${ch.label}: ${high} point(s) near saturation (C/N up to ${fmtNum(maxRatio)}; correction up to ×${fmtNum(-Math.log1p(-maxRatio) / maxRatio)})`);
  });
  notes.push(`Poisson correction I = -N ln(1 - C/N), N = ${fmtNum(N)} shots per point (C/N up to ${fmtNum(Number(worst.toPrecision(3)))})`);
}

/** Step 1b: the non-paralysable dead-time correction of count rates, in place on `intens`. */
function correctDeadTime(
  raw: RawProfile,
  tau_ns: number,
  from: 'file' | 'option',
  intens: number[][],
  warnings: string[],
  notes: string[],
  where: string,
): { tau_ns: number; from: 'file' | 'option'; maxLoad: number } {
  if (raw.normalized) throw new InputError(`${where}: --dead-time applies to count rates, but the columns are already normalized elements`);
  if (raw.format === 'iontof')
    throw new InputError(`${where}: --dead-time applies to count rates (cnt/s); an IONTOF export holds ToF counts per point: use --shots N for their Poisson correction`);
  const tau = tau_ns * 1e-9;
  let worst = 0;
  raw.channels.forEach((ch, k) => {
    let high = 0;
    let maxLoad = 0;
    for (let i = 0; i < ch.values.length; i++) {
      const R = ch.values[i];
      const load = R * tau;
      if (load >= 1)
        throw new InputError(
          `${where}: line ${raw.lines[i]}, column ${ch.column} (${ch.label}): ${fmtNum(R)} cnt/s × dead time ${fmtNum(tau_ns)} ns = ${fmtNum(Number(load.toPrecision(4)))} >= 1: the dead-time correction diverges (are these count rates in cnt/s?)`,
        );
      if (load > DEAD_TIME_WARN) high++;
      maxLoad = Math.max(maxLoad, load);
      intens[k][i] = deadTimeCorrect(R, tau);
    }
    worst = Math.max(worst, maxLoad);
    if (high > 0)
      warnings.push(`${ch.label}: ${high} point(s) with N_obs·τ > ${DEAD_TIME_WARN} (up to ${fmtNum(Number(maxLoad.toPrecision(3)))}; dead-time correction up to ×${fmtNum(Number((1 / (1 - maxLoad)).toPrecision(4)))})`);
  });
  notes.push(
    `dead-time correction N = N_obs / (1 - N_obs tau), tau = ${fmtNum(tau_ns)} ns (${from === 'file' ? 'EM dead time of the file' : '--dead-time'}), N_obs·tau up to ${fmtNum(Number(worst.toPrecision(3)))}`,
  );
  return { tau_ns, from, maxLoad: worst };
}

/**
 * Sensitivity factors of the calibrated elements such that ∫ c_b dx equals
 * Q_b / (e n0 A) for each, the others fixed: Newton in ln s on
 * F_b = ∫ c_b dx − h_b with J_bk = ∫ c_b (δ_bk − c_k) dx.
 */
function calibrateFromCharge(
  cal: ChargeCalibration,
  elements: string[],
  s: Record<string, number>,
  userSet: ReadonlySet<string>,
  depth: number[],
  sum: Record<string, number[]>,
): Record<string, CalibratedElement> {
  for (const [name, v] of [['--n0', cal.n0_m3], ['--area', cal.area_m2]] as const)
    if (!(Number.isFinite(v) && v > 0)) throw new InputError(`${name} must be a positive number (got ${v})`);
  const beams = Object.keys(cal.charge_C);
  if (beams.length === 0) throw new InputError('--calibrate-from-charge: no element given (e.g. Rb=2.52e-3)');
  const h: number[] = [];
  for (const b of beams) {
    const Q = cal.charge_C[b];
    if (!elements.includes(b)) throw new InputError(`--calibrate-from-charge ${b}: no such element in the data (${elements.join(', ')})`);
    if (!(Number.isFinite(Q) && Q > 0)) throw new InputError(`--calibrate-from-charge ${b}=${Q}: the charge must be a positive number of C`);
    if (userSet.has(b)) throw new InputError(`--calibrate-from-charge ${b} and --sensitivity ${b} cannot both be given: the calibration determines s_${b}`);
    h.push((Q / (ELEMENTARY_CHARGE * cal.n0_m3 * cal.area_m2)) * 1e9);
  }
  const fixed = elements.filter((e) => !beams.includes(e) && sum[e].some((v) => v > 0));
  if (fixed.length === 0)
    throw new InputError(
      `--calibrate-from-charge: every element with signal is calibrated (${beams.join(', ')}); since c sums to 1 at every point only ratios of sensitivity factors are identifiable: leave at least one (native) species uncalibrated`,
    );
  const n = depth.length;
  const span = depth[n - 1];
  beams.forEach((b, k) => {
    if (!(h[k] < span))
      throw new InputError(
        `--calibrate-from-charge ${b}: Q/(e n0 A) = ${fmtNum(Number(h[k].toPrecision(4)))} nm is not less than the profile's depth (${fmtNum(Number(span.toPrecision(4)))} nm): ∫c_${b} dx cannot reach it`,
      );
    if (!sum[b].some((v) => v > 0)) throw new InputError(`--calibrate-from-charge ${b}: ${b} has no signal in the profile`);
  });
  const u = beams.map(() => 0); // ln s_b
  const cOf = (): Record<string, number[]> => {
    const c: Record<string, number[]> = {};
    for (const e of elements) c[e] = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      let tot = 0;
      for (const e of elements) tot += s[e] * sum[e][i];
      for (const e of elements) c[e][i] = tot > 0 ? (s[e] * sum[e][i]) / tot : 0;
    }
    return c;
  };
  beams.forEach((b, k) => (s[b] = Math.exp(u[k])));
  let c = cOf();
  let converged = false;
  for (let it = 0; it < 200; it++) {
    const F = beams.map((b, k) => profileIntegral(depth, c[b]) - h[k]);
    if (F.every((f, k) => Math.abs(f) <= 1e-11 * h[k])) {
      converged = true;
      break;
    }
    const J = beams.map((b) => beams.map((q) => profileIntegral(depth, c[b].map((cb, i) => cb * ((b === q ? 1 : 0) - c[q][i])))));
    const du = solveSmall(J, F.map((f) => -f));
    if (!du) break;
    const scale = Math.min(1, 2 / Math.max(...du.map(Math.abs)));
    beams.forEach((b, k) => {
      u[k] += scale * du[k];
      s[b] = Math.exp(u[k]);
    });
    if (u.some((x) => Math.abs(x) > 60)) break;
    c = cOf();
  }
  if (!converged) {
    const reach = beams.map((b) => fmtNum(Number(profileIntegral(depth, sum[b].map((v) => (v > 0 ? 1 : 0))).toPrecision(4))));
    throw new InputError(
      `--calibrate-from-charge: no sensitivity factors give ∫c dx = ${beams.map((b, k) => `${fmtNum(Number(h[k].toPrecision(4)))} nm for ${b}`).join(', ')} (at most ${beams.map((b, k) => `${reach[k]} nm for ${b}`).join(', ')} where each is detected); check the charges, --n0 and --area`,
    );
  }
  const out: Record<string, CalibratedElement> = {};
  beams.forEach((b, k) => {
    out[b] = { charge_C: cal.charge_C[b], inventory_nm: h[k], sensitivity: s[b], lastValue: c[b][n - 1] };
  });
  return out;
}

/** Gaussian elimination with partial pivoting for a small dense system; undefined when singular. */
function solveSmall(A: number[][], b: number[]): number[] | undefined {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(M[r][col]) > Math.abs(M[piv][col])) piv = r;
    if (!(Math.abs(M[piv][col]) > 0)) return undefined;
    [M[col], M[piv]] = [M[piv], M[col]];
    for (let r = col + 1; r < n; r++) {
      const f = M[r][col] / M[col][col];
      for (let k = col; k <= n; k++) M[r][k] -= f * M[col][k];
    }
  }
  const x = new Array<number>(n);
  for (let i = n - 1; i >= 0; i--) {
    let t = M[i][n];
    for (let k = i + 1; k < n; k++) t -= M[i][k] * x[k];
    x[i] = t / M[i][i];
  }
  return x;
}

export function processProfile(raw: RawProfile, opts: ProcessOptions = {}, where = 'input'): MeasuredProfile {
  const warnings = raw.warnings.slice();
  const notes: string[] = [];
  const { depth, from } = depthScale(raw, opts, where);
  const n = depth.length;

  // 1. counting corrections
  const intens = raw.channels.map((ch) => ch.values.slice());
  if (opts.deadTime_ns !== undefined && !(Number.isFinite(opts.deadTime_ns) && opts.deadTime_ns >= 0))
    throw new InputError(`--dead-time must be a number of ns >= 0 (got ${opts.deadTime_ns})`);
  if (opts.shots !== undefined) {
    if (opts.deadTime_ns !== undefined && opts.deadTime_ns > 0)
      throw new InputError('--shots and --dead-time cannot be used together: --shots is the Poisson correction of ToF counts per point, --dead-time the correction of count rates (cnt/s)');
    correctShots(raw, opts.shots, intens, warnings, notes, where);
  }
  let deadTime: MeasuredProfile['deadTime'];
  const tau = opts.deadTime_ns ?? raw.params.deadTime_ns;
  if (tau !== undefined && tau > 0 && opts.shots === undefined)
    deadTime = correctDeadTime(raw, tau, opts.deadTime_ns !== undefined ? 'option' : 'file', intens, warnings, notes, where);
  else if (opts.deadTime_ns === 0 && raw.params.deadTime_ns !== undefined)
    notes.push(`no dead-time correction (--dead-time 0; the file's EM dead time ${fmtNum(raw.params.deadTime_ns)} ns ignored)`);
  notes.push(`depth: ${from}`);

  // 3. isotope sums per element; a channel that names no known element (a cluster such as CsMo+) is its own
  const elements: string[] = [];
  const extra: string[] = [];
  const channelsOf: Record<string, string[]> = {};
  const sum: Record<string, number[]> = {};
  raw.channels.forEach((ch, k) => {
    const c = channelOf(ch.label);
    if (c === undefined) return;
    if (!(c.key in sum)) {
      (c.element ? elements : extra).push(c.key);
      channelsOf[c.key] = [];
      sum[c.key] = new Array<number>(n).fill(0);
    }
    channelsOf[c.key].push(ch.label);
    for (let i = 0; i < n; i++) sum[c.key][i] += intens[k][i];
  });
  if (elements.length === 0) throw new InputError(`${where}: no channel of a single element (${extra.join(', ')} name none)`);

  // 4. sensitivities and normalization
  const s: Record<string, number> = {};
  for (const el of elements) s[el] = 1;
  const userSet = new Set<string>();
  for (const [el, v] of Object.entries(opts.sensitivity ?? {})) {
    if (!(el in s)) throw new InputError(`--sensitivity ${el}: no such element in the data (${elements.join(', ')})`);
    if (!(Number.isFinite(v) && v > 0)) throw new InputError(`--sensitivity ${el}=${v}: must be a positive number`);
    if (raw.normalized) throw new InputError(`${where}: --sensitivity applies to intensities, but the columns are already normalized elements`);
    s[el] = v;
    userSet.add(el);
  }
  const keep: number[] = [];
  const dropped: number[] = [];
  let offUnit = 0;
  for (let i = 0; i < n; i++) {
    let tot = 0;
    for (const el of elements) tot += s[el] * sum[el][i];
    if (tot > 0) keep.push(i);
    else dropped.push(raw.lines[i]);
    if (raw.normalized && Math.abs(tot - 1) > 1e-3) offUnit++;
  }
  if (raw.normalized && offUnit > 0) warnings.push(`${offUnit} point(s) of the normalized columns do not sum to 1; renormalized`);
  if (dropped.length > 0)
    warnings.push(`${dropped.length} point(s) with zero total signal dropped (line${dropped.length > 1 ? 's' : ''} ${dropped.slice(0, 5).join(', ')}${dropped.length > 5 ? ', …' : ''})`);
  if (keep.length === 0) throw new InputError(`${where}: every point has zero total signal`);
  const depthKept = keep.map((i) => depth[i]);
  let calibration: Record<string, CalibratedElement> | undefined;
  if (opts.calibrate) {
    if (raw.normalized) throw new InputError(`${where}: --calibrate-from-charge applies to intensities, but the columns are already normalized elements`);
    const kept: Record<string, number[]> = {};
    for (const el of elements) kept[el] = keep.map((i) => sum[el][i]);
    calibration = calibrateFromCharge(opts.calibrate, elements, s, userSet, depthKept, kept);
    for (const [el, r] of Object.entries(calibration)) {
      notes.push(
        `charge calibration: s_${el} = ${fmtNum(Number(r.sensitivity.toPrecision(6)))} so that ∫c_${el} dx = Q/(e n0 A) = ${fmtNum(Number(r.inventory_nm.toPrecision(5)))} nm (Q = ${fmtNum(r.charge_C)} C, n0 = ${fmtNum(opts.calibrate.n0_m3)} m^-3, A = ${fmtNum(opts.calibrate.area_m2)} m^2)`,
      );
      const peak = Math.max(...keep.map((i) => sum[el][i]));
      const last = sum[el][keep[keep.length - 1]];
      if (last > 0.01 * peak)
        warnings.push(
          `--calibrate-from-charge ${el}: the signal at the deepest point is ${fmtNum(Number(((100 * last) / peak).toPrecision(2)))} % of its maximum: the profile may not hold the whole inventory (s_${el} then too large)`,
        );
    }
  }
  const total = new Array<number>(n).fill(0);
  for (const i of keep) for (const el of elements) total[i] += s[el] * sum[el][i];
  if (!raw.normalized) notes.push(`normalization c_X = s_X I_X / sum_Y s_Y I_Y, s: ${elements.map((e) => `${e} ${fmtNum(Number(s[e].toPrecision(6)))}`).join(', ')}`);
  const c: Record<string, number[]> = {};
  for (const el of elements) c[el] = keep.map((i) => (s[el] * sum[el][i]) / total[i]);
  // other channels: relative to the same sum, outside the unit sum of the elements
  for (const x of extra) c[x] = keep.map((i) => sum[x][i] / total[i]);
  if (extra.length) notes.push(`kept as their own channels (no single element; relative to the elements' sum, not part of it): ${extra.join(', ')}`);
  const out: MeasuredProfile = {
    format: raw.format,
    depth_nm: depthKept,
    elements,
    extra,
    c,
    channelsOf,
    depthFrom: from,
    raw,
    sensitivity: s,
    notes,
    warnings,
  };
  if (deadTime) out.deadTime = deadTime;
  if (calibration) out.calibration = calibration;
  return out;
}
