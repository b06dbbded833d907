import { describe, expect, it } from 'vitest';
import { getPreset } from '../src/config/presets.js';
import { InputError } from '../src/core/errors.js';
import { MAX_MEMBERS, axisValues, buildGrid, designValues, editDistance, getAtPath, latinHypercube, numericPaths, parseNumber, parseSample, parseSeed, parseSweepArgs, parseSweepFile, parseVary, requireNumericPath, setAtPath, suggestPaths, type VarySpec } from '../src/sweep/index.js';
import { mulberry32 } from '../src/core/random.js';

const CS = 'stages.1.D.Cs.D_m2s';

/** Expect an InputError whose message contains every fragment. */
function expectInputError(fn: () => unknown, ...fragments: string[]): string {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected an InputError').toBeInstanceOf(InputError);
  const msg = (err as Error).message;
  for (const f of fragments) expect(msg).toContain(f);
  expect(msg).not.toContain('\n');
  return msg;
}

const relClose = (a: number, b: number, rel = 1e-12) => Math.abs(a - b) <= rel * Math.abs(b);

/** Remove the value at a dotted path (for comparing a member with the base elsewhere). */
function without(obj: unknown, path: string): unknown {
  const copy = structuredClone(obj) as Record<string, unknown>;
  const segs = path.split('.');
  const last = segs.pop()!;
  const holder = getAtPath(copy, segs.join('.')) as Record<string, unknown>;
  delete holder[last];
  return copy;
}

describe('paths', () => {
  it('gets values by dotted path, array indices included', () => {
    const paper = getPreset('paper');
    expect(getAtPath(paper, CS)).toBe(3.1e-23);
    expect(getAtPath(paper, 'sample.thickness_m')).toBe(2.325e-3);
    expect(getAtPath(paper, 'stages.0.D.Li.bulk.Ea_eV')).toBe(0.65);
    expect(getAtPath({ a: [{ b: 2 }] }, 'a.0.b')).toBe(2);
    expect(getAtPath(paper, 'stages.5.U_V')).toBeUndefined();
    expect(getAtPath(paper, 'stages.x')).toBeUndefined();
    expect(getAtPath(paper, 'sample.constructor')).toBeUndefined();
    expect(getAtPath(paper, 'sample.thickness_m.foo')).toBeUndefined();
  });

  it('set returns a deep copy with the new value and leaves the original alone', () => {
    const paper = getPreset('paper');
    const before = structuredClone(paper);
    const m = setAtPath(paper, CS, 3.8e-23);
    expect(getAtPath(m, CS)).toBe(3.8e-23);
    expect(paper).toEqual(before);
    expect(getAtPath(paper, CS)).toBe(3.1e-23);
    // deep: no shared sub-objects
    expect(m.stages).not.toBe(paper.stages);
    expect(m.stages[0]).not.toBe(paper.stages[0]);
    expect(m.sample).not.toBe(paper.sample);
    expect(without(m, CS)).toEqual(without(paper, CS));
    // round trip
    expect(setAtPath(m, CS, 3.1e-23)).toEqual(paper);
    for (const p of numericPaths(paper)) expect(getAtPath(setAtPath(paper, p, 7), p)).toBe(7);
  });

  it('sets into arrays by index', () => {
    const obj = { a: [1, 2, 3], b: { c: 4 } };
    const m = setAtPath(obj, 'a.1', 20);
    expect(m).toEqual({ a: [1, 20, 3], b: { c: 4 } });
    expect(obj.a).toEqual([1, 2, 3]);
    expect(setAtPath({ x: 1 }, 'x', 2)).toEqual({ x: 2 });
  });

  it('lists numeric leaves', () => {
    expect(numericPaths({ a: 1, b: { c: [2, 3], d: 'x', e: null, f: true } })).toEqual(['a', 'b.c.0', 'b.c.1']);
    const paths = numericPaths(getPreset('paper'));
    expect(paths).toContain(CS);
    expect(paths).toContain('solver.max_steps');
    expect(paths).toContain('stages.0.D.Li.fall.theta');
    expect(paths).not.toContain('stages.0.name');
    for (const p of paths) expect(typeof getAtPath(getPreset('paper'), p)).toBe('number');
  });

  it('edit distance', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('abc', 'abc')).toBe(0);
  });

  it('rejects missing and non-numeric paths with suggestions', () => {
    const paper = getPreset('paper');
    expectInputError(() => setAtPath(paper, 'stages.1.D.Cs.D_m2', 1), 'stages.1.D.Cs.D_m2', 'no such field', `did you mean ${CS}`);
    expectInputError(() => setAtPath(paper, 'stages.1.D.Cs', 1), 'stages.1.D.Cs', 'it is an object', CS);
    expectInputError(() => setAtPath(paper, 'stages.0.name', 1), 'stages.0.name', 'it is the text');
    expectInputError(() => setAtPath(paper, 'stages.7.U_V', 1), 'stages.7.U_V', 'did you mean stages.0.U_V');
    expectInputError(() => setAtPath(paper, 'stages..U_V', 1), 'stages..U_V');
    expectInputError(() => setAtPath(paper, CS, Number.NaN), CS, 'not a finite number');
    expectInputError(() => setAtPath(paper, CS, Infinity), CS, 'not a finite number');
    expect(suggestPaths(paper, 'sample')).toEqual(['sample.thickness_m', 'sample.area_m2', 'sample.n0_m3']);
    expect(suggestPaths(paper, 'stages.1.D.Cs.D_ms2')).toEqual([CS]);
    expectInputError(() => requireNumericPath(paper, 'zzzzzzzzzz', '--vary zzzzzzzzzz'), '--vary zzzzzzzzzz', 'not a numeric field');
  });
});

describe('--vary specs', () => {
  it('parses lists', () => {
    expect(parseVary(`${CS}=2.4e-23,3.1e-23,3.8e-23`)).toEqual({
      kind: 'list',
      path: CS,
      values: [2.4e-23, 3.1e-23, 3.8e-23],
      source: `--vary ${CS}`,
    });
    expect(parseVary('sample.epsr=8')).toMatchObject({ kind: 'list', values: [8] });
    expect(parseVary(' sample.epsr = 4, 8 ,-1.5E+1 ')).toMatchObject({ path: 'sample.epsr', values: [4, 8, -15] });
    expect(parseVary('a=.5,5.,+2')).toMatchObject({ values: [0.5, 5, 2] });
  });

  it('parses linear ranges with exact points', () => {
    const s = parseVary('sample.epsr=1:3:3');
    expect(s).toEqual({ kind: 'range', path: 'sample.epsr', lo: 1, hi: 3, n: 3, scale: 'linear', source: '--vary sample.epsr' });
    expect(axisValues(s)).toEqual([1, 2, 3]);
    expect(axisValues(parseVary('x=0:1:5'))).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(axisValues(parseVary('x=0:1:5:linear'))).toEqual([0, 0.25, 0.5, 0.75, 1]);
    // a range runs upwards: 10:0:5 (a likely slip for 0:10:5) is refused, not run in reverse
    expectInputError(() => parseVary('stages.0.U_V=10:0:5'), '--vary stages.0.U_V: the range "10:0:5" runs downwards (lo 10 > hi 0); write it from low to high');
    expectInputError(() => parseVary('x=1e-21:1e-22:3:log'), 'runs downwards');
    expect(axisValues(parseVary('x=2:9:1'))).toEqual([2]);
    const v = axisValues(parseVary('x=0.1:0.7:7'));
    expect(v[0]).toBe(0.1);
    expect(v[6]).toBe(0.7);
    v.forEach((x, i) => expect(relClose(x, 0.1 + 0.1 * i)).toBe(true));
  });

  it('parses log ranges', () => {
    const s = parseVary('x=1e-23:1e-21:3:log');
    expect(s).toMatchObject({ lo: 1e-23, hi: 1e-21, n: 3, scale: 'log' });
    const v = axisValues(s);
    expect(v).toHaveLength(3);
    [1e-23, 1e-22, 1e-21].forEach((e, i) => expect(relClose(v[i], e)).toBe(true));
    expect(v[0]).toBe(1e-23);
    expect(v[2]).toBe(1e-21);
    const w = axisValues(parseVary('x=1:1e4:5:log'));
    [1, 10, 100, 1000, 1e4].forEach((e, i) => expect(relClose(w[i], e)).toBe(true));
  });

  it('parses LHS ranges (no N)', () => {
    expect(parseVary('x=1:2')).toEqual({ kind: 'range', path: 'x', lo: 1, hi: 2, scale: 'linear', source: '--vary x' });
    expect(parseVary('x=1e-23:1e-21:log')).toMatchObject({ lo: 1e-23, hi: 1e-21, scale: 'log' });
    expect(parseVary('x=1:2:log')).not.toHaveProperty('n');
  });

  it('rejects malformed specs with messages naming the path', () => {
    expectInputError(() => parseVary(CS), CS, 'expected PATH=VALUES');
    expectInputError(() => parseVary('=1,2'), 'path before "=" is missing');
    expectInputError(() => parseVary(`${CS}=`), `--vary ${CS}`, 'no values');
    expectInputError(() => parseVary(`${CS}=1,,2`), `--vary ${CS}`, 'empty value');
    expectInputError(() => parseVary(`${CS}=1,abc`), `--vary ${CS}`, '"abc" is not a number');
    expectInputError(() => parseVary(`${CS}=1,NaN`), `--vary ${CS}`, '"NaN" is not a number');
    expectInputError(() => parseVary(`${CS}=Infinity`), `--vary ${CS}`, 'not a number');
    expectInputError(() => parseVary(`${CS}=0x10`), `--vary ${CS}`, 'not a number');
    expectInputError(() => parseVary(`${CS}=1e999`), `--vary ${CS}`, 'not a finite number');
    expectInputError(() => parseVary(`${CS}=1:x:3`), `--vary ${CS}`, '"x" is not a number');
    expectInputError(() => parseVary(`${CS}=1:2:0`), `--vary ${CS}`, 'N must be an integer >= 1', '"0"');
    expectInputError(() => parseVary(`${CS}=1:2:2.5`), `--vary ${CS}`, 'N must be an integer >= 1', '"2.5"');
    expectInputError(() => parseVary(`${CS}=1:2:-3`), `--vary ${CS}`, 'N must be an integer >= 1');
    expectInputError(() => parseVary(`${CS}=1:2:2000000`), `--vary ${CS}`, `more than ${MAX_MEMBERS}`);
    expectInputError(() => parseVary(`${CS}=0:1:3:log`), `--vary ${CS}`, 'log range needs lo > 0 and hi > 0', 'lo=0');
    expectInputError(() => parseVary(`${CS}=-1:1:log`), `--vary ${CS}`, 'log range needs lo > 0');
    expectInputError(() => parseVary(`${CS}=1:2:3:4`), `--vary ${CS}`, 'a range is lo:hi:N');
    expectInputError(() => parseVary(`${CS}=1:2:3:cubic`), `--vary ${CS}`, 'a range is lo:hi:N');
    expectInputError(() => parseVary(`${CS}=1,2:3`), `--vary ${CS}`, 'mixes a list');
    expectInputError(() => parseVary(`${CS}=2:2:3`), `--vary ${CS}`, 'lo equals hi');
    expectInputError(() => parseVary('stages.1.D.Cs.D m2s=1'), 'stages.1.D.Cs.D m2s', 'dotted segments');
    expectInputError(() => parseNumber('', 'lbl'), 'lbl', 'not a number');
  });

  it('parses --sample and --seed', () => {
    expect(parseSample('lhs:200', '7')).toEqual({ method: 'lhs', n: 200, seed: 7 });
    expect(parseSample('lhs:5')).toEqual({ method: 'lhs', n: 5, seed: 1 });
    expect(parseSeed(4294967295)).toBe(4294967295);
    expectInputError(() => parseSample('sobol:5'), 'unknown sampling method "sobol"');
    expectInputError(() => parseSample('lhs'), 'expected lhs:N');
    expectInputError(() => parseSample('lhs:0'), 'must be an integer >= 1');
    expectInputError(() => parseSample('lhs:1.5'), 'must be an integer >= 1');
    expectInputError(() => parseSeed('-1'), '--seed', 'integer from 0 to 4294967295');
    expectInputError(() => parseSeed('4294967296'), '--seed');
    expectInputError(() => parseSeed('1.5'), '--seed');
  });

  it('checks specs together: duplicates and the LHS/grid forms', () => {
    expectInputError(() => parseSweepArgs({ vary: [`${CS}=1,2`, `${CS}=3:4:2`] }), `--vary ${CS}`, 'given twice');
    expectInputError(() => parseSweepArgs({ vary: [`${CS}=1e-23:2e-23`] }), `--vary ${CS}`, 'needs a number of points');
    expectInputError(
      () => parseSweepArgs({ vary: ['sample.epsr=4:8', `${CS}=1e-23,2e-23`], sample: 'lhs:10' }),
      `--vary ${CS}`,
      'cannot be sampled',
    );
    expectInputError(
      () => parseSweepArgs({ vary: [`${CS}=1e-23:2e-23:5`], sample: 'lhs:10' }),
      `--vary ${CS}`,
      'no point count',
    );
    expectInputError(() => parseSweepArgs({ vary: [], sample: 'lhs:10' }), 'nothing to sample');
    expectInputError(() => parseSweepArgs({ vary: [`${CS}=1e-23`], seed: '3' }), '--seed', 'only used with --sample');
    expect(parseSweepArgs({ vary: [`${CS}=1e-23:2e-23:log`], sample: 'lhs:10', seed: '3' })).toEqual({
      specs: [{ kind: 'range', path: CS, lo: 1e-23, hi: 2e-23, scale: 'log', source: `--vary ${CS}` }],
      sample: { method: 'lhs', n: 10, seed: 3 },
    });
  });
});

describe('grid', () => {
  it('the paper D(Cs+) variations give 3 valid members', () => {
    const paper = getPreset('paper');
    const { specs } = parseSweepArgs({ vary: [`${CS}=2.4e-23,3.1e-23,3.8e-23`] });
    const g = buildGrid(paper, specs);
    expect(g.design).toBe('grid');
    expect(g.parameters).toEqual([CS]);
    expect(g.values).toEqual([[2.4e-23], [3.1e-23], [3.8e-23]]);
    expect(g.members).toHaveLength(3);
    g.members.forEach((m, i) => {
      expect(getAtPath(m, CS)).toBe(g.values[i][0]);
      expect(m.stages[1].D.Cs).toEqual({ model: 'constant', D_m2s: g.values[i][0] });
      expect(without(m, CS)).toEqual(without(paper, CS));
    });
    expect(g.members[1]).toEqual(paper);
    expect(g.members[0]).not.toBe(g.members[1]);
    expect(getPreset('paper')).toEqual(paper); // base untouched
  });

  it('cartesian product: size and order (last parameter fastest)', () => {
    const specs = [parseVary('a=1,2'), parseVary('b=10:30:3'), parseVary('c=5,6')];
    const { parameters, values } = designValues(specs);
    expect(parameters).toEqual(['a', 'b', 'c']);
    expect(values).toHaveLength(12);
    expect(values.slice(0, 5)).toEqual([
      [1, 10, 5],
      [1, 10, 6],
      [1, 20, 5],
      [1, 20, 6],
      [1, 30, 5],
    ]);
    expect(values[11]).toEqual([2, 30, 6]);
    expect(new Set(values.map((r) => r.join()))).toHaveProperty('size', 12);

    const paper = getPreset('paper');
    const g = buildGrid(paper, [parseVary(`${CS}=2e-23,3e-23,4e-23`), parseVary('stages.0.D.Rb.D_m2s=1e-22:1e-21:4:log')]);
    expect(g.members).toHaveLength(12);
    expect(g.members[5].stages[1].D.Cs).toEqual({ model: 'constant', D_m2s: 3e-23 });
    expect(getAtPath(g.members[5], 'stages.0.D.Rb.D_m2s')).toBe(g.values[5][1]);
    expect(relClose(g.values[5][1], 1e-22 * 10 ** (1 / 3))).toBe(true);
    const both = without(without(paper, CS), 'stages.0.D.Rb.D_m2s');
    for (const m of g.members) expect(without(without(m, CS), 'stages.0.D.Rb.D_m2s')).toEqual(both);
  });

  it('no specs: one member, the base', () => {
    const paper = getPreset('paper');
    const g = buildGrid(paper, []);
    expect(g.members).toEqual([paper]);
    expect(g.values).toEqual([[]]);
  });

  it('an invalid value names the path and the value', () => {
    const paper = getPreset('paper');
    expectInputError(
      () => buildGrid(paper, [parseVary(`${CS}=3.1e-23,-1e-23`)]),
      `--vary ${CS}: value -1e-23 is invalid: D must be > 0`,
    );
    expectInputError(
      () => buildGrid(paper, [parseVary(`${CS}=-1e-23:1e-23:3`)]),
      `--vary ${CS}: value -1e-23 is invalid: D must be > 0`,
    );
    expectInputError(
      () => buildGrid(paper, [parseVary('stages.0.D.Li.f=0.5:1:3')]),
      '--vary stages.0.D.Li.f: value 1 is invalid: f must be in (0,1)',
    );
    // fwhmPopulated needs f < 0.8805 (a cross-field rule, reported at the same path)
    expectInputError(
      () => buildGrid(paper, [parseVary('stages.1.D.Rb.f=0.9')]),
      '--vary stages.1.D.Rb.f: value 0.9 is invalid', 'fwhmPopulated needs f < 0.8805',
    );
    // integer fields: the schema's rule, with the path
    expectInputError(() => buildGrid(paper, [parseVary('solver.max_steps=1000.5')]), '--vary solver.max_steps: value 1000.5 is invalid');
    // a rule on another field names that field
    expectInputError(
      () => buildGrid(paper, [parseVary('grid.x_fine_nm=0.1')]),
      '--vary grid.x_fine_nm: value 0.1 is invalid: grid.h_fine_nm: fine cell size exceeds the fine zone',
    );
    // values valid alone, invalid together
    expectInputError(
      () => buildGrid(paper, [parseVary('grid.h_fine_nm=0.25,100'), parseVary('grid.x_fine_nm=150,50')]),
      'member 3 (grid.h_fine_nm=100, grid.x_fine_nm=50) is invalid',
      'fine cell size exceeds the fine zone',
    );
  });

  it('unknown or non-numeric paths are errors with suggestions', () => {
    const paper = getPreset('paper');
    expectInputError(() => buildGrid(paper, [parseVary('stages.1.D.Cs.D=1e-23')]), '--vary stages.1.D.Cs.D', `did you mean ${CS}`);
    expectInputError(() => buildGrid(paper, [parseVary('stages.1.D.Cs.model=1')]), '--vary stages.1.D.Cs.model', 'it is the text');
    expectInputError(() => buildGrid(paper, [parseVary('stages.2.U_V=1')]), '--vary stages.2.U_V', 'did you mean');
  });

  it('refuses absurd sizes', () => {
    const paper = getPreset('paper');
    expectInputError(
      () => buildGrid(paper, [parseVary('sample.epsr=1:10:1000'), parseVary('sample.n0_m3=1e27:1e29:1001:log')]),
      'the grid has 1001000 members',
      'sample.epsr: 1000',
      'sample.n0_m3: 1001',
    );
  });
});

describe('LHS', () => {
  const paper = getPreset('paper');
  const specs: VarySpec[] = [parseVary('sample.epsr=4:12'), parseVary(`${CS}=1e-24:1e-21:log`), parseVary('stages.0.U_V=10:20')];

  it('mulberry32 is deterministic and in [0,1)', () => {
    expect(mulberry32(42)()).toBe(0.6011037519201636);
    const r = mulberry32(7);
    const xs = Array.from({ length: 1000 }, () => r());
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
  });

  it('unit hypercube: one point per stratum per dimension', () => {
    for (const n of [1, 2, 7, 100]) {
      const u = latinHypercube(n, 3, 11);
      expect(u).toHaveLength(n);
      for (let j = 0; j < 3; j++) expect(u.map((r) => Math.floor(r[j] * n)).sort((a, b) => a - b)).toEqual([...Array(n).keys()]);
    }
  });

  it('each range has exactly one point per stratum (log ranges in log space)', () => {
    const n = 50;
    const g = buildGrid(paper, specs, { method: 'lhs', n, seed: 123 });
    expect(g.design).toBe('lhs');
    expect(g.seed).toBe(123);
    expect(g.parameters).toEqual(['sample.epsr', CS, 'stages.0.U_V']);
    expect(g.members).toHaveLength(n);
    const strata = (j: number, f: (v: number) => number) =>
      g.values.map((r) => Math.floor(f(r[j]) * n)).sort((a, b) => a - b);
    const all = [...Array(n).keys()];
    expect(strata(0, (v) => (v - 4) / 8)).toEqual(all);
    expect(strata(1, (v) => (Math.log10(v) + 24) / 3)).toEqual(all);
    expect(strata(2, (v) => (v - 10) / 10)).toEqual(all);
    // a log range stratified linearly would put about half the points in the top stratum
    expect(g.values.filter((r) => r[1] > 1e-21 - (1e-21 - 1e-24) / n).length).toBe(1);
    g.members.forEach((m, i) => {
      expect(m.sample.epsr).toBe(g.values[i][0]);
      expect(m.stages[1].D.Cs).toEqual({ model: 'constant', D_m2s: g.values[i][1] });
      expect(m.stages[0].U_V).toBe(g.values[i][2]);
    });
  });

  it('same seed, same design; different seed, different design', () => {
    const a = designValues(specs, { method: 'lhs', n: 20, seed: 5 });
    const b = designValues(specs, { method: 'lhs', n: 20, seed: 5 });
    const c = designValues(specs, { method: 'lhs', n: 20, seed: 6 });
    expect(a).toEqual(b);
    expect(c.values).not.toEqual(a.values);
    const d = parseSweepArgs({ vary: ['sample.epsr=4:12', `${CS}=1e-24:1e-21:log`, 'stages.0.U_V=10:20'], sample: 'lhs:20', seed: '5' });
    expect(designValues(d.specs, d.sample).values).toEqual(a.values);
  });

  it('an invalid value in a range is named', () => {
    expectInputError(
      () => buildGrid(paper, [parseVary(`${CS}=-1e-23:1e-23`)], { method: 'lhs', n: 10, seed: 1 }),
      `--vary ${CS}: value -`,
      'is invalid: D must be > 0',
    );
  });
});

describe('sweep files', () => {
  const file = (doc: unknown) => JSON.stringify(doc);

  it('gives the same grid as the CLI form', () => {
    const def = parseSweepFile(
      file({
        schema: 'cait-sweep/1',
        base: { preset: 'paper' },
        vary: [
          { path: CS, values: [2.4e-23, 3.1e-23, 3.8e-23] },
          { path: 'stages.0.D.Rb.D_m2s', lo: 1e-22, hi: 1e-21, n: 3, scale: 'log' },
        ],
      }),
      'sweep.json',
    );
    const fromFile = buildGrid(def.base, def.specs, def.sample);
    const cli = parseSweepArgs({ vary: [`${CS}=2.4e-23,3.1e-23,3.8e-23`, 'stages.0.D.Rb.D_m2s=1e-22:1e-21:3:log'] });
    const fromCli = buildGrid(getPreset('paper'), cli.specs, cli.sample);
    expect(fromFile).toEqual(fromCli);
    expect(fromFile.members).toHaveLength(9);
    expect(def.specs[0].source).toBe(`sweep.json: vary.0 (${CS})`);
  });

  it('LHS files and inline configs', () => {
    const config = structuredClone(getPreset('quick'));
    const def = parseSweepFile(
      file({
        schema: 'cait-sweep/1',
        base: { config },
        vary: [{ path: 'stages.0.D.Rb.D_m2s', lo: 1e-22, hi: 1e-21, scale: 'log' }],
        sample: { method: 'lhs', n: 8, seed: 9 },
      }),
      'sweep.json',
    );
    expect(def.base).toEqual(getPreset('quick'));
    expect(def.sample).toEqual({ method: 'lhs', n: 8, seed: 9 });
    const cli = parseSweepArgs({ vary: ['stages.0.D.Rb.D_m2s=1e-22:1e-21:log'], sample: 'lhs:8', seed: 9 });
    expect(buildGrid(def.base, def.specs, def.sample).values).toEqual(buildGrid(def.base, cli.specs, cli.sample).values);
    const noSeed = parseSweepFile(
      file({ schema: 'cait-sweep/1', base: { preset: 'paper' }, vary: [{ path: CS, lo: 1e-23, hi: 2e-23 }], sample: { method: 'lhs', n: 4 } }),
    );
    expect(noSeed.sample?.seed).toBe(1);
  });

  it('errors name the file and field', () => {
    const ok = { schema: 'cait-sweep/1', base: { preset: 'paper' }, vary: [{ path: CS, values: [3e-23] }] };
    const bad = (patch: Record<string, unknown>) => () => parseSweepFile(file({ ...ok, ...patch }), 'sweep.json');
    expectInputError(() => parseSweepFile('{', 'sweep.json'), 'sweep.json: malformed JSON');
    expectInputError(bad({ schema: 'cait-sweep/2' }), 'sweep.json: schema:');
    expectInputError(bad({ extra: 1 }), 'sweep.json', 'unknown field "extra"');
    expectInputError(bad({ base: { preset: 'nope' } }), 'unknown preset "nope"');
    expectInputError(bad({ base: {} }), 'sweep.json: base:', 'exactly one');
    expectInputError(bad({ base: { preset: 'paper', config: {} } }), 'sweep.json: base:', 'exactly one');
    expectInputError(bad({ base: { config: { name: 'x' } } }), 'sweep.json: base.config:');
    expectInputError(bad({ vary: [{ path: CS, values: [] }] }), 'sweep.json: vary.0.values: values must not be empty');
    expectInputError(bad({ vary: [{ path: CS, values: ['a'] }] }), 'sweep.json: vary.0.values.0');
    expectInputError(bad({ vary: [{ path: CS, values: [1], lo: 1 }] }), 'sweep.json: vary.0.lo', 'not both');
    expectInputError(bad({ vary: [{ path: CS, hi: 1, n: 2 }] }), 'sweep.json: vary.0.lo');
    expectInputError(bad({ vary: [{ path: CS, lo: 0, hi: 1, n: 2, scale: 'log' }] }), 'sweep.json: vary.0.lo', 'log range');
    expectInputError(bad({ vary: [{ path: CS, lo: 1, hi: 2, n: 2.5 }] }), 'sweep.json: vary.0.n: n must be an integer');
    expectInputError(bad({ vary: [{ path: CS, lo: 1, hi: 2, n: 2, scale: 'cubic' }] }), 'sweep.json: vary.0.scale');
    expectInputError(bad({ vary: [{ path: CS, lo: 1, hi: 2, n: 2, step: 1 }] }), 'sweep.json: vary.0', 'unknown field "step"');
    expectInputError(bad({ vary: [{ path: 'a b', values: [1] }] }), 'sweep.json: vary.0.path');
    expectInputError(bad({ vary: [{ path: CS, lo: 1e-23, hi: 2e-23 }] }), `sweep.json: vary.0 (${CS})`, 'needs a number of points');
    expectInputError(bad({ vary: [{ path: CS, values: [1e-23] }, { path: CS, values: [2e-23] }] }), `sweep.json: vary.1 (${CS})`, 'given twice');
    expectInputError(bad({ sample: { method: 'lhs', n: 4, seed: 1 } }), `sweep.json: vary.0 (${CS})`, 'cannot be sampled');
    expectInputError(bad({ sample: { method: 'sobol', n: 4 } }), 'sweep.json: sample.method');
    expectInputError(bad({ sample: { method: 'lhs', n: 4, seed: -1 } }), 'sweep.json: sample.seed');
    // errors found while building name the entry and its path
    const def = parseSweepFile(file({ ...ok, vary: [{ path: CS, values: [-1e-23] }] }), 'sweep.json');
    expectInputError(() => buildGrid(def.base, def.specs), `sweep.json: vary.0 (${CS}): value -1e-23 is invalid: D must be > 0`);
    const def2 = parseSweepFile(file({ ...ok, vary: [{ path: 'stages.1.D.Cs.D', values: [1] }] }), 'sweep.json');
    expectInputError(() => buildGrid(def2.base, def2.specs), 'sweep.json: vary.0 (stages.1.D.Cs.D)', `did you mean ${CS}`);
  });
});
