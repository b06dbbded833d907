/**
 * Synthetic SIMS data (src/sims/synthetic.ts, scripts/synthetic/): the
 * samplers, the forward model on analytic profiles (blur = the mirrored
 * Gaussian of analysis/profiles, isotopes, saturation and dead time in the
 * mean), determinism, and the committed example files: they are what the
 * generator makes from truth.json, and they parse back with the documented
 * options to the blurred truth within the noise — while leaving out the
 * Poisson / dead-time correction leaves a visible bias and the first nm
 * carries the near-surface artefact.
 */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blurProfile, facesFromCentres } from '../src/analysis/profiles.js';
import { applyOperator, observationOperator } from '../src/observe/observe.js';
import { runCli } from '../src/cli/main.js';
import { ELEMENTARY_CHARGE } from '../src/physics/constants.js';
import { mulberry32 } from '../src/core/random.js';
import { detectFormat, importSims, type MeasuredProfile, type ProcessOptions, type SimsFormat } from '../src/sims/index.js';
import {
  binomialDraw,
  logGamma,
  poissonDraw,
  synthesizeSims,
  syntheticParamsOf,
  syntheticSimsText,
  type SyntheticOptions,
} from '../src/sims/synthetic.js';

const DIR = fileURLToPath(new URL('../scripts/synthetic/', import.meta.url));

interface TruthFile {
  schema: string;
  synthetic: string;
  truth: Record<string, number>;
  protocol: { changed: Record<string, { preset: number; truth: number }> };
  stages: { stage: number; charge_C: number; profile: { depth_nm: number[]; density: Record<string, number[]> } }[];
  files: { file: string; stage: number; format: SimsFormat; options: SyntheticOptions; sims: string; sims_args: string[]; fit: string }[];
}
const truth = JSON.parse(readFileSync(join(DIR, 'truth.json'), 'utf8')) as TruthFile;

/** `cait sims` arguments as written in truth.json → importSims options. */
function simsOptions(args: string[]): ProcessOptions {
  const o: ProcessOptions = {};
  for (let i = 0; i < args.length; i += 2) {
    const v = args[i + 1];
    if (args[i] === '--shots') o.shots = Number(v);
    else if (args[i] === '--crater-depth') o.craterDepth_nm = Number(v);
    else if (args[i] === '--sensitivity') o.sensitivity = Object.fromEntries(v.split(',').map((kv) => [kv.split('=')[0], Number(kv.split('=')[1])]));
    else throw new Error(`unexpected option ${args[i]}`);
  }
  return o;
}

/** The blurred truth, normalized to unit sum, at the measured depths. */
function blurredTruth(profile: TruthFile['stages'][number]['profile'], m: MeasuredProfile, sigma_nm: number): Record<string, number[]> {
  const op = observationOperator(facesFromCentres(profile.depth_nm), m.depth_nm, { kind: 'gauss', sigma_nm });
  const b: Record<string, Float64Array> = {};
  for (const el of m.elements) b[el] = applyOperator(op, profile.density[el]);
  const out: Record<string, number[]> = {};
  for (const el of m.elements) out[el] = m.depth_nm.map((_, i) => b[el][i] / m.elements.reduce((s, e) => s + b[e][i], 0));
  return out;
}

/** Per element over depths in [from, to]: mean and max |Δc|, and the standard error of the mean (rms/√n). */
function diffStats(m: MeasuredProfile, t: Record<string, number[]>, from: number, to: number) {
  const out: Record<string, { mean: number; max: number; se: number; n: number }> = {};
  for (const el of m.elements) {
    let s = 0;
    let ss = 0;
    let max = 0;
    let n = 0;
    m.depth_nm.forEach((x, i) => {
      if (x < from || x > to) return;
      const d = m.c[el][i] - t[el][i];
      s += d;
      ss += d * d;
      max = Math.max(max, Math.abs(d));
      n++;
    });
    out[el] = { mean: s / n, max, se: Math.sqrt(ss / n) / Math.sqrt(n), n };
  }
  return out;
}

/** A two-species step profile on 0.25 nm cells: Rb = 1 above 20 nm, Li = 1 below (and a constant one). */
function stepProfile(step_nm = 20) {
  const depth_nm = Array.from({ length: 1200 }, (_, i) => 0.125 + 0.25 * i);
  return {
    depth_nm,
    density: { Li: depth_nm.map((x) => (x < step_nm ? 0 : 1)), Rb: depth_nm.map((x) => (x < step_nm ? 1 : 0)), Cs: depth_nm.map(() => 0) },
  };
}

const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;

describe('samplers (seeded, platform-neutral)', () => {
  it('ln Γ against exact values', () => {
    expect(logGamma(1)).toBeCloseTo(0, 13);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 13);
    expect(logGamma(10)).toBeCloseTo(Math.log(362880), 12);
    expect(logGamma(101)).toBeCloseTo(363.73937555556347, 9); // ln 100!
  });
  it('Poisson and binomial draws have the right mean and variance', () => {
    const rand = mulberry32(7);
    const K = 4000;
    for (const lambda of [3.7, 2500]) {
      const x = Array.from({ length: K }, () => poissonDraw(lambda, rand));
      const m = mean(x);
      const v = mean(x.map((y) => (y - m) ** 2));
      expect(Math.abs(m - lambda)).toBeLessThan(4 * Math.sqrt(lambda / K));
      expect(v / lambda).toBeGreaterThan(0.9);
      expect(v / lambda).toBeLessThan(1.1);
      expect(x.every((y) => Number.isInteger(y) && y >= 0)).toBe(true);
    }
    const N = 10000;
    const p = 0.37;
    const y = Array.from({ length: K }, () => binomialDraw(N, p, rand));
    const m = mean(y);
    const v = mean(y.map((z) => (z - m) ** 2));
    expect(Math.abs(m - N * p)).toBeLessThan(4 * Math.sqrt((N * p * (1 - p)) / K));
    expect(v / (N * p * (1 - p))).toBeGreaterThan(0.9);
    expect(v / (N * p * (1 - p))).toBeLessThan(1.1);
    expect(y.every((z) => z >= 0 && z <= N)).toBe(true);
    expect(binomialDraw(5, 1, rand)).toBe(5);
    expect(poissonDraw(0, rand)).toBe(0);
  });
});

describe('forward model', () => {
  const base: SyntheticOptions = {
    seed: 3,
    points: 200,
    craterDepth_nm: 100,
    totalTime_s: 400,
    resolution: { kind: 'gauss', sigma_nm: 2 },
    yields: { Li: 1000, Rb: 3000 },
    detector: { kind: 'tof' },
  };
  it('blur is the mirrored Gaussian; isotopes split by natural abundance; time axis at the cycle ends', () => {
    const prof = stepProfile();
    const s = synthesizeSims(prof, base);
    expect(s.channels.map((c) => c.label)).toEqual(['6Li', '7Li', '85Rb', '87Rb']);
    const li7 = s.channels[1];
    expect(li7.time_s[0]).toBe(2);
    expect(li7.time_s[199]).toBe(400);
    expect(li7.depth_nm[199]).toBeCloseTo(100, 12);
    // an independent implementation of the mirrored Gaussian blur
    const ref = blurProfile(facesFromCentres(prof.depth_nm), prof.density.Li, 2, li7.depth_nm);
    li7.expected.forEach((e, i) => expect(e).toBeCloseTo(1000 * 0.9241 * ref[i], 6));
    // the step is blurred: at 20 nm Li is half
    const i20 = li7.depth_nm.findIndex((x) => Math.abs(x - 20) < 1e-9);
    expect(li7.expected[i20] / (1000 * 0.9241)).toBeCloseTo(0.5, 6);
    s.channels[0].expected.forEach((e, i) => expect(e).toBeCloseTo((li7.expected[i] * 0.0759) / 0.9241, 9));
    s.channels[3].expected.forEach((e, i) => expect(e).toBeCloseTo((s.channels[2].expected[i] * 0.2783) / 0.7217, 9));
    // the truth is normalized and blurred
    s.truth.depth_nm.forEach((_, i) => expect(s.truth.c.Li[i] + s.truth.c.Rb[i]).toBeCloseTo(1, 12));
  });
  it('ToF saturation: mean observed counts N(1 - exp(-I/N)), far below I', () => {
    const prof = stepProfile(0); // Li = 1 everywhere
    const N = 4000;
    const s = synthesizeSims(prof, { ...base, points: 400, yields: { Li: 4000 / 0.9241, Rb: 1 }, detector: { kind: 'tof', shots: N } });
    const li7 = s.channels[1];
    const I = li7.expected[300];
    expect(I).toBeCloseTo(4000, 6); // beyond the surface: the plain yield
    const deep = li7.observed.filter((_, i) => li7.depth_nm[i] > 20);
    const sat = N * -Math.expm1(-I / N); // 2528.5
    const sd = Math.sqrt(N * (sat / N) * (1 - sat / N));
    expect(Math.abs(mean(deep) - sat)).toBeLessThan((4 * sd) / Math.sqrt(deep.length));
    expect(I - mean(deep)).toBeGreaterThan(1000);
    // the importer's Poisson correction undoes it in the mean
    const corrected = deep.map((C) => -N * Math.log1p(-C / N));
    expect(Math.abs(mean(corrected) - I)).toBeLessThan((5 * sd * (1 / (1 - sat / N))) / Math.sqrt(deep.length));
  });
  it('EM dead time: mean observed rate R/(1 + R tau); rates are counts / counting time', () => {
    const prof = stepProfile(0);
    const R = 3e6;
    const tau = 40e-9;
    const s = synthesizeSims(prof, { ...base, yields: { Li: R / 0.9241, Rb: 1 }, detector: { kind: 'em', deadTime_ns: 40, dwell_s: 0.1 } });
    const li7 = s.channels[1];
    const deep = li7.observed.filter((_, i) => li7.depth_nm[i] > 20);
    const obs = R / (1 + R * tau); // 2.68e6
    expect(Math.abs(mean(deep) - obs)).toBeLessThan((4 * Math.sqrt(obs / 0.1)) / Math.sqrt(deep.length));
    expect(deep.every((r) => Number.isInteger(Math.round(r * 0.1)) && Math.abs(r * 0.1 - Math.round(r * 0.1)) < 1e-6)).toBe(true);
    // species measured one after another: each has its own times
    expect(s.channels[0].time_s[0]).toBeCloseTo(0.5, 12); // cycle 2 s, 4 channels: 1/4 of a cycle
    expect(s.channels[3].time_s[0]).toBeCloseTo(2, 12);
  });
  it('near-surface artefact: yield × (1 + (a - 1) e^(-x/ℓ))', () => {
    const prof = stepProfile(50);
    const s = synthesizeSims(prof, { ...base, surface: { length_nm: 1, factor: { Rb: 3 } } });
    const plain = synthesizeSims(prof, base);
    const rb = s.channels[2];
    const inside = rb.depth_nm.filter((x) => x < 30).length;
    expect(inside).toBe(59); // 0.5 … 29.5 nm
    rb.expected.slice(0, inside).forEach((e, i) => expect(e / plain.channels[2].expected[i]).toBeCloseTo(1 + 2 * Math.exp(-rb.depth_nm[i]), 9));
    expect(s.channels[1].expected).toEqual(plain.channels[1].expected);
  });
  it('same seed: identical bytes in every format; another seed: other noise, same expectation', () => {
    const prof = stepProfile();
    const tof: SyntheticOptions = { ...base, detector: { kind: 'tof', shots: 8000 }, params: { test: 1 } };
    const em: SyntheticOptions = { ...base, yields: { Li: 1e6, Rb: 3e6 }, detector: { kind: 'em', deadTime_ns: 20, dwell_s: 0.05 } };
    for (const [fmt, o] of [
      ['csv', tof],
      ['iontof', tof],
      ['cameca', em],
    ] as const) {
      const a = syntheticSimsText(synthesizeSims(prof, o), fmt);
      const b = syntheticSimsText(synthesizeSims(prof, o), fmt);
      const c = syntheticSimsText(synthesizeSims(prof, { ...o, seed: o.seed + 1 }), fmt);
      expect(a).toBe(b);
      expect(c).not.toBe(a);
      expect(detectFormat(a)).toBe(fmt);
      expect(a).toContain('SYNTHETIC');
    }
    const s1 = synthesizeSims(prof, tof);
    const s2 = synthesizeSims(prof, { ...tof, seed: 99 });
    expect(s2.channels[1].expected).toEqual(s1.channels[1].expected);
    const differ = s1.channels[1].observed.filter((v, i) => v !== s2.channels[1].observed[i]).length;
    expect(differ).toBeGreaterThan(150);
    expect(syntheticParamsOf(syntheticSimsText(s1, 'csv'))).toEqual({ test: 1 });
  });
  it('bad options are InputErrors naming the option', () => {
    const prof = stepProfile();
    expect(() => synthesizeSims(prof, { ...base, points: 1 })).toThrow(/points must be an integer >= 2/);
    expect(() => synthesizeSims(prof, { ...base, yields: { Na: 1 } })).toThrow(/no species Na/);
    expect(() => synthesizeSims(prof, { ...base, surface: { length_nm: 1, factor: { Cs: 2 } } })).toThrow(/surface\.factor\.Cs/);
    expect(() => syntheticSimsText(synthesizeSims(prof, base), 'cameca')).toThrow(/electron-multiplier/);
  });
});

describe('the committed example files (scripts/synthetic)', () => {
  it('truth.json says synthetic and holds the known parameters off the preset', () => {
    expect(truth.schema).toBe('cait-synthetic-sims/1');
    expect(truth.synthetic).toMatch(/SYNTHETIC.*NOT a measurement/);
    expect(truth.truth).toEqual({ 'stages.1.D.Cs.D_m2s': 3.37e-23, 'stages.1.D.Rb.width.value_eV': 0.237 });
    expect(truth.protocol.changed['stages.1.D.Rb.width.value_eV'].truth - truth.protocol.changed['stages.1.D.Rb.width.value_eV'].preset).toBeCloseTo(0.012, 12);
    expect(truth.files.map((f) => f.file).sort()).toEqual(
      ['paper-stage1.csv', 'paper-stage1.dp_rpc_asc', 'paper-stage1.txt', 'paper-stage2.csv', 'paper-stage2.dp_rpc_asc', 'paper-stage2.txt'].sort(),
    );
    const readme = readFileSync(join(DIR, 'README.md'), 'utf8');
    expect(readme).toMatch(/SYNTHETIC, NOT MEASURED/);
    for (const f of truth.files) expect(readme).toContain(f.sims_args.join(' '));
    // the truth profiles hold the delivered ions: ∫ n_Rb/n0 dx = Q1/(e n0 A) after stage 1 (paper sample)
    const p = truth.stages[0].profile;
    const faces = facesFromCentres(p.depth_nm);
    const inv = p.density.Rb.reduce((s, v, i) => s + v * (faces[i + 1] - faces[i]), 0);
    expect(inv / ((truth.stages[0].charge_C / (ELEMENTARY_CHARGE * 1.38e28 * 28.26e-6)) * 1e9)).toBeCloseTo(1, 3);
  });
  for (const f of truth.files) {
    describe(f.file, () => {
      const text = readFileSync(join(DIR, f.file), 'utf8');
      const stage = truth.stages[f.stage - 1];
      const sigma = (f.options.resolution as { sigma_nm: number }).sigma_nm;
      it('is what the generator makes from truth.json (byte for byte); its header parameters match truth.json', () => {
        expect(syntheticSimsText(synthesizeSims(stage.profile, f.options), f.format)).toBe(text);
        expect(syntheticParamsOf(text)).toEqual(f.options.params);
        expect(syntheticParamsOf(text)?.truth).toEqual(truth.truth);
        expect(text.split('\n').slice(0, 3).join('\n')).toMatch(/SYNTHETIC/);
        expect(detectFormat(text)).toBe(f.format);
      });
      it('parses back with the documented options to the blurred truth within the noise', () => {
        const m = importSims(text, simsOptions(f.sims_args), f.file);
        expect(m.depth_nm).toHaveLength(f.options.points);
        m.depth_nm.forEach((_, i) => expect(m.elements.reduce((s, e) => s + m.c[e][i], 0)).toBeCloseTo(1, 12));
        const st = diffStats(m, blurredTruth(stage.profile, m, sigma), 5, f.options.craterDepth_nm);
        for (const el of m.elements) {
          expect(st[el].max, `${el} max |Δc|`).toBeLessThan(0.04);
          expect(Math.abs(st[el].mean), `${el} mean Δc`).toBeLessThanOrEqual(4 * st[el].se + 1e-12);
        }
      });
      it('without the counting correction (or the sensitivities) a visible bias remains: the artefacts are real', () => {
        const doc = simsOptions(f.sims_args);
        const off: ProcessOptions = f.format === 'cameca' ? { ...doc, deadTime_ns: 0 } : { ...doc, shots: undefined };
        const m = importSims(text, doc, f.file);
        const u = importSims(text, off, f.file);
        const t = blurredTruth(stage.profile, m, sigma);
        const sd = diffStats(m, t, 5, f.options.craterDepth_nm);
        const su = diffStats(u, t, 5, f.options.craterDepth_nm);
        // the most saturated element (Rb after stage 1, Cs after stage 2) comes out too small, far beyond the noise
        const el = f.stage === 1 ? 'Rb' : 'Cs';
        expect(su[el].mean).toBeLessThan(-6 * sd[el].se);
        expect(su[el].mean).toBeLessThan(-2e-3);
        // without the sensitivity factors the high-yield beam species is over-weighted by Y_X / Y_Li
        const sn = diffStats(importSims(text, { ...doc, sensitivity: undefined }, f.file), t, 5, f.options.craterDepth_nm);
        expect(sn[el].mean).toBeGreaterThan(0.02);
        // the sizes truth.json states for this file
        const a = (f as unknown as { artefacts: { maxCountLoss: number } }).artefacts;
        expect(a.maxCountLoss).toBeGreaterThan(0.05);
      });
      it('the near-surface artefact is there in the first nm (Li enhanced), not beyond 5 nm', () => {
        const m = importSims(text, simsOptions(f.sims_args), f.file);
        const t = blurredTruth(stage.profile, m, sigma);
        const first = diffStats(m, t, 0, 1);
        const deep = diffStats(m, t, 5, f.options.craterDepth_nm);
        // the points of the first nm: 1 nm over the file's depth step (crater depth / points), give or take one
        expect(Math.abs(first.Li.n - f.options.points / f.options.craterDepth_nm)).toBeLessThanOrEqual(1);
        expect(first.Li.mean).toBeGreaterThan(0.02);
        expect(first.Li.mean).toBeGreaterThan(20 * Math.abs(deep.Li.mean));
        if (f.stage === 2) expect(first.Cs.mean).toBeLessThan(-0.01); // Cs depleted (a = 0.5)
      });
    });
  }
  it('the documented `cait sims` commands run as written (in-process) and give the profile importSims gives', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cait-synth-'));
    for (const f of truth.files) {
      const argv = f.sims.split(' ');
      expect(argv.slice(0, 2)).toEqual(['cait', 'sims']);
      expect(argv[2]).toBe(`scripts/synthetic/${f.file}`);
      const out = join(dir, `${f.file}.csv`);
      const args = [...argv.slice(2, -2), '--out', out].map((a) => (a.startsWith('scripts/synthetic/') ? join(DIR, a.slice('scripts/synthetic/'.length)) : a));
      const o: string[] = [];
      const e: string[] = [];
      const code = await runCli(['sims', ...args], { stdout: (t: string) => void o.push(t), stderr: (t: string) => void e.push(t), env: {} });
      expect(e.join(''), f.file).toBe('');
      expect(code).toBe(0);
      const written = readFileSync(out, 'utf8');
      expect(written).toMatch(/^# SYNTHETIC: the source is synthetic data/m); // the derived profile still says so
      expect(o.join('')).toMatch(/^note: +SYNTHETIC source/);
      const rows = written.split('\n').filter((l) => l && !l.startsWith('#'));
      expect(rows[0]).toBe('depth_nm,Li,Rb,Cs');
      const m = importSims(readFileSync(join(DIR, f.file), 'utf8'), simsOptions(f.sims_args));
      expect(rows).toHaveLength(m.depth_nm.length + 1);
      const mid = Math.floor(m.depth_nm.length / 2);
      expect(Number(rows[mid + 1].split(',')[1])).toBeCloseTo(m.c.Li[mid], 7);
      // the fit options are the same, per stage
      expect(f.fit).toContain(`--measured ${f.stage}:scripts/synthetic/${f.file}`);
      for (let i = 0; i < f.sims_args.length; i += 2) expect(f.fit).toContain(`${f.sims_args[i]} ${f.stage}:${f.sims_args[i + 1]}`);
      expect(f.fit).toContain(`--sigma ${f.stage}:${(f.options.resolution as { sigma_nm: number }).sigma_nm}`);
    }
  });
  it('the charge calibration recovers the sensitivity factors of the generator (s = Y_Li / Y_X) within 3 %', () => {
    const n0 = 1.38e28;
    const A = 28.26e-6;
    const s1 = truth.files.find((f) => f.file === 'paper-stage1.csv')!;
    const m1 = importSims(readFileSync(join(DIR, s1.file), 'utf8'), {
      ...simsOptions(s1.sims_args),
      sensitivity: undefined,
      calibrate: { charge_C: { Rb: truth.stages[0].charge_C }, n0_m3: n0, area_m2: A },
    });
    expect(m1.sensitivity.Rb / (s1.options.yields.Li / s1.options.yields.Rb)).toBeCloseTo(1, 1);
    expect(Math.abs(m1.sensitivity.Rb / 0.4 - 1)).toBeLessThan(0.03);
    const s2 = truth.files.find((f) => f.file === 'paper-stage2.dp_rpc_asc')!;
    const m2 = importSims(readFileSync(join(DIR, s2.file), 'utf8'), {
      calibrate: { charge_C: { Rb: truth.stages[0].charge_C, Cs: truth.stages[1].charge_C }, n0_m3: n0, area_m2: A },
    });
    expect(Math.abs(m2.sensitivity.Rb / 0.4 - 1)).toBeLessThan(0.03);
    expect(Math.abs(m2.sensitivity.Cs / 0.25 - 1)).toBeLessThan(0.03);
  });
});
