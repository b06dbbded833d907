/**
 * The fitting layer (src/fit, cait fit, cait sensitivity):
 *  (a) the quadratic model and its Δχ² = 1 intervals on exact quadratic
 *      surfaces; runFit end to end with a stand-in engine whose model is
 *      linear in the scaled parameters, so the residual is exactly quadratic
 *      and the least-squares solution and its intervals are known in closed
 *      form; residual maps (fixed / min);
 *  (b) the command line: bad --measured stage, missing file, a window
 *      without points, an unknown species weight, an --out that is a file;
 *      outputs survive a failed run;
 *  (c) THE PARAMETER RECOVERY TEST: synthetic ToF-SIMS counts (seeded
 *      counting noise, src/sims/synthetic.ts) made by the simulator after
 *      both stages of a reduced paper protocol with D(Cs+) and the Rb+ SED
 *      width OFF the grid; `cait fit` on the CPU engine (2 threads) must
 *      recover D(Cs+) within 5 % and the Rb FWHM within 10 meV, with
 *      Δχ² = 1 intervals that contain the truth;
 *  (d) a ≥ 1000-member fit on WebGPU (SwiftShader), only where the engine
 *      returns residuals itself (see the describe block).
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseCsv } from 'csv-parse/sync';
import { getPreset } from '../src/config/presets.js';
import type { Protocol } from '../src/config/schema.js';
import { runCli } from '../src/cli/main.js';
import { resolveContext, type CliContext } from '../src/cli/common.js';
import { runFitCommand, runSensitivityCommand, type FitCliOptions, type SensitivityCliOptions } from '../src/cli/fit.js';
import { simulate } from '../src/solver/simulate.js';
import { synthesizeSims, syntheticSimsText } from '../src/sims/synthetic.js';
import { mulberry32 } from '../src/core/random.js';
import { applyOperator, observationOperator, type Observation } from '../src/observe/observe.js';
import { residualsFromProfiles, runFit, toScaled } from '../src/fit/fit.js';
import { parseVary } from '../src/sweep/spec.js';
import { loadObservations, parseMeasuredArgs } from '../src/fit/measured.js';
import { discreteProfileInterval, fitQuadratic, profileEndpoints, quadraticIntervals } from '../src/fit/quadratic.js';
import { spdInverse } from '../src/core/linalg.js';
import { levenbergMarquardt } from '../src/fit/local.js';
import { residualMap, gridIndices } from '../src/fit/map.js';
import { fitFileSchema, type FitFile } from '../src/fit/schema.js';
import { buildFitFile } from '../src/fit/output.js';
import { compactJson } from '../src/core/json.js';
import { reducedPaper } from './helpers/protocols.js';
import type { EnsembleEngine, EnsembleRequest, EnsembleResult, MemberResult, MemberStage } from '../src/ensemble/types.js';
import { needs } from './helpers/require.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const haveWorker = existsSync(join(ROOT, 'dist', 'src', 'ensemble', 'cpu-worker.js'));
const D_CS = 'stages.1.D.Cs.D_m2s';
const FWHM_RB = 'stages.1.D.Rb.width.value_eV';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'cait-fit-'));
}

/** Standard normal draws from a seeded uniform generator (Box–Muller). */
function gaussian(seed: number): () => number {
  const u = mulberry32(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

// ------------------------------------------------------------------ (a) quadratic model

describe('quadratic model and Δχ² = 1 intervals', () => {
  // SSR(t) = c + ½ (t − t*)ᵀ A (t − t*), a known Hessian
  const A = [
    [8, 3, 1],
    [3, 5, -2],
    [1, -2, 6],
  ];
  const tStar = [0.3, -1.2, 2.0];
  const c = 0.5;
  const ssrOf = (t: number[]) => {
    const u = t.map((v, j) => v - tStar[j]);
    let q = 0;
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) q += u[a] * A[a][b] * u[b];
    return c + 0.5 * q;
  };
  const pts: number[][] = [];
  for (const x of [-1, 0, 1, 2]) for (const y of [-2, -1, 0]) for (const z of [1, 2, 3]) pts.push([x * 0.5, y, z]);

  it('recovers the Hessian, the minimum and the intervals √(2 s² (A⁻¹)_jj) of an exact quadratic', () => {
    const q = fitQuadratic(pts, pts.map(ssrOf), [0.5, 1, 1])!;
    expect(q.positive).toBe(true);
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) expect(q.A[a][b]).toBeCloseTo(A[a][b], 8);
    q.tMin!.forEach((v, j) => expect(v).toBeCloseTo(tStar[j], 9));
    expect(q.ssrMin).toBeCloseTo(c, 9);
    const s2 = 0.04;
    const Ainv = spdInverse(A)!;
    // A⁻¹ by cofactors, independently of the Cholesky inverse
    const det = 8 * (5 * 6 - 4) - 3 * (3 * 6 + 2) + 1 * (-6 - 5);
    expect(Ainv[0][0]).toBeCloseTo((5 * 6 - 4) / det, 12);
    expect(Ainv[1][1]).toBeCloseTo((8 * 6 - 1) / det, 12);
    expect(Ainv[2][2]).toBeCloseTo((8 * 5 - 9) / det, 12);
    const iv = quadraticIntervals(q, s2)!;
    iv.forEach(([lo, hi], j) => {
      const d = Math.sqrt(2 * s2 * Ainv[j][j]);
      expect(lo).toBeCloseTo(tStar[j] - d, 8);
      expect(hi).toBeCloseTo(tStar[j] + d, 8);
    });
    // the profile ends: Δχ² = 1 exactly, and no lower χ² along t_j = end (the others minimise it)
    for (let j = 0; j < 3; j++)
      for (const end of profileEndpoints(q, s2, j)!) {
        expect((ssrOf(end) - c) / s2).toBeCloseTo(1, 8);
        for (let k = 0; k < 3; k++)
          if (k !== j)
            for (const e of [-1e-3, 1e-3]) {
              const t = end.slice();
              t[k] += e;
              expect(ssrOf(t)).toBeGreaterThan(ssrOf(end));
            }
      }
  });

  it('says "no minimum" for a saddle and refuses too few points', () => {
    const saddle = (t: number[]) => t[0] * t[0] - t[1] * t[1];
    const p2: number[][] = [];
    for (const x of [-1, 0, 1]) for (const y of [-1, 0, 1]) p2.push([x, y]);
    const q = fitQuadratic(p2, p2.map(saddle), [1, 1])!;
    expect(q.positive).toBe(false);
    expect(quadraticIntervals(q, 1)).toBeUndefined();
    expect(fitQuadratic(p2.slice(0, 5), p2.slice(0, 5).map(saddle), [1, 1])).toBeUndefined();
  });

  it('the discrete profile of a finely sampled parabola crosses Δχ² = 1 at ±δ; of a coarse one it stays inside', () => {
    // χ² = 1 + (t − 0.2)² / 0.3²: Δχ² = 1 at 0.2 ± 0.3
    const chi = (t: number) => 1 + ((t - 0.2) / 0.3) ** 2;
    const fine = Array.from({ length: 401 }, (_, i) => [-2 + i * 0.01]);
    const r = discreteProfileInterval(fine, fine.map((p) => chi(p[0])), 0, 1e-9);
    expect(r.lo!).toBeCloseTo(-0.1, 3);
    expect(r.hi!).toBeCloseTo(0.5, 3);
    const coarse = [[-1], [0.2], [1.5]];
    const rc = discreteProfileInterval(coarse, coarse.map((p) => chi(p[0])), 0, 1e-9);
    expect(rc.lo!).toBeGreaterThan(-0.1);
    expect(rc.hi!).toBeLessThan(0.5);
    expect(discreteProfileInterval([[0], [1]], [1, 1.5], 0, 1e-9).hi).toBeNull();
  });
});

// ------------------------------------------------------------------ stand-in engine: model linear in the scaled parameters

const CELLS = Array.from({ length: 120 }, (_, i) => i + 0.5);
const SPECIES = ['Li', 'Rb', 'Cs'];
const bump = (x: number, m: number, w: number) => Math.exp(-(((x - m) / w) ** 2));
/** profile after stage 2 at u = 0 (sums to 1 per cell) */
const BASE: Record<string, number[]> = {
  Li: CELLS.map((x) => 1 / (1 + Math.exp(-(x - 22) / 3))),
  Rb: CELLS.map((x) => (1 - 1 / (1 + Math.exp(-(x - 22) / 3))) * (0.3 + 0.4 * bump(x, 14, 7))),
  Cs: CELLS.map((x) => (1 - 1 / (1 + Math.exp(-(x - 22) / 3))) * (0.7 - 0.4 * bump(x, 14, 7))),
};
/** d density / d u_j per species (each sums to 0 over species) */
const G: Record<string, number[]>[] = [
  { Li: CELLS.map(() => 0), Rb: CELLS.map((x) => -0.15 * bump(x, 20, 6)), Cs: CELLS.map((x) => 0.15 * bump(x, 20, 6)) },
  { Li: CELLS.map((x) => -2 * bump(x, 18, 5)), Rb: CELLS.map((x) => 3 * bump(x, 12, 5)), Cs: CELLS.map((x, i) => 2 * bump(x, 18, 5) - 3 * bump(CELLS[i], 12, 5)) },
];
const P0 = [3.1e-23, 0.225];
const SCALES = ['log', 'linear'] as const;
const uOf = (values: number[]) => values.map((v, j) => toScaled(v, SCALES[j]) - toScaled(P0[j], SCALES[j]));
function densityAt(values: number[]): Record<string, number[]> {
  const u = uOf(values);
  const out: Record<string, number[]> = {};
  for (const sp of SPECIES) out[sp] = BASE[sp].map((v, i) => v + u[0] * G[0][sp][i] + u[1] * G[1][sp][i]);
  return out;
}

/** An engine whose members are the linear model above after stage 2; it returns final profiles but no residuals (the fit computes them). */
class LinearEngine implements EnsembleEngine {
  readonly name = 'linear-standin';
  readonly adapter = 'test stand-in (density linear in ln D and FWHM)';
  requests: EnsembleRequest[] = [];
  close(): void {}
  async run(req: EnsembleRequest): Promise<EnsembleResult> {
    this.requests.push(req);
    const members: MemberResult[] = req.values.map((values, index) => {
      // the two model parameters by path; one not varied stays at its base value P0
      const full = [D_CS, FWHM_RB].map((path, j) => (req.parameters.includes(path) ? values[req.parameters.indexOf(path)] : P0[j]));
      const st = { depth_nm: CELLS, density: densityAt(full) } as unknown as MemberStage;
      return { index, values, status: 'ok', cells: CELLS.length, stages: [st, st], wall_s: 0 };
    });
    return { engine: this.name, adapter: this.adapter, members, wall_s: 0 };
  }
}

/** Measured after stage 2 at the truth, Gaussian noise σ = 0.01, as a normalized CSV. */
function linearMeasuredCsv(truth: number[], seed: number): string {
  const depths = Array.from({ length: 58 }, (_, i) => 3 + i);
  const faces = [0, ...CELLS.map((x) => x + 0.5)];
  const op = observationOperator(faces, depths, { kind: 'gauss', sigma_nm: 2 });
  const d = densityAt(truth);
  const rnd = gaussian(seed);
  const m: Record<string, Float64Array> = {};
  for (const sp of SPECIES) m[sp] = applyOperator(op, d[sp]);
  const lines = ['depth_nm,Li,Rb,Cs'];
  depths.forEach((x, j) => lines.push([x, ...SPECIES.map((sp) => Math.max(0, m[sp][j] + 0.01 * rnd()))].join(',')));
  return lines.join('\n') + '\n';
}

/** The exact least-squares answer of the linear model for the loaded observation: u*, JᵀJ, SSR(u*). */
function exactSolution(obs: FitFile['measured']['observations'][number]) {
  const faces = [0, ...CELLS.map((x) => x + 0.5)];
  const op = observationOperator(faces, obs.depth_nm, obs.resolution);
  const flat = (dens: Record<string, number[]>) => obs.species.flatMap((sp) => Array.from(applyOperator(op, dens[sp])));
  const m0 = flat(BASE);
  const J = G.map((g) => flat(g));
  const y = obs.species.flatMap((sp) => obs.target[sp]);
  const r0 = y.map((v, i) => v - m0[i]);
  const JtJ = J.map((a) => J.map((b) => a.reduce((s, x, i) => s + x * b[i], 0)));
  const inv = spdInverse(JtJ)!;
  const Jtr = J.map((a) => a.reduce((s, x, i) => s + x * r0[i], 0));
  const u = inv.map((row) => row[0] * Jtr[0] + row[1] * Jtr[1]);
  const ssr = r0.reduce((s, v, i) => s + (v - J[0][i] * u[0] - J[1][i] * u[1]) ** 2, 0);
  return { u, inv, ssr, J };
}

function ctxOf(): { ctx: CliContext; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const ctx = resolveContext({ stdout: (s) => (out += s), stderr: (s) => (err += s), stderrIsTTY: false, env: {}, now: () => new Date('2026-11-26T12:00:00Z') });
  return { ctx, out: () => out, err: () => err };
}

function fitOpts(dir: string, measured: string[], extra: Partial<FitCliOptions> = {}): FitCliOptions {
  return {
    preset: 'paper',
    measured,
    sigma: [],
    mri: [],
    window: [],
    weights: [],
    shots: [],
    craterDepth: [],
    sputterRate: [],
    sensitivity: [],
    engine: 'cpu',
    adapter: 'auto',
    sensStep: 0.05,
    out: dir,
    quiet: true,
    vary: [],
    refine: 2,
    refineCentres: 3,
    top: 5,
    sens: true,
    memberProfiles: 'all',
    mapMode: 'min',
    ...extra,
  };
}

describe('runFit on an exactly quadratic residual (stand-in engine, model linear in ln D and FWHM)', () => {
  const truth = [3.43e-23, 0.2312];

  it('finds the least-squares point and reports the closed-form Δχ² = 1 intervals, derivatives and outputs', async () => {
    const dir = tmp();
    const csv = join(dir, 'cs.csv');
    writeFileSync(csv, linearMeasuredCsv(truth, 7));
    const engine = new LinearEngine();
    const { ctx, out } = ctxOf();
    const file = await runFitCommand(
      fitOpts(join(dir, 'out'), [`2:${csv}`], { vary: [`${D_CS}=1.5e-23:6e-23:4:log`, `${FWHM_RB}=0.18:0.27:4`], window: ['3:60'] }),
      ctx,
      engine,
    );
    const obs = file.measured.observations[0];
    expect(obs.stage).toBe(1);
    expect(obs.species).toEqual(SPECIES);
    const ex = exactSolution(obs);
    const dof = obs.depth_nm.length * 3 - 2;
    expect(file.noise.dof).toBe(dof);
    // the best member is close to the minimum, so s² = SSR_best / dof is SSR_min / dof to < 1 %
    expect(file.noise.s2 / (ex.ssr / dof)).toBeGreaterThanOrEqual(1);
    expect(file.noise.s2 / (ex.ssr / dof)).toBeLessThan(1.01);
    // intervals: u*_j ± √(s² (JᵀJ)⁻¹_jj) (SSR Hessian A = 2 JᵀJ), in scaled coordinates
    const s2 = file.noise.s2;
    file.parameters.forEach((_, j) => {
      const d = Math.sqrt(s2 * ex.inv[j][j]);
      const [lo, hi] = file.best.interval[j].map((v) => toScaled(v, SCALES[j]) - toScaled(P0[j], SCALES[j]));
      expect(Math.abs(lo - (ex.u[j] - d)) / d).toBeLessThan(1e-4);
      expect(Math.abs(hi - (ex.u[j] + d)) / d).toBeLessThan(1e-4);
      // the linearised (Gauss–Newton) interval agrees: exact for ln D, to the finite-difference/linear-scale approximation for FWHM
      const lin = (file.best as Record<string, unknown>).interval_linearized as [number, number][];
      const [llo, lhi] = lin[j].map((v) => toScaled(v, SCALES[j]) - toScaled(P0[j], SCALES[j]));
      expect(Math.abs(lhi - llo - 2 * d) / (2 * d)).toBeLessThan(j === 0 ? 1e-6 : 0.02);
    });
    // the cluster-robust (sandwich) interval: with independent noise of one σ it estimates the same width, to sampling error
    const rob = (file.best as Record<string, unknown>).interval_robust as [number, number][];
    file.parameters.forEach((_, j) => {
      const w = toScaled(rob[j][1], SCALES[j]) - toScaled(rob[j][0], SCALES[j]);
      const d = Math.sqrt(s2 * ex.inv[j][j]);
      const ratio = j === 0 ? w / (2 * d) : Math.log(rob[j][1] / rob[j][0]) / ((2 * d) / file.best.values[j]);
      expect(ratio).toBeGreaterThan(0.6);
      expect(ratio).toBeLessThan(1.6);
    });
    // the best member sits within its interval, and the refinement got within a fraction of the interval of u*
    file.parameters.forEach((_, j) => {
      expect(file.best.values[j]).toBeGreaterThan(file.best.interval[j][0]);
      expect(file.best.values[j]).toBeLessThan(file.best.interval[j][1]);
      const ub = uOf(file.best.values)[j];
      expect(Math.abs(ub - ex.u[j])).toBeLessThan(Math.sqrt(s2 * ex.inv[j][j]));
    });
    // sensitivity: d model / d ln D is J₀ exactly (linear in ln D); d/d ln FWHM = FWHM · J₁ up to the central difference 2h/ln((1+h)/(1−h))
    const sD = file.sensitivity!.find((s) => s.path === D_CS)!;
    const sW = file.sensitivity!.find((s) => s.path === FWHM_RB)!;
    const flatD = obs.species.flatMap((sp) => sD.derivative[0][sp]);
    const flatW = obs.species.flatMap((sp) => sW.derivative[0][sp]);
    flatD.forEach((v, i) => expect(v).toBeCloseTo(ex.J[0][i], 9));
    const h = 0.05;
    const cd = (2 * h) / Math.log((1 + h) / (1 - h));
    flatW.forEach((v, i) => expect(v).toBeCloseTo(file.best.values[1] * ex.J[1][i] * cd, 9));
    expect(sD.residual_minus20!).toBeGreaterThan(file.best.residual);
    expect(sW.residual_plus20!).toBeGreaterThan(file.best.residual);
    // every extra member ran in an engine batch, one request per phase: grid, refine rounds, interval rounds, sensitivity;
    // an engine without residuals is compared from the final profiles it was asked for (no second run)
    expect(engine.requests[0].values.length).toBe(16);
    expect(engine.requests.length).toBe(file.phases?.filter((p) => p.members > 0).length);
    expect(engine.requests.every((r) => r.profiles === 'final')).toBe(true);
    expect(engine.requests.every((r) => r.observations?.length === 1)).toBe(true);
    expect(file.members.slice(0, 16).every((m) => m.source === 'grid')).toBe(true);
    expect(file.members.filter((m) => m.source === 'sensitivity')).toHaveLength(8);
    expect(file.residual).toHaveLength(16);
    expect(file.top[0].residual).toBe(file.best.residual);
    // outputs
    const names = ['fit.json', 'members.csv', 'best_fit_1.csv', 'sensitivity_1.csv', 'map_1_2.csv', 'map_1_2.svg', 'best_fit.svg', 'sensitivity.svg', 'pm20.svg'];
    for (const n of names) expect(existsSync(join(dir, 'out', n)), n).toBe(true);
    const json = JSON.parse(readFileSync(join(dir, 'out', 'fit.json'), 'utf8')) as FitFile;
    expect(json.schema).toBe('cait-fit/1');
    // the written file is what its schema says (src/fit/schema.ts), every field known to it
    expect(fitFileSchema.parse(json)).toEqual(json);
    expect(json.provenance.engine).toBe('linear-standin');
    expect(json.provenance.config_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(json.provenance.command).toContain('cait fit');
    // the stand-in returns profiles, not residuals: the fit computed them (observe.ts) and says so
    expect((json as unknown as { residuals_source: string }).residuals_source).toBe('final profiles');
    const members = parseCsv(readFileSync(join(dir, 'out', 'members.csv'), 'utf8'), { comment: '#', columns: true }) as Record<string, string>[];
    expect(members).toHaveLength(file.members.length);
    expect(Number(members[file.best.member].residual)).toBeCloseTo(file.best.residual, 12);
    const best = parseCsv(readFileSync(join(dir, 'out', 'best_fit_1.csv'), 'utf8'), { comment: '#', columns: true }) as Record<string, string>[];
    expect(best).toHaveLength(obs.depth_nm.length);
    expect(Number(best[5].Rb_model)).toBeCloseTo(file.best.model[0].Rb[5], 12);
    const map = readFileSync(join(dir, 'out', 'map_1_2.svg'), 'utf8');
    expect(map).toContain('class="best-cell"');
    expect(map).toContain('class="delta-chi2-ellipse"');
    expect(map).toContain('stages.1.D.Cs.D_m2s (m²/s)');
    expect(out()).toMatch(/best: member \d+/);
    expect(out()).toContain('Δχ²=1 interval');
  });

  it('cait sensitivity alone: d model / d ln p and the Gauss–Newton interval at one point', async () => {
    const dir = tmp();
    const csv = join(dir, 'cs.csv');
    writeFileSync(csv, linearMeasuredCsv(truth, 8));
    const { ctx } = ctxOf();
    const opts = { ...fitOpts(join(dir, 'out'), [`2:${csv}`]), at: [`${D_CS}=3.3e-23`, FWHM_RB], window: ['3:60'] } as unknown as SensitivityCliOptions;
    const file = await runSensitivityCommand(opts, ctx, new LinearEngine());
    expect(file.best.values).toEqual([3.3e-23, 0.225]);
    expect(file.members.filter((m) => m.source === 'sensitivity')).toHaveLength(8);
    const ex = exactSolution(file.measured.observations[0]);
    const d0 = Math.sqrt(file.noise.s2 * ex.inv[0][0]);
    const [lo, hi] = file.best.interval[0];
    expect(Math.log(hi / lo) / 2).toBeCloseTo(d0, 6);
    expect(existsSync(join(dir, 'out', 'pm20.svg'))).toBe(true);
    const json = JSON.parse(readFileSync(join(dir, 'out', 'fit.json'), 'utf8')) as FitFile;
    expect(fitFileSchema.parse(json)).toEqual(json);
  });
});

describe('runFit with failed members, progress and --member-profiles none', () => {
  it('flags failed members (null residuals, grey map cells), reports every phase, and keeps no member models when asked', async () => {
    const dir = tmp();
    const csv = join(dir, 'cs.csv');
    writeFileSync(csv, linearMeasuredCsv([3.43e-23, 0.2312], 9));
    const lin = new LinearEngine();
    // members with FWHM above 0.26 eV fail, like a solver that gives up
    const failing: EnsembleEngine = {
      name: 'failing-standin',
      adapter: 'test',
      close() {},
      async run(req, o) {
        const res = await lin.run(req);
        res.members = res.members.map((m) =>
          m.values[1] > 0.26 ? { index: m.index, values: m.values, status: 'failed', reason: 'step control gave up (test)', cells: 0, stages: [], wall_s: 0 } : m,
        );
        o?.onProgress?.({ done: req.values.length, total: req.values.length, failed: 0, elapsed_s: 0, runningByStage: [0, 0] });
        return res;
      },
    };
    const phases: string[] = [];
    const base = getPreset('paper');
    const loaded = loadObservations(parseMeasuredArgs({ measured: [`2:${csv}`] }), base, (f) => readFileSync(f, 'utf8'));
    const fit = await runFit({
      base,
      specs: [parseVary(`${D_CS}=1.5e-23:6e-23:4:log`), parseVary(`${FWHM_RB}=0.18:0.27:4`)],
      observations: loaded.map((l) => l.observation),
      engine: failing,
      memberModels: false,
      onProgress: (p) => {
        if (phases[phases.length - 1] !== p.phase) phases.push(p.phase);
      },
    });
    expect(phases[0]).toBe('grid');
    expect(phases).toContain('refine 1');
    expect(phases).toContain('refine 2');
    expect(phases[phases.length - 1]).toBe('sensitivity');
    // grid order: the last parameter (FWHM 0.18, 0.21, 0.24, 0.27) varies fastest
    fit.residual.forEach((r, i) => expect(r === null).toBe(i % 4 === 3));
    const failed = fit.members.filter((m) => m.status === 'failed');
    expect(failed.length).toBeGreaterThanOrEqual(4);
    expect(failed.every((m) => m.reason === 'step control gave up (test)' && m.residual === null)).toBe(true);
    expect(fit.members.every((m) => m.model === undefined)).toBe(true);
    expect(Object.keys(fit.best.model[0]).sort()).toEqual(['Cs', 'Li', 'Rb']);
    expect(fit.best.values[1]).toBeLessThan(0.26);
    // its cait-fit/1 file, null residuals and all, is what the schema says
    const json = JSON.parse(compactJson(buildFitFile(fit, { version: '0', date: 'd', config_sha256: 'x' })));
    expect(fitFileSchema.parse(json)).toEqual(json);
    const map = residualMap(fit as unknown as FitFile, 0, 1, 'min');
    expect(map.z.every((row, iy) => row.every((v) => (v === null) === (iy === 3)))).toBe(true);
  });
});

describe('the local optimiser (Levenberg–Marquardt, src/fit/local.ts)', () => {
  // r(t) = (100 (t0 − t1 − 1), t0 + t1 − 5): a narrow ridge t0 − t1 = 1, the minimum (3, 2) outside the box [0, 1]²
  const residual = (t: number[]) => Float64Array.from([100 * (t[0] - t[1] - 1), t[0] + t[1] - 5]);
  const point = (t: number[]) => {
    const r = residual(t);
    return { t, r, ssr: r[0] ** 2 + r[1] ** 2 };
  };
  it('a step that leaves the box is shortened along its direction (not clipped per coordinate, which stepped uphill and "converged" at the start); it ends at the box\'s edge and says so', async () => {
    const batches: number[] = [];
    const res = await levenbergMarquardt({
      start: point([0.5, 0.2]),
      free: [0, 1],
      bounds: [
        [0, 1],
        [0, 1],
      ],
      h: [1e-3, 1e-3],
      dof: 10,
      batch: async (pts) => {
        batches.push(pts.length);
        return pts.map(point);
      },
    });
    expect(res.iterations).toBeGreaterThan(1);
    expect(res.best.ssr!).toBeLessThan(point([0.5, 0.2]).ssr);
    // the constrained minimum: t0 on its upper bound, t1 = argmin 1e4 t1² + (t1 − 4)² ≈ 4e-4 (the box's edge)
    expect(res.best.t[0]).toBeCloseTo(1, 6);
    expect(res.best.t[1]).toBeCloseTo(4 / 10001, 4);
    expect(res.atBound).toEqual([0]);
    expect(res.converged).toBe(true);
    // one batch per iteration: the first only the start's difference members
    expect(batches.length).toBe(res.iterations);
    expect(batches[0]).toBe(2);
  });

  it('on an interior minimum of a linear residual: one Gauss–Newton step, then converged', async () => {
    // plus a constant part (noise the parameters cannot explain: SSR_min > 0, so χ² is defined)
    const lin = (t: number[]) => {
      const r = Float64Array.from([100 * (t[0] - t[1] - 0.1), t[0] + t[1] - 1, 0.05, -0.03]);
      return { t, r, ssr: r.reduce((a, v) => a + v * v, 0) };
    };
    const res = await levenbergMarquardt({ start: lin([0.1, 0.1]), free: [0, 1], bounds: [[0, 1], [0, 1]], h: [1e-3, 1e-3], dof: 10, batch: async (pts) => pts.map(lin) });
    expect(res.converged).toBe(true);
    expect(res.best.t[0]).toBeCloseTo(0.55, 9);
    expect(res.best.t[1]).toBeCloseTo(0.45, 9);
    expect(res.iterations).toBe(2);
  });
});

describe('runFit member sources', () => {
  it('--refine 0 runs no refine members: the optimiser\'s are "local", those on the Δχ² = 1 surface "interval"; --local-steps 0 runs no local ones', async () => {
    const dir = tmp();
    const csv = join(dir, 'cs.csv');
    writeFileSync(csv, linearMeasuredCsv([3.43e-23, 0.2312], 21));
    const base = getPreset('paper');
    const loaded = loadObservations(parseMeasuredArgs({ measured: [`2:${csv}`] }), base, (f) => readFileSync(f, 'utf8'));
    const specs = [parseVary(`${D_CS}=1.5e-23:6e-23:4:log`), parseVary(`${FWHM_RB}=0.18:0.27:4`)];
    const observations = loaded.map((l) => l.observation);
    const a = await runFit({ base, specs, observations, engine: new LinearEngine(), refine: 0, sensitivity: false });
    const count = (f: typeof a, s: string) => f.members.filter((m) => m.source === s).length;
    expect(count(a, 'refine')).toBe(0);
    expect(count(a, 'grid')).toBe(16);
    // the optimiser's members are those of its batches, the first being the start's forward differences (one per free
    // parameter: 2); the interval rounds place 8 members each (2 parameters: the profile ends and the diagonals)
    const phaseMembers = (prefix: string) => a.phases.filter((p) => p.phase.startsWith(prefix)).reduce((s, p) => s + p.members, 0);
    expect(a.phases.find((p) => p.phase === 'local 1')?.members).toBe(2);
    expect(count(a, 'local')).toBe(phaseMembers('local'));
    expect(count(a, 'local')).toBeGreaterThan(2); // and at least one iteration with trial steps
    expect(count(a, 'interval')).toBe(phaseMembers('interval'));
    expect(count(a, 'interval') % 8).toBe(0);
    expect(count(a, 'interval')).toBeGreaterThanOrEqual(8);
    expect(a.phases.some((p) => p.phase.startsWith('refine'))).toBe(false);
    expect(a.convergence?.converged).toBe(true);
    const b = await runFit({ base, specs, observations, engine: new LinearEngine(), refine: 0, localSteps: 0, sensitivity: false });
    expect(count(b, 'refine') + count(b, 'local')).toBe(0);
    expect(b.convergence?.optimizer).toBe('none');
  });
});

describe('runFit with one parameter', () => {
  it('a 1-D fit (the FWHM at its base value) gives u* = J₀ᵀr₀ / J₀ᵀJ₀ and δ = √(s² / J₀ᵀJ₀)', async () => {
    const dir = tmp();
    const csv = join(dir, 'cs.csv');
    writeFileSync(csv, linearMeasuredCsv([3.43e-23, 0.225], 10));
    const base = getPreset('paper');
    const loaded = loadObservations(parseMeasuredArgs({ measured: [`2:${csv}`] }), base, (f) => readFileSync(f, 'utf8'));
    const fit = await runFit({ base, specs: [parseVary(`${D_CS}=1e-23:1e-22:5:log`)], observations: loaded.map((l) => l.observation), engine: new LinearEngine(), sensitivity: false });
    const obs = fit.measured.observations[0];
    const ex = exactSolution(obs);
    const J0 = ex.J[0];
    const faces = [0, ...CELLS.map((x) => x + 0.5)];
    const op = observationOperator(faces, obs.depth_nm, obs.resolution);
    const r0 = obs.species.flatMap((sp) => obs.target[sp].map((v, i) => v - applyOperator(op, BASE[sp])[i]));
    const jj = J0.reduce((s, x) => s + x * x, 0);
    const u = J0.reduce((s, x, i) => s + x * r0[i], 0) / jj;
    const d = Math.sqrt(fit.noise.s2 / jj);
    expect(fit.noise.dof).toBe(obs.depth_nm.length * 3 - 1);
    const [lo, hi] = fit.best.interval[0].map((v) => Math.log(v / P0[0]));
    expect(Math.abs(lo - (u - d)) / d).toBeLessThan(1e-4);
    expect(Math.abs(hi - (u + d)) / d).toBeLessThan(1e-4);
    expect(fit.sensitivity).toBeUndefined();
    expect(fit.members.some((m) => m.source === 'sensitivity')).toBe(false);
  });
});

describe('runFit with an engine that returns residuals', () => {
  it('asks for profiles only until the engine has shown residuals, then uses them', async () => {
    const dir = tmp();
    const csv = join(dir, 'cs.csv');
    writeFileSync(csv, linearMeasuredCsv([3.43e-23, 0.2312], 12));
    const lin = new LinearEngine();
    const requests: EnsembleRequest[] = [];
    // residuals computed "by the engine" (here with the fit's own profile fallback), profiles withheld when not asked for
    const withResiduals: EnsembleEngine = {
      name: 'residual-standin',
      adapter: 'test',
      close() {},
      async run(req) {
        requests.push(req);
        const res = await lin.run(req);
        for (const m of res.members) {
          m.residuals = residualsFromProfiles(m, req.observations!, !!req.keepModel);
          if (req.profiles === 'none') m.stages = m.stages.map(() => ({}) as MemberStage);
        }
        return res;
      },
    };
    const base = getPreset('paper');
    const loaded = loadObservations(parseMeasuredArgs({ measured: [`2:${csv}`] }), base, (f) => readFileSync(f, 'utf8'));
    const fit = await runFit({
      base,
      specs: [parseVary(`${D_CS}=1.5e-23:6e-23:4:log`), parseVary(`${FWHM_RB}=0.18:0.27:4`)],
      observations: loaded.map((l) => l.observation),
      engine: withResiduals,
    });
    expect(fit.residuals_source).toBe('engine');
    expect(requests[0].profiles).toBe('final');
    expect(requests.slice(1).every((r) => r.profiles === 'none')).toBe(true);
    expect(requests.every((r) => r.keepModel === true && r.observations?.length === 1)).toBe(true);
  });
});

describe('residual maps', () => {
  const axes = [
    [1, 2, 3],
    [10, 20],
    [5, 6],
  ];
  const sizes = axes.map((a) => a.length);
  const f = (i: number[]) => (i[0] - 1) ** 2 + 2 * (i[1] - 1) ** 2 + 3 * i[2] + 0.5 * i[0] * i[2];
  const residual = Array.from({ length: 12 }, (_, i) => f(gridIndices(sizes, i)));
  residual[11] = null as unknown as number; // a failed member: (2, 1, 1)
  const fit = { parameters: ['a', 'b', 'c'], grid: { axes, size: 12 }, residual };

  it('fixed: the others at the best grid member; min: minimised over the others', () => {
    const fixed = residualMap(fit, 'a', 'b', 'fixed');
    expect(fixed.fixed).toEqual({ c: 5 }); // best member (1, 1, 0)
    expect(fixed.z).toEqual([
      [f([0, 0, 0]), f([1, 0, 0]), f([2, 0, 0])],
      [f([0, 1, 0]), f([1, 1, 0]), f([2, 1, 0])],
    ]);
    expect(fixed.best).toEqual({ ix: 1, iy: 1, residual: 0 });
    const min = residualMap(fit, 'c', 'a', 'min');
    expect(min.x.values).toEqual([5, 6]);
    expect(min.z[2][1]).toBe(f([2, 0, 1])); // (2, 1, 1) failed, so the minimum over b is b = 0
    expect(min.z[1][1]).toBe(Math.min(f([1, 0, 1]), f([1, 1, 1])));
    expect(() => residualMap(fit, 'a', 'a')).toThrow(/same parameter/);
    expect(() => residualMap(fit, 'a', 'x')).toThrow(/no parameter x/);
  });
});

// ------------------------------------------------------------------ (b) command-line errors

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { stdout: (s) => (out += s), stderr: (s) => (err += s), stderrIsTTY: false, env: {} });
  return { code, out, err };
}

describe('cait fit: input errors name the option and the file', () => {
  const dir = tmp();
  const good = join(dir, 'cs.csv');
  writeFileSync(good, linearMeasuredCsv([3.1e-23, 0.225], 1));
  const args = ['fit', '--preset', 'paper', '--vary', `${D_CS}=2e-23,3e-23`];

  it.each([
    [['--measured', `3:${good}`, '--out', join(dir, 'o1')], `--measured 3:${good}: stage 3 does not exist (the protocol has 2 stages, 1..2)`],
    [['--measured', `0:${good}`, '--out', join(dir, 'o1')], `--measured 0:${good}: the stage before ":" is counted from 1`],
    [['--measured', `2:${join(dir, 'missing.csv')}`, '--out', join(dir, 'o1')], `--measured 2:${join(dir, 'missing.csv')}: cannot read ${join(dir, 'missing.csv')} (no such file)`],
    [['--measured', good, '--window', '500:600', '--out', join(dir, 'o1')], `--window 500:600 (stage 2): no point of ${good} lies in it (its depths span 3 … 60 nm)`],
    [['--measured', good, '--weights', 'Xe=1', '--out', join(dir, 'o1')], `--weights Xe=1: Xe is not a species of the protocol (Li, Rb, Cs)`],
    [['--measured', good, '--sigma', '1:20', '--out', join(dir, 'o1')], `--sigma 1:20: no --measured profile is attached to stage 1`],
    [['--measured', good, '--window', '9:3', '--out', join(dir, 'o1')], `--window 9:3: TO must be larger than FROM`],
  ])('%j', async (extra, message) => {
    const r = await cli([...args, ...extra]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`cait: error: ${message}\n`);
    expect(existsSync(join(dir, 'o1'))).toBe(false);
  });

  it('refuses an --out that is a file, and a failed run leaves existing outputs as they were', async () => {
    const file = join(dir, 'plain.txt');
    writeFileSync(file, 'x');
    const r = await cli([...args, '--measured', good, '--out', file]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`cait: error: --out ${file}: is a file, not a directory\n`);
    const out = join(dir, 'kept');
    mkdirSync(out);
    writeFileSync(join(out, 'fit.json'), 'previous\n');
    const bad = await cli(['fit', '--preset', 'paper', '--vary', 'stages.1.D.Xx.D_m2s=1e-23,2e-23', '--measured', good, '--out', out]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^cait: error: --vary stages\.1\.D\.Xx\.D_m2s: /);
    expect(readFileSync(join(out, 'fit.json'), 'utf8')).toBe('previous\n');
  });
});

// ------------------------------------------------------------------ (c) parameter recovery

/*
 * One noise realisation (seeds 11, 12). Δχ² = 1 intervals are ~68 % intervals per parameter, so
 * containing the truth is not guaranteed for every seed: over 8 other seed pairs (100..107, same
 * set-up, measured when this test was written) both intervals contained the truth in 5 of 8,
 * the robust (sandwich) ones in 6 (D) and 7 (FWHM) of 8; D was within 5 % in 7 of 8 (one +10 %,
 * along the D–FWHM valley), the FWHM within 10 meV in 8 of 8.
 */
describe.skipIf(!haveWorker)('parameter recovery: cait fit on synthetic ToF-SIMS data of both stages (CPU engine, 2 threads)', () => {
  it('recovers D(Cs+) within 5 % and the Rb+ FWHM within 10 meV, intervals containing the truth', { timeout: 240_000 }, async () => {
    const dir = tmp();
    const base = reducedPaper();
    writeFileSync(join(dir, 'reduced.json'), JSON.stringify(base));
    // the truth, off the grid below
    const TRUE_D = 3.4e-23;
    const TRUE_FWHM = 0.236;
    const truth = structuredClone(base);
    (truth.stages[1].D.Cs as { D_m2s: number }).D_m2s = TRUE_D;
    (truth.stages[1].D.Rb as { width: { value_eV: number } }).width.value_eV = TRUE_FWHM;
    expect((base.stages[1].D.Rb as { width: { convention: string } }).width.convention).toBe('fwhmPopulated');
    const res = simulate(truth);
    // raw counts per isotope channel (binomial with 1e5 shots), depth resolution σ = 2 nm after stage 1 and 4 nm after stage 2
    const yields: Record<string, number>[] = [
      { Li: 4000, Rb: 6000 },
      { Li: 4000, Rb: 6000, Cs: 9000 },
    ];
    res.stages.forEach((st, k) => {
      const s = synthesizeSims(
        { depth_nm: st.depth_nm, density: st.density },
        {
          seed: 11 + k,
          points: 80,
          craterDepth_nm: 80,
          totalTime_s: 400,
          resolution: { kind: 'gauss', sigma_nm: k === 0 ? 2 : 4 },
          yields: yields[k],
          detector: { kind: 'tof', shots: 100000 },
          about: [`recovery test: ${D_CS} = ${TRUE_D}, ${FWHM_RB} = ${TRUE_FWHM}`],
        },
      );
      writeFileSync(join(dir, `stage${k + 1}.csv`), syntheticSimsText(s, 'csv'));
    });
    const out = join(dir, 'fit');
    const grid = { d: [1.5e-23, 6e-23], w: [0.16, 0.31] };
    let stdout = '';
    let stderr = '';
    const t0 = performance.now();
    const code = await runCli(
      [
        'fit',
        '--config', join(dir, 'reduced.json'),
        '--measured', `1:${join(dir, 'stage1.csv')}`,
        '--measured', `2:${join(dir, 'stage2.csv')}`,
        '--sigma', '2', '--sigma', '2:4',
        '--shots', '100000', '--crater-depth', '80',
        // relative sensitivities 1/yield (Li = 1)
        '--sensitivity', 'Li=1,Rb=0.6666667,Cs=0.4444444',
        // the informative region (beyond ~35 nm the glass is untouched Li and nearly noise-free)
        '--window', '3:35',
        '--vary', `${D_CS}=${grid.d[0]}:${grid.d[1]}:4:log`,
        '--vary', `${FWHM_RB}=${grid.w[0]}:${grid.w[1]}:4`,
        '--refine', '2',
        '--threads', '2',
        '--out', out,
      ],
      { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), stderrIsTTY: false, env: {} },
    );
    console.log(`[fit] recovery fit in ${((performance.now() - t0) / 1000).toFixed(1)} s\n${stdout}`);
    expect(code, stderr).toBe(0);
    const file = JSON.parse(readFileSync(join(out, 'fit.json'), 'utf8')) as FitFile;
    // the truth is off the grid
    for (const v of file.grid.axes[0]) expect(Math.abs(v / TRUE_D - 1)).toBeGreaterThan(0.1);
    for (const v of file.grid.axes[1]) expect(Math.abs(v - TRUE_FWHM)).toBeGreaterThan(0.02);
    const [dBest, wBest] = file.best.values;
    expect(Math.abs(dBest / TRUE_D - 1)).toBeLessThan(0.05);
    expect(Math.abs(wBest - TRUE_FWHM)).toBeLessThan(0.01);
    const [[dLo, dHi], [wLo, wHi]] = file.best.interval;
    expect(dLo).toBeLessThan(TRUE_D);
    expect(dHi).toBeGreaterThan(TRUE_D);
    expect(wLo).toBeLessThan(TRUE_FWHM);
    expect(wHi).toBeGreaterThan(TRUE_FWHM);
    // and the intervals are informative: narrower than the 5 % / 10 meV targets
    expect(dHi / dLo).toBeLessThan(1.1);
    expect(wHi - wLo).toBeLessThan(0.02);
    // both stages observed: Li and Rb after stage 1, Li, Rb and Cs after stage 2; stage-1 data do not depend on stage-2 parameters
    expect(file.measured.observations.map((o) => [o.stage, o.species])).toEqual([
      [0, ['Li', 'Rb']],
      [1, ['Li', 'Rb', 'Cs']],
    ]);
    for (const s of file.sensitivity!) {
      for (const sp of ['Li', 'Rb']) expect(Math.max(...s.derivative[0][sp].map(Math.abs))).toBeLessThan(1e-9);
      expect(Math.max(...s.derivative[1].Rb.map(Math.abs))).toBeGreaterThan(0.05);
    }
    expect(file.provenance.engine).toBe('cpu');
    // the CPU engine compared every member itself (in its workers)
    expect((file as FitFile & { residuals_source: string }).residuals_source).toBe('engine');
    expect(file.members.every((m) => m.status === 'ok')).toBe(true);
  });
});

// ------------------------------------------------------------------ (c2) a fit that must converge on a D–U ridge

/*
 * Issue 10's case: data made by the simulator itself (`cait simulate --preset quick`, its own CSV,
 * D(Rb+) = 2.67e-22 m²/s, U = 15 V), fitted with DEFAULT options over D(Rb+) × U. D and U both move
 * the front (a narrow, curved valley along D ∝ U), and the old fit stopped on its side: best D
 * 2.783e-22 and U 15.70 V outside their own Δχ² = 1 intervals, no warning. The fit must now find the
 * minimum and report it consistently: best inside every interval, the quadratic's minimum on it.
 */
describe.skipIf(!haveWorker)('a fit on a D–U ridge converges and reports itself consistently (cait fit, defaults, quick preset)', () => {
  it('recovers D(Rb+) within 2 % and U within 0.1 V, the best inside its intervals, no warnings', { timeout: 300_000 }, async () => {
    const dir = tmp();
    const sim = await cli(['simulate', '--preset', 'quick', '--out', join(dir, 'q.json'), '--csv', dir, '--quiet']);
    expect(sim.code, sim.err).toBe(0);
    const measured = join(dir, 'q_stage1.csv');
    // the simulator's own CSV holds round-off below 0 (−5.7e-26) where Cs is absent: read as 0, not refused
    expect(readFileSync(measured, 'utf8')).toMatch(/,-\d[.\d]*e-2\d/);
    const out = join(dir, 'fit');
    const r = await cli([
      'fit', '--preset', 'quick', '--measured', `1:${measured}`, '--window', '1:30', '--sigma', '0.01',
      '--vary', 'stages.0.D.Rb.D_m2s=1e-22:1e-21:4:log', '--vary', 'stages.0.U_V=10:20:3', '--out', out,
    ]);
    console.log(`[fit] quick-preset D–U fit:\n${r.out}${r.err}`);
    expect(r.code, r.err).toBe(0);
    const file = JSON.parse(readFileSync(join(out, 'fit.json'), 'utf8')) as FitFile;
    const [D, U] = file.best.values;
    expect(Math.abs(D / 2.67e-22 - 1)).toBeLessThan(0.02);
    expect(Math.abs(U - 15)).toBeLessThan(0.1);
    // the best lies inside each of its own intervals: Δχ² = 1, discrete profile, linearised, robust
    const ivs = [file.best.interval, file.best.interval_profile, file.best.interval_linearized, file.best.interval_robust];
    for (const iv of ivs)
      file.best.values.forEach((v, j) => {
        expect(iv?.[j]).toHaveLength(2);
        expect(v).toBeGreaterThanOrEqual(iv![j]![0]);
        expect(v).toBeLessThanOrEqual(iv![j]![1]);
      });
    // the quadratic model's minimum agrees with the best: within half an interval in every parameter
    const q = file.best.quadratic!;
    q.centre.forEach((c, j) => {
      const [lo, hi] = file.best.interval[j];
      expect(Math.abs(c - file.best.values[j])).toBeLessThan(0.5 * (hi - lo));
    });
    expect(file.convergence?.converged).toBe(true);
    expect(file.convergence?.optimizer).toBe('levenberg-marquardt');
    expect(file.warnings).toEqual([]);
    expect(r.err).not.toContain('warning');
    expect(r.out).toContain('convergence: yes');
    // every optimiser iteration was one engine batch of its own phase
    const localPhases = file.phases!.filter((p) => p.phase.startsWith('local '));
    expect(localPhases.length).toBe(file.convergence!.iterations);
    expect(file.members.filter((m) => m.source === 'local').length).toBe(localPhases.reduce((s, p) => s + p.members, 0));
  });
});

// ------------------------------------------------------------------ (d) a ≥ 1000-member fit on WebGPU

/*
 * THE ≥ 1000-MEMBER FIT ON WEBGPU (SwiftShader), in CI-sized form: `cait fit
 * --engine webgpu --adapter swiftshader` on a strongly coarsened paper
 * protocol (2 nm cells, 40 nm fine zone, 0.3 + 0.25 mC), a 32 × 32 grid of
 * D(Cs+) × Rb+ FWHM. It is about the engine's own residuals (the WebGPU
 * engine comparing every member on the GPU): a probe member checks first
 * that the engine returns them, and the test FAILS when it does not (the fit
 * would still work, reading back every member's final profiles, but that is
 * not what this test measures). Needs SwiftShader (or
 * CAIT_FIT_GPU_ADAPTER=vulkan on a GPU): skipped without it here, a failure
 * in CI (tests/helpers/require.ts).
 */
const gpuAdapter = process.env.CAIT_FIT_GPU_ADAPTER ?? 'swiftshader';
const fitGpu = needs('dist', ...(gpuAdapter === 'swiftshader' ? (['swiftshader'] as const) : []));

function coarse(): Protocol {
  const p = structuredClone(getPreset('paper'));
  p.grid = { h_fine_nm: 2, x_fine_nm: 40, growth: 1.5 };
  (p.stages[0].stop as { charge_C: number }).charge_C = 0.3e-3;
  (p.stages[1].stop as { charge_C: number }).charge_C = 0.25e-3;
  return p;
}

describe.skipIf(fitGpu.skip)('a ≥ 1000-member fit on WebGPU with the engine\'s residuals', () => {
  fitGpu.assertPresent();
  it('cait fit --engine webgpu: 1024 grid members, residuals computed by the engine', { timeout: 900_000 }, async () => {
    const { openNodeDevice, parseNodeGpuKind } = await import('../src/gpu/node.js');
    const shaders = (await import('../src/gpu/node-shaders.js')) as Record<string, unknown>;
    const { WebGpuEngine } = await import('../src/gpu/engine.js');
    // the engine's shaders: with the residual shader where this build has it
    const engineShaders = (
      typeof shaders.webGpuEngineShaders === 'function' ? shaders.webGpuEngineShaders() : { shaderSource: (shaders.loadNppQnShader as () => string)() }
    ) as ConstructorParameters<typeof WebGpuEngine>[1];
    const base = coarse();
    const truth = structuredClone(base);
    (truth.stages[1].D.Cs as { D_m2s: number }).D_m2s = 3.4e-23;
    (truth.stages[1].D.Rb as { width: { value_eV: number } }).width.value_eV = 0.236;
    const r = simulate(truth);
    const depths = Array.from({ length: 28 }, (_, i) => 3 + i);
    const dir = tmp();
    const files = r.stages.map((st, k) => {
      const op = observationOperator(r.grid.faces_nm, depths, { kind: 'gauss', sigma_nm: 2 });
      const lines = ['depth_nm,Li,Rb,Cs'];
      const m = SPECIES.map((sp) => applyOperator(op, st.density[sp]));
      depths.forEach((x, j) => lines.push([x, ...m.map((v) => v[j])].join(',')));
      const f = join(dir, `stage${k + 1}.csv`);
      writeFileSync(f, lines.join('\n') + '\n');
      return f;
    });
    // probe: does the engine return residuals itself?
    const gpu = await openNodeDevice(parseNodeGpuKind(gpuAdapter));
    let engineResiduals = false;
    let why = '';
    try {
      const engine = new WebGpuEngine(gpu, engineShaders);
      const obs = makeObservationsFor(files, base);
      const probe = await engine.run({ base, parameters: [], values: [[]], members: [base], profiles: 'none', observations: obs, keepModel: true });
      engineResiduals = probe.members[0].status === 'ok' && !!probe.members[0].residuals;
      why = probe.members[0].reason ?? 'the member has no residuals';
    } catch (e) {
      why = (e as Error).message;
    } finally {
      gpu.close();
    }
    expect(engineResiduals, `the WebGPU engine returns no residuals: ${why}`).toBe(true);
    writeFileSync(join(dir, 'coarse.json'), JSON.stringify(base));
    let stdout = '';
    let stderr = '';
    const t0 = performance.now();
    const code = await runCli(
      [
        'fit', '--config', join(dir, 'coarse.json'),
        '--measured', `1:${files[0]}`, '--measured', `2:${files[1]}`,
        '--vary', `${D_CS}=1.5e-23:6e-23:32:log`, '--vary', `${FWHM_RB}=0.16:0.31:32`,
        '--refine', '1', '--member-profiles', 'none',
        '--engine', 'webgpu', '--adapter', gpuAdapter, '--out', join(dir, 'fit'),
      ],
      { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), stderrIsTTY: false, env: {} },
    );
    console.log(`[fit] 1024-member WebGPU fit (${gpuAdapter}) in ${((performance.now() - t0) / 1000).toFixed(1)} s\n${stdout}`);
    expect(code, stderr).toBe(0);
    const file = JSON.parse(readFileSync(join(dir, 'fit', 'fit.json'), 'utf8')) as FitFile & { residuals_source: string };
    expect(file.residuals_source).toBe('engine');
    expect(file.grid.size).toBe(1024);
    expect(file.members.length).toBeGreaterThanOrEqual(1024);
    expect(file.provenance.engine).toBe('webgpu');
    // noise-free data made by the f64 solver; the f32 engine should still land near the truth
    expect(Math.abs(file.best.values[0] / 3.4e-23 - 1)).toBeLessThan(0.05);
    expect(Math.abs(file.best.values[1] - 0.236)).toBeLessThan(0.01);
  });
});

/** Observations of normalized CSV files after stage 1 and 2 (default options), as cait fit makes them. */
function makeObservationsFor(files: string[], base: Protocol): Observation[] {
  return loadObservations(parseMeasuredArgs({ measured: files.map((f, k) => `${k + 1}:${f}`) }), base, (f) => readFileSync(f, 'utf8')).map((l) => l.observation);
}
