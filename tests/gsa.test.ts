/**
 * Global sensitivity analysis (src/gsa, `cait gsa`):
 *  - the Sobol' sequence against scipy's (an independent implementation;
 *    tests/fixtures/gsa/sobol-scipy.json, made by scripts/gsa/make-sobol-tables.py)
 *    and what scrambling must keep (the net's balance);
 *  - the estimators on functions with known indices: Ishigami and Sobol' G
 *    at N = 8192 within 0.03 of the exact values, each inside its interval;
 *    the intervals' coverage on independent samples; Morris on a linear
 *    function (exact effects) and its ranking of the Sobol' G inputs;
 *  - base samples with a failed run left out, outputs that do not vary;
 *  - `cait gsa --function` (files, schema, provenance) and its errors;
 *  - `cait gsa` on the quick preset with the f64 solver: outputs equal the
 *    stage summaries, a parameter that cannot matter (εr) gets ST ≈ 0, the
 *    depth maps' mean and SD are those of the blurred profiles, failed
 *    members, a failing engine leaves the outputs untouched;
 *  - the same study on the webgpu engine (SwiftShader) against the cpu engine.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseCsv } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { getPreset } from '../src/config/presets.js';
import type { Protocol } from '../src/config/schema.js';
import { simulate } from '../src/solver/simulate.js';
import type { ProtocolResult, RunOptions } from '../src/solver/types.js';
import { summarizeStage } from '../src/ensemble/summary.js';
import { blurProfile, facesFromCentres } from '../src/analysis/profiles.js';
import { runCaptured } from './helpers/cli.js';
import { runGsaCommand, type GsaCliOptions } from '../src/cli/gsa.js';
import type { EnsembleEngine } from '../src/ensemble/types.js';
import { resolveContext } from '../src/cli/common.js';
import {
  gsaFileSchema,
  ishigami,
  modelOutputs,
  morrisDesign,
  morrisIndices,
  saltelliDesign,
  sobolG,
  sobolIndices,
  sobolPoints,
  type GsaFile,
  type SobolOutput,
  type MorrisOutput,
} from '../src/gsa/index.js';
import { mulberry32 } from '../src/core/random.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const haveDist = existsSync(MAIN) && existsSync(join(ROOT, 'dist', 'src', 'cli', 'gsa.js'));
const dir = mkdtempSync(join(tmpdir(), 'cait-gsa-'));

const toIshigami = (u: ArrayLike<number>) => Array.from(u, (v) => -Math.PI + 2 * Math.PI * v);

/** Every S1/ST within `tol` of the exact value and inside its own interval. */
function expectIndices(s: ReturnType<typeof sobolIndices>, exact: { S1: number[]; ST: number[] }, tol: number, what: string): void {
  for (const key of ['S1', 'ST'] as const)
    exact[key].forEach((x, i) => {
      const v = s[key][i]!;
      const conf = s[`${key}_conf`][i]!;
      expect(Math.abs(v - x), `${what} ${key}[${i}] = ${v} vs ${x}`).toBeLessThan(tol);
      expect(Math.abs(v - x), `${what} ${key}[${i}] = ${v} ± ${conf} should hold ${x}`).toBeLessThanOrEqual(conf);
      expect(conf).toBeGreaterThan(0);
    });
}

describe("Sobol' sequence", () => {
  const fx = JSON.parse(readFileSync(join(ROOT, 'tests', 'fixtures', 'gsa', 'sobol-scipy.json'), 'utf8'));

  it("unscrambled, it is scipy's sequence point for point (40 dimensions × 64 points, all 256 dimensions × 16)", () => {
    expect(sobolPoints(64, 40, { scramble: false }).map((r) => Array.from(r))).toEqual(fx.d40_n64);
    expect(sobolPoints(16, 256, { scramble: false }).map((r) => Array.from(r))).toEqual(fx.d256_n16);
    // skipping: points 8..15 are the last 8 of the first 16
    expect(sobolPoints(8, 5, { scramble: false, skip: 8 }).map((r) => Array.from(r))).toEqual(fx.d40_n64.slice(8, 16).map((r: number[]) => r.slice(0, 5)));
  });

  it('scrambled: reproducible from its seed, another seed another design, and still a net (one point per 1/1024 stratum, the same 2-D balance)', () => {
    const a = sobolPoints(1024, 6, { seed: 5 });
    expect(sobolPoints(1024, 6, { seed: 5 })).toEqual(a);
    const b = sobolPoints(1024, 6, { seed: 6 });
    expect(a[0][0]).not.toBe(b[0][0]);
    expect(a.some((r) => r.some((v) => v === 0))).toBe(false);
    for (let d = 0; d < 6; d++) {
      const seen = new Set(a.map((r) => Math.floor(r[d] * 1024)));
      expect(seen.size, `dimension ${d}`).toBe(1024);
    }
    const plain = sobolPoints(1024, 6, { scramble: false });
    const empty = (pts: Float64Array[], i: number, j: number) => 1024 - new Set(pts.map((r) => Math.floor(r[i] * 32) * 32 + Math.floor(r[j] * 32))).size;
    for (const [i, j] of [
      [0, 1],
      [0, 2],
      [3, 5],
    ])
      expect(empty(a, i, j), `dimensions ${i}, ${j}`).toBe(empty(plain, i, j));
    expect(empty(a, 0, 1)).toBe(0);
  });

  it("Saltelli's design: A and B are the first and last k coordinates of the points, AB_i takes column i from B (unscrambled: points N..2N−1, as SALib)", () => {
    const d = saltelliDesign(3, 16, { scramble: false, secondOrder: true });
    expect(d.blocks).toBe(8);
    for (let j = 0; j < 16; j++) {
      const p: number[] = fx.d40_n64[16 + j];
      const rows = d.unit.slice(j * 8, j * 8 + 8).map((r) => Array.from(r));
      expect(rows[0]).toEqual(p.slice(0, 3));
      expect(rows[7]).toEqual(p.slice(3, 6));
      expect(rows[2]).toEqual([p[0], p[4], p[2]]); // AB_2
      expect(rows[6]).toEqual([p[3], p[4], p[2]]); // BA_3
    }
  });

  it('refuses more dimensions than the direction numbers cover', () => {
    expect(() => sobolPoints(4, 257)).toThrow(/257 dimensions; the direction numbers cover 1 to 256/);
  });
});

describe('estimators on functions with known indices', () => {
  it('Ishigami at N = 8192: S1, ST within 0.03 of the exact values and inside their 95 % intervals; S2(x1, x3) too', () => {
    const f = ishigami();
    const d = saltelliDesign(3, 8192, { seed: 1, secondOrder: true });
    expect(d.unit).toHaveLength(8192 * 8);
    const s = sobolIndices(d, d.unit.map((u) => f.evaluate(toIshigami(u))));
    expect(s.rows).toBe(8192);
    expectIndices(s, f.analytic, 0.03, 'Ishigami');
    expect(f.analytic.S1[2]).toBe(0);
    expect(Math.abs(s.S2![0][2]! - f.analytic.S2[0][2]!)).toBeLessThan(0.03);
    expect(Math.abs(s.S2![0][2]! - f.analytic.S2[0][2]!)).toBeLessThanOrEqual(s.S2_conf![0][2]!);
    expect(Math.abs(s.S2![0][1]!)).toBeLessThan(0.03);
  });

  it.each([
    [[0, 1, 4.5, 9, 99, 99, 99, 99]],
    [[0, 0, 0]],
    [[0.5, 3, 9, 27]],
    [[0, 0.5, 1, 2, 4, 8]],
  ])("Sobol' G with a = %j at N = 8192: within 0.03 and inside the intervals", (a) => {
    const g = sobolG(a);
    const d = saltelliDesign(a.length, 8192, { seed: 2 });
    expectIndices(sobolIndices(d, d.unit.map((u) => g.evaluate(u))), g.analytic, 0.03, `G(${a})`);
  });

  it('the 95 % intervals hold the exact value about 95 % of the time on independent samples (Ishigami, N = 256, 40 repetitions)', () => {
    const f = ishigami();
    const k = 3;
    let hit = 0;
    let total = 0;
    for (let rep = 1; rep <= 40; rep++) {
      // independent uniform A and B in Saltelli's run order (A, AB_1..AB_k, B)
      const d = saltelliDesign(k, 256, { seed: rep });
      const rand = mulberry32(1000 + rep);
      const y: number[] = [];
      for (let j = 0; j < 256; j++) {
        const A = Array.from({ length: k }, rand);
        const B = Array.from({ length: k }, rand);
        y.push(f.evaluate(toIshigami(A)));
        for (let i = 0; i < k; i++) y.push(f.evaluate(toIshigami(A.map((v, q) => (q === i ? B[i] : v)))));
        y.push(f.evaluate(toIshigami(B)));
      }
      const s = sobolIndices(d, y, { seed: rep });
      for (const key of ['S1', 'ST'] as const)
        f.analytic[key].forEach((x, i) => {
          total++;
          if (Math.abs(s[key][i]! - x) <= s[`${key}_conf`][i]!) hit++;
        });
    }
    // binomial(240, 0.95): 228 ± 3.4; a 90 % or 99.6 % interval would miss this band
    expect(hit / total).toBeGreaterThan(0.9);
    expect(hit / total).toBeLessThan(0.99);
  });

  it('Morris on a linear function gives its exact effects (μ = μ* = coefficient, σ = 0), for any levels', () => {
    const c = [3, -2, 0.5, 0];
    for (const levels of [4, 6]) {
      const d = morrisDesign(4, 12, { levels, seed: 9 });
      expect(d.unit).toHaveLength(12 * 5);
      expect(d.delta).toBeCloseTo(levels / (2 * (levels - 1)), 15);
      for (const u of d.unit) for (const v of u) expect(Number.isInteger(Math.round(v * (levels - 1) * 1e9) / 1e9)).toBe(true);
      const m = morrisIndices(d, d.unit.map((u) => c.reduce((s, ci, i) => s + ci * u[i], 0)));
      c.forEach((ci, i) => {
        expect(m.mu[i]).toBeCloseTo(ci, 12);
        expect(m.mu_star[i]).toBeCloseTo(Math.abs(ci), 12);
        expect(m.sigma[i]).toBeCloseTo(0, 12);
        expect(m.effects[i]).toBe(12);
      });
    }
  });

  it("Morris ranks the Sobol' G inputs by their coefficients (r = 40 trajectories)", () => {
    const a = [0, 1, 4.5, 9, 99];
    const g = sobolG(a);
    for (const seed of [1, 2, 3]) {
      const d = morrisDesign(a.length, 40, { seed });
      const m = morrisIndices(d, d.unit.map((u) => g.evaluate(u)));
      const order = m.mu_star.map((v, i) => [v!, i] as const).sort((x, y) => y[0] - x[0]).map(([, i]) => i);
      expect(order, `seed ${seed}: μ* = ${m.mu_star}`).toEqual([0, 1, 2, 3, 4]);
      expect(m.mu_star_conf[0]).toBeGreaterThan(0);
    }
  });

  it('a base sample with a non-finite run is left out of the indices; an output that does not vary has none', () => {
    const f = ishigami();
    const d = saltelliDesign(3, 1024, { seed: 4 });
    const y = d.unit.map((u) => f.evaluate(toIshigami(u)));
    // runs of rows 10 and 20 fail (AB_2 of row 10, B of row 20)
    y[10 * 5 + 2] = NaN;
    y[20 * 5 + 4] = NaN;
    const s = sobolIndices(d, y);
    expect(s.rows).toBe(1022);
    const keep = y.filter((_, r) => ![10, 20].includes(Math.floor(r / 5)));
    const dKeep = { ...d, N: 1022, unit: d.unit.filter((_, r) => ![10, 20].includes(Math.floor(r / 5))) };
    expect(s.S1).toEqual(sobolIndices(dKeep, keep).S1);
    const c = sobolIndices(d, d.unit.map(() => 2.5));
    expect(c.variance).toBe(0);
    expect(c.S1).toEqual([null, null, null]);
    expect(c.ST_conf).toEqual([null, null, null]);
    const m = morrisIndices(morrisDesign(3, 5), new Array(20).fill(1));
    expect(m.mu_star).toEqual([0, 0, 0]);
  });
});

describe('model outputs', () => {
  it("after stage 2 of the paper preset (the reference solution) a foreign species' zone edge lies at the end of its zone, where its 0.5 n0 crossing does not", () => {
    const o = JSON.parse(readFileSync(join(ROOT, 'tests', 'fixtures', 'paper-oracle.json'), 'utf8'));
    const p = getPreset('paper');
    const stages = o.stages.map((st: any, k: number) => ({ ...summarizeStage({ ...st, potential_V: [], snapshots: [], balance: {}, stats: {} }, p, k), depth_nm: st.depth_nm, density: st.density }));
    const m = { index: 0, values: [], status: 'ok' as const, cells: 0, stages, wall_s: 0 };
    const v = Object.fromEntries(modelOutputs(p).map((d) => [d.name, d.get(m)]));
    // Cs+ in the zone is ~0.47 n0: "falls through 0.5" happens inside the zone (~30 nm), the edge at its end
    expect(v.s2_mean_Cs).toBeCloseTo(0.474, 3);
    expect(v.s2_front_Cs_nm).toBeLessThan(40);
    expect(v.s2_edge_Cs_nm).toBeGreaterThan(70);
    // the order of the study: Cs+ edge, the Rb+ maximum, the Li+ front, the Rb+ edge within a nanometre of it
    expect(v.s2_edge_Cs_nm).toBeLessThan(v.s2_max_Rb_depth_nm);
    expect(v.s2_max_Rb_depth_nm).toBeLessThan(v.s2_front_Li_nm);
    expect(Math.abs(v.s2_edge_Rb_nm - v.s2_front_Li_nm)).toBeLessThan(1);
    // after stage 1 (Rb+ ~0.89 n0 in the zone) edge and front agree to half a nanometre
    expect(Math.abs(v.s1_edge_Rb_nm - v.s1_front_Rb_nm)).toBeLessThan(0.5);
    // by hand: the blurred Rb+ profile at the edge is half the zone mean
    const faces = facesFromCentres(o.stages[1].depth_nm);
    expect(blurProfile(faces, o.stages[1].density.Rb, 1, [v.s2_edge_Rb_nm])[0]).toBeCloseTo(v.s2_mean_Rb / 2, 2);
  });
});

// ---------------------------------------------------------------- the command

function cli(argv: string[], simulateFn?: (p: Protocol, o?: RunOptions) => ProtocolResult) {
  return runCaptured(argv, { simulate: simulateFn ?? simulate }, '2026-12-03T12:00:00Z');
}

const readJson = (p: string): GsaFile => gsaFileSchema.parse(JSON.parse(readFileSync(p, 'utf8')));
const readCsv = (p: string) => parseCsv(readFileSync(p, 'utf8'), { comment: '#', columns: true }) as Record<string, string>[];

describe('cait gsa --function', () => {
  it('ishigami: the files, a valid cait-gsa/1 with the exact indices, the estimates within 0.03, the command line', async () => {
    const out = join(dir, 'ishigami');
    const r = await cli(['gsa', '--function', 'ishigami', '--samples', '8192', '--second-order', '--out', out]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['gsa.json', 'indices.csv', 'indices.svg', 'outputs.csv', 's2.csv', 'samples.csv']);
    const f = readJson(join(out, 'gsa.json'));
    expect(f.method).toBe('sobol');
    expect(f.N).toBe(8192);
    expect(f.runs).toBe(8192 * 8);
    expect(f.parameters.map((p) => [p.path, p.lo, p.hi])).toEqual([1, 2, 3].map((i) => [`x${i}`, -Math.PI, Math.PI]));
    expect(f.model).toEqual({ kind: 'function', name: 'ishigami', constants: { a: 7, b: 0.1 } });
    expect(f.analytic!.ST).toEqual(ishigami().analytic.ST);
    expect(f.provenance.command).toMatch(/^cait gsa --method sobol .*--function ishigami --samples 8192 --second-order --out /);
    expect(f.provenance.date).toBe('2026-12-03T12:00:00.000Z');
    const y = f.outputs.y as SobolOutput;
    f.analytic!.S1.forEach((x, i) => expect(Math.abs(y.S1[i]! - x)).toBeLessThan(0.03));
    f.analytic!.ST.forEach((x, i) => expect(Math.abs(y.ST[i]! - x)).toBeLessThan(0.03));
    // samples.csv + outputs.csv: SALib's order, one row per run; re-estimating from the CSVs gives the same S1
    const samples = readCsv(join(out, 'samples.csv'));
    const outputs = readCsv(join(out, 'outputs.csv'));
    expect(samples).toHaveLength(f.runs);
    expect(samples.slice(0, 8).map((s) => s.block)).toEqual(['A', 'AB_1', 'AB_2', 'AB_3', 'BA_1', 'BA_2', 'BA_3', 'B']);
    expect(Number(samples[1].x1)).toBe(Number(samples[7].x1)); // AB_1 takes x1 from B
    expect(Number(samples[1].x2)).toBe(Number(samples[0].x2));
    const again = sobolIndices(saltelliDesign(3, 8192, { secondOrder: true }), outputs.map((o) => Number(o.y)));
    expect(again.S1).toEqual(y.S1);
    expect(readCsv(join(out, 'indices.csv')).map((row) => Number(row.S1))).toEqual(y.S1);
    expect(readCsv(join(out, 's2.csv'))).toHaveLength(3);
    // the figure: one S1 and one ST bar per parameter with the values of the file, and the exact values
    const svg = readFileSync(join(out, 'indices.svg'), 'utf8');
    const bars = [...svg.matchAll(/class="bar"[^>]*data-param="(\d)"[^>]*data-index="(S1|ST)" data-value="([^"]+)"/g)];
    expect(bars).toHaveLength(6);
    for (const [, i, ix, v] of bars) expect(Number(v)).toBe(ix === 'S1' ? y.S1[Number(i)] : y.ST[Number(i)]);
    expect(svg.match(/class="exact"/g)).toHaveLength(6);
    expect(r.out).toMatch(/^gsa: Sobol' indices, N = 8192, 3 parameters, 65536 runs \(0 failed\)/);
    expect(r.out).toMatch(/\(exact\)\s+0\.314 \/ 0\.558\s+0\.442 \/ 0\.442\s+0\.000 \/ 0\.244/);
  });

  it("sobol-g with --method morris: μ* ranks the inputs by a; a non-power-of-2 N is warned about", async () => {
    const out = join(dir, 'g-morris');
    const r = await cli(['gsa', '--function', 'sobol-g', '--g-a', '0,1,9,99', '--method', 'morris', '--samples', '30', '--seed', '4', '--out', out]);
    expect(r.code).toBe(0);
    const f = readJson(join(out, 'gsa.json'));
    expect(f.runs).toBe(30 * 5);
    expect(f.design).toEqual({ levels: 4, delta: 2 / 3 });
    const y = f.outputs.y as MorrisOutput;
    expect([...y.mu_star].map((v, i) => [v!, i]).sort((a, b) => b[0] - a[0]).map(([, i]) => i)).toEqual([0, 1, 2, 3]);
    expect(readCsv(join(out, 'samples.csv'))[1].moved).toMatch(/^x[1-4]$/);
    const w = await cli(['gsa', '--function', 'sobol-g', '--samples', '100', '--out', join(dir, 'g100')]);
    expect(w.out).toContain("warning: N = 100 is not a power of 2: the Sobol' points are balanced only for powers of 2 (e.g. 64 or 128)");
  });

  it('bad input: one line, exit 2, nothing written', async () => {
    const out = join(dir, 'bad');
    const cases: [string[], string][] = [
      [['--function', 'rosenbrock', '--samples', '8'], '--function rosenbrock: unknown test function (known: ishigami, sobol-g)'],
      [['--function', 'ishigami'], '--samples N is required: base samples N (a power of 2, e.g. 256)'],
      [['--function', 'ishigami', '--samples', '8', '--vary', 'x=1:2'], '--vary: a test function has its own inputs; drop --vary (or --function)'],
      [['--function', 'ishigami', '--samples', '8', '--g-a', '1,2'], '--g-a: only used with --function sobol-g'],
      [['--function', 'sobol-g', '--samples', '8', '--g-a', '1,-2'], 'sobol-g: a_2 = -2; the coefficients must be numbers >= 0'],
      [['--function', 'ishigami', '--samples', '8', '--method', 'fast'], '--method fast: expected sobol or morris'],
      [['--function', 'ishigami', '--samples', '8', '--method', 'morris', '--second-order'], '--second-order: only with --method sobol'],
      [['--function', 'ishigami', '--samples', '8', '--method', 'morris', '--levels', '5'], '--levels 5: the number of Morris levels must be an even integer >= 2'],
      [['--preset', 'quick', '--samples', '8'], '--vary PATH=lo:hi is required: the parameters to study (e.g. --vary stages.1.D.Cs.D_m2s=2.4e-23:3.8e-23:log)'],
      [['--preset', 'paper', '--samples', '8', '--vary', 'stages.1.D.Cs.D=1e-23:2e-23'], '--vary stages.1.D.Cs.D: not a numeric field of the protocol (there is no such field); did you mean stages.1.D.Cs.D_m2s?'],
      [['--preset', 'paper', '--samples', '8', '--vary', 'stages.1.D.Cs.D_m2s=-2.4e-23:3.8e-23'], '--vary stages.1.D.Cs.D_m2s: value -2.4e-23 is invalid: D must be > 0'],
      [['--preset', 'paper', '--samples', '8', '--vary', 'stages.1.D.Cs.D_m2s=2.4e-23,3.8e-23'], '--vary stages.1.D.Cs.D_m2s: cait gsa samples a range; write PATH=lo:hi or PATH=lo:hi:log (no list, no point count)'],
      [['--preset', 'paper', '--samples', '8', '--vary', 'stages.1.D.Cs.D_m2s=2.4e-23:3.8e-23:5'], '--vary stages.1.D.Cs.D_m2s: cait gsa samples a range; write PATH=lo:hi or PATH=lo:hi:log (no list, no point count)'],
      [['--preset', 'paper', '--samples', '8', '--vary', 'sample.epsr=4:4'], '--vary sample.epsr: lo equals hi (4); nothing would vary'],
      [['--preset', 'paper', '--samples', '8', '--vary', 'sample.epsr=4:16', '--vary', 'sample.epsr+sample.n0_m3=1:2'], '--vary sample.epsr+sample.n0_m3: path sample.epsr is given twice'],
      [['--preset', 'paper', '--samples', '8', '--vary', 'stages.1.D.Rb.f=0.8:0.9'], '--vary stages.1.D.Rb.f: value 0.9 is invalid: fwhmPopulated needs f < 0.8805 (the Fermi level must lie below the half-maximum)'],
      [['--preset', 'paper', '--samples', '8', '--vary', 'sample.epsr=4:16', '--sigma', '3'], '--sigma: only used with --measured FILE'],
      [['--preset', 'quick', '--samples', '8', '--vary', 'sample.epsr=4:16', '--measured', '2:x.csv'], '--measured 2:x.csv: stage 2 does not exist (the protocol has 1 stage, 1..1)'],
      [['--preset', 'quick', '--samples', '8', '--vary', 'sample.epsr=4:16', '--slurm-array', '4'], '--slurm-array: only with --executor slurm'],
      [['--preset', 'quick', '--samples', '8', '--vary', 'sample.epsr=4:16', '--executor', 'pbs'], '--executor pbs: expected one of local, slurm'],
      [['--function', 'ishigami', '--samples', '8', '--executor', 'slurm'], '--executor slurm: a test function runs here, not with --function'],
    ];
    let runs = 0;
    const counting = (p: Protocol, o?: RunOptions) => {
      runs++;
      return simulate(p, o);
    };
    for (const [args, msg] of cases) {
      const r = await cli(['gsa', ...args, '--out', out], counting);
      expect(r.err, args.join(' ')).toBe(`cait: error: ${msg}\n`);
      expect(r.code).toBe(2);
    }
    expect(runs).toBe(0);
    expect(existsSync(out)).toBe(false);
  });
});

describe('cait gsa on the quick preset with the f64 solver (in-process, serial engine)', () => {
  const D_RB = 'stages.0.D.Rb.D_m2s';
  const out = join(dir, 'quick');
  let file: GsaFile;

  it('D(Rb+) controls the front, εr nothing (ST < 0.02); each run\'s outputs are its stage summary; the depth maps are of the blurred profiles', async () => {
    const r = await cli(['gsa', '--preset', 'quick', '--vary', `${D_RB}=1e-22:1e-21:log`, '--vary', 'sample.epsr=4:16', '--samples', '8', '--max-depth', '40', '--out', out]);
    expect(r.err).toMatch(/cait: ensemble 32\/32 members \(100%\)/);
    expect(r.code).toBe(0);
    file = readJson(join(out, 'gsa.json'));
    expect(file.runs).toBe(32);
    expect(file.members).toEqual({ ok: 32, failed: 0, reasons: [] });
    expect(file.provenance.engine).toBe('cpu');
    expect(file.model.kind === 'protocol' && file.model.base).toEqual(getPreset('quick'));
    expect(Object.keys(file.outputs)).toEqual([
      's1_duration_s',
      's1_final_current_A',
      's1_front_Li_nm',
      's1_front_Rb_nm',
      's1_max_Rb',
      's1_max_Rb_depth_nm',
      's1_mean_Li',
      's1_mean_Rb',
      's1_edge_Rb_nm',
    ]);
    const front = file.outputs.s1_front_Li_nm as SobolOutput;
    expect(front.ST[0]!).toBeGreaterThan(0.9);
    expect(Math.abs(front.ST[1]!)).toBeLessThan(0.02);
    expect(Math.abs(front.S1[1]!)).toBeLessThan(0.02);
    // the 4 nm exchange of the quick preset has no zone composition window (front − 5 nm < 2 nm)
    expect((file.outputs.s1_mean_Li as SobolOutput).rows).toBe(0);
    // run 5: simulate it directly and compare with outputs.csv
    const samples = readCsv(join(out, 'samples.csv'));
    const outputs = readCsv(join(out, 'outputs.csv'));
    const p = structuredClone(getPreset('quick'));
    p.stages[0].D.Rb = { model: 'constant', D_m2s: Number(samples[5][D_RB]) };
    p.sample.epsr = Number(samples[5]['sample.epsr']);
    const res = simulate(p);
    const st = summarizeStage(res.stages[0], p, 0);
    expect(Number(outputs[5].s1_front_Li_nm)).toBe(st.front_nm.Li);
    expect(Number(outputs[5].s1_duration_s)).toBe(st.duration_s);
    expect(Number(outputs[5].s1_max_Rb)).toBe(st.max.Rb!.value);
    // depth maps: Li and Rb after stage 1, mean over the runs of the 1 nm-blurred profile at 0, 0.5, …, 40 nm
    const depth = file.depth!;
    expect(depth.depth_nm).toHaveLength(81);
    expect(depth.maps.map((m) => [m.stage, m.species])).toEqual([
      [1, 'Li'],
      [1, 'Rb'],
    ]);
    const blurred = blurProfile(facesFromCentres(res.stages[0].depth_nm), res.stages[0].density.Rb, 1, depth.depth_nm);
    expect(blurred[4]).toBeGreaterThan(0.1);
    const rb = depth.maps[1];
    // D(Rb+) moves the profile where it falls (around the 4 nm front): there its ST is large (1 up to the
    // sampling noise of N = 8), εr's nil — swapping εr changes nothing, so its Jansen estimate is ~0 at any N
    const j = depth.depth_nm.indexOf(4);
    expect(rb.sd[j]!).toBeGreaterThan(0.01);
    expect('ST' in rb && rb.ST[0][j]!).toBeGreaterThan(0.5);
    expect('ST' in rb && Math.abs(rb.ST[1][j]!)).toBeLessThan(0.01);
    // deep in the bulk nothing varies: drawn grey (SD < 1e-3) in every row of every map
    expect(rb.sd[80]!).toBeLessThan(1e-6);
    const svg = readFileSync(join(out, 'depth_ST.svg'), 'utf8');
    const last = [...svg.matchAll(/<rect class="cell"[^>]*fill="([^"]+)"[^>]*data-to="80"/g)].map((m) => m[1]);
    expect(last).toEqual(['#d9d9d9', '#d9d9d9', '#d9d9d9', '#d9d9d9']);
    const csv = readCsv(join(out, 'depth_indices.csv'));
    expect(csv).toHaveLength(2 * 81 * 2);
    for (const f of ['depth_S1.svg', 'depth_ST.svg', 'depth_interactions.svg']) expect(readFileSync(join(out, f), 'utf8')).toMatch(/^<svg .*data-index=/);
  });

  it("with --measured: the residual of each run is the fit's (src/observe/observe.ts) against the data; D(Rb+) controls it", async () => {
    // "measured": the base protocol's own profile through a 2 nm resolution, on 0.5 nm points
    const base = getPreset('quick');
    const st = simulate(base).stages[0];
    const depth = Array.from({ length: 30 }, (_, i) => 0.5 + 0.5 * i);
    const faces = facesFromCentres(st.depth_nm);
    const li = blurProfile(faces, st.density.Li, 2, depth);
    const rb = blurProfile(faces, st.density.Rb, 2, depth);
    const file = join(dir, 'measured.csv');
    writeFileSync(file, 'depth_nm,Li,Rb\n' + depth.map((x, i) => `${x},${li[i]},${rb[i]}`).join('\n') + '\n');
    const out3 = join(dir, 'quick-measured');
    const r = await cli(['gsa', '--preset', 'quick', '--vary', `${D_RB}=1e-22:1e-21:log`, '--vary', 'sample.epsr=4:16', '--samples', '4', '--no-depth', '--measured', file, '--window', '1:15', '--out', out3]);
    expect(r.err).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const f = readJson(join(out3, 'gsa.json'));
    expect(f.model.kind === 'protocol' && f.model.observations).toEqual([{ label: file, stage: 1, species: ['Li', 'Rb'], points: 29 }]);
    const res = f.outputs.residual as SobolOutput;
    expect(res.unit).toBe('(n/n0)²');
    // εr changes nothing (its ST ~ 0 at any N); D(Rb+) all of it (1 up to the sampling noise of N = 4)
    expect(res.ST[0]!).toBeGreaterThan(0.5);
    expect(Math.abs(res.ST[1]!)).toBeLessThan(0.01);
    // run 2 by hand: its profile through the observation operator of the fit
    const samples = readCsv(join(out3, 'samples.csv'));
    const outputs = readCsv(join(out3, 'outputs.csv'));
    const p = structuredClone(base);
    p.stages[0].D.Rb = { model: 'constant', D_m2s: Number(samples[2][D_RB]) };
    p.sample.epsr = Number(samples[2]['sample.epsr']);
    const s2 = simulate(p).stages[0];
    const inWindow = depth.map((_x, i) => i).filter((i) => depth[i] >= 1 && depth[i] <= 15);
    const f2 = facesFromCentres(s2.depth_nm);
    const at = inWindow.map((i) => depth[i]);
    const mLi = blurProfile(f2, s2.density.Li, 2, at);
    const mRb = blurProfile(f2, s2.density.Rb, 2, at);
    // the measured file is normalized per point on reading (species sum to 1, README: cait sims)
    const ssr = inWindow.reduce((acc, i, q) => acc + (mLi[q] - li[i] / (li[i] + rb[i])) ** 2 + (mRb[q] - rb[i] / (li[i] + rb[i])) ** 2, 0);
    expect(Number(outputs[2].residual)).toBeCloseTo(ssr, 9);
  });

  it('a failed member leaves its base sample out (warned, counted); a failing engine leaves existing outputs untouched', async () => {
    const failing = (p: Protocol, o?: RunOptions) => {
      if ((p.stages[0].D.Rb as { D_m2s: number }).D_m2s > 6e-22) throw Object.assign(new Error('step control gave up'), { name: 'SolverError' });
      return simulate(p, o);
    };
    const out2 = join(dir, 'quick-failing');
    const r = await cli(['gsa', '--preset', 'quick', '--vary', `${D_RB}=1e-22:1e-21:log`, '--samples', '4', '--no-depth', '--out', out2], failing);
    expect(r.code).toBe(0);
    const f = readJson(join(out2, 'gsa.json'));
    expect(f.members.failed).toBeGreaterThan(0);
    expect(f.members.reasons[0].reason).toMatch(/step control gave up/);
    const o = f.outputs.s1_front_Li_nm as SobolOutput;
    const outputs = readCsv(join(out2, 'outputs.csv'));
    const badRows = new Set(outputs.filter((x) => x.status === 'failed').map((x) => Math.floor(Number(x.run) / 3)));
    expect(o.rows).toBe(4 - badRows.size);
    expect(r.out).toContain(`warning: s1_front_Li_nm: ${badRows.size} of 4 base samples left out`);
    expect(f.depth).toBeUndefined();
    // an engine that fails: the run rejects, the files of the first run are unchanged
    const before = readdirSync(out).map((n) => [n, readFileSync(join(out, n), 'utf8')]);
    const broken: EnsembleEngine = { name: 'broken', adapter: 'none', run: () => Promise.reject(new Error('device lost')), close: () => {} };
    const opts = { preset: 'quick', vary: [`${D_RB}=1e-22:1e-21:log`], samples: 4, out, quiet: true } as Partial<GsaCliOptions>;
    const full = { measured: [], sigma: [], mri: [], window: [], weights: [], shots: [], craterDepth: [], sputterRate: [], sensitivity: [], method: 'sobol', levels: 4, scramble: true, bootstrap: 100, confLevel: 0.95, depth: true, depthStep: 0.5, maxDepth: 20, blur: 1, minSd: 1e-3, engine: 'cpu', adapter: 'auto', batch: 4096, ...opts } as GsaCliOptions;
    await expect(runGsaCommand(full, resolveContext({ stdout: () => {}, stderr: () => {} }), broken)).rejects.toThrow('device lost');
    expect(readdirSync(out).map((n) => [n, readFileSync(join(out, n), 'utf8')])).toEqual(before);
    expect(readdirSync(out).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});

describe.skipIf(!haveDist)('cait gsa --engine webgpu (SwiftShader) against --engine cpu', () => {
  const icd = '/usr/lib/chromium/vk_swiftshader_icd.json';
  const must = !!process.env.CI || process.env.CAIT_REQUIRE_SWIFTSHADER === '1';
  const can = existsSync(icd);
  if (!can && must) it('needs SwiftShader', () => expect.fail(`${icd} is missing`));
  it.skipIf(!can)('the same samples give outputs within the engines\' agreement and the same indices', () => {
    const base = join(dir, 'engines');
    mkdirSync(base, { recursive: true });
    const args = ['gsa', '--preset', 'quick', '--vary', 'stages.0.D.Rb.D_m2s=1e-22:1e-21:log', '--vary', 'stages.0.D.Li.fall.theta=0.05:0.2', '--samples', '8', '--max-depth', '20', '--quiet'];
    const run = (engine: string[], out: string) => spawnSync(process.execPath, [MAIN, ...args, ...engine, '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
    const g = run(['--engine', 'webgpu', '--adapter', 'swiftshader'], join(base, 'gpu'));
    const c = run(['--engine', 'cpu', '--threads', '2'], join(base, 'cpu'));
    expect(g.status, g.stderr).toBe(0);
    expect(c.status, c.stderr).toBe(0);
    const gf = readJson(join(base, 'gpu', 'gsa.json'));
    const cf = readJson(join(base, 'cpu', 'gsa.json'));
    expect(gf.provenance.adapter).toMatch(/SwiftShader/);
    expect(readFileSync(join(base, 'gpu', 'samples.csv'), 'utf8').split('\n').slice(4)).toEqual(readFileSync(join(base, 'cpu', 'samples.csv'), 'utf8').split('\n').slice(4));
    const go = readCsv(join(base, 'gpu', 'outputs.csv'));
    const co = readCsv(join(base, 'cpu', 'outputs.csv'));
    // per run: fronts within 0.05 nm, durations within 0.1 %, the blurred profiles within 0.01 (the engines' agreement, README)
    let worstFront = 0;
    go.forEach((row, i) => {
      expect(row.status).toBe('ok');
      worstFront = Math.max(worstFront, Math.abs(Number(row.s1_front_Li_nm) - Number(co[i].s1_front_Li_nm)));
      expect(Math.abs(Number(row.s1_duration_s) / Number(co[i].s1_duration_s) - 1)).toBeLessThan(1e-3);
    });
    expect(worstFront).toBeLessThan(0.05);
    gf.depth!.maps.forEach((m, k) => {
      const cm = cf.depth!.maps[k];
      m.mean.forEach((v, j) => expect(Math.abs(v! - cm.mean[j]!)).toBeLessThan(0.01));
      // the depth-resolved ST where the profile varies (SD > 0.01)
      if ('ST' in m && 'ST' in cm)
        m.ST.forEach((row, i) => row.forEach((v, j) => m.sd[j]! > 0.01 && expect(Math.abs(v! - cm.ST[i][j]!), `${m.species} ST[${i}] at ${gf.depth!.depth_nm[j]} nm`).toBeLessThan(0.02)));
    });
    // indices of the outputs that vary well above the engines' differences: equal to 0.02
    for (const name of ['s1_front_Li_nm', 's1_duration_s', 's1_final_current_A', 's1_max_Rb']) {
      const a = gf.outputs[name] as SobolOutput;
      const b = cf.outputs[name] as SobolOutput;
      a.S1.forEach((v, i) => expect(Math.abs(v! - b.S1[i]!), `${name} S1[${i}]`).toBeLessThan(0.02));
      a.ST.forEach((v, i) => expect(Math.abs(v! - b.ST[i]!), `${name} ST[${i}]`).toBeLessThan(0.02));
    }
    writeFileSync(join(base, 'worst-front.txt'), String(worstFront));
  }, 600_000);
});
