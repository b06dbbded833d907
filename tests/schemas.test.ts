/**
 * The output formats as zod schemas (issue 11): cait-result/1
 * (src/io/schema.ts), cait-ensemble/1 (src/ensemble/schema.ts) and
 * cait-fit/1 (src/fit/schema.ts). What each writer writes parses and reads
 * back unchanged (no field the schema does not know); the committed example
 * files parse; a file with a wrong type, a missing field or another format
 * string is refused with one line naming the field — by the schema, by
 * `cait merge` (parseShardFile) and by the page's loader (parseLoaded).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { parseWithSchema } from '../src/config/validate.js';
import { getPreset } from '../src/config/presets.js';
import { InputError } from '../src/core/errors.js';
import { buildResultJson, makeProvenance, resultJsonText } from '../src/io/result.js';
import { RESULT_SCHEMA, resultFileSchema } from '../src/io/schema.js';
import { simulate } from '../src/solver/simulate.js';
import { memberStage } from '../src/ensemble/member.js';
import { buildEnsembleFile, ensembleJsonText } from '../src/ensemble/output.js';
import { ENSEMBLE_SCHEMA, ensembleFileSchema, type EnsembleFile } from '../src/ensemble/schema.js';
import type { EnsembleRequest, EnsembleResult, MemberResult } from '../src/ensemble/types.js';
import { ensembleIdentity, withShard } from '../src/cluster/shard.js';
import { parseShardFile } from '../src/cluster/merge.js';
import { FIT_SCHEMA, fitFileSchema, type FitFile } from '../src/fit/schema.js';
import { buildFitFile } from '../src/fit/output.js';
import { compactJson } from '../src/core/json.js';
import { parseLoaded } from '../src/web/data.js';
import { gsaFileSchema } from '../src/gsa/schema.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const readJson = (rel: string) => JSON.parse(readFileSync(ROOT + rel, 'utf8')) as Record<string, unknown>;
const date = new Date('2026-11-26T12:00:00Z');

/** The message of the InputError `f` throws (it must throw one, of one line). */
function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    const m = (e as Error).message;
    expect(m).not.toContain('\n');
    return m;
  }
  throw new Error('not refused');
}

/** parse(JSON text) with the schema; it must give back exactly what was written. */
function roundTrip(schema: z.ZodType, text: string): unknown {
  const v = JSON.parse(text);
  const r = schema.safeParse(v);
  expect(r.success, r.success ? '' : r.error.message).toBe(true);
  expect(r.data).toEqual(v);
  return v;
}

// ---- one simulation, the members of a small ensemble -------------------------------------------

const protocol = getPreset('quick');
const result = simulate(protocol);

/** A 3-member ensemble at `profiles`: member 1 failed, member 2 with residuals (model kept). */
function ensembleOf(profiles: 'none' | 'final' | 'all'): { req: EnsembleRequest; res: EnsembleResult } {
  const stages = result.stages.map((st, k) => memberStage(st, protocol, k, profiles));
  const members: MemberResult[] = [
    { index: 0, values: [10], status: 'ok', cells: result.grid.cells, stages, wall_s: 0.5 },
    { index: 1, values: [12], status: 'failed', reason: 'step control gave up at t = 3 s (test)', cells: 0, stages: [], wall_s: 0.1 },
    {
      index: 2,
      values: [14],
      status: 'ok',
      cells: result.grid.cells,
      stages,
      wall_s: 0.25,
      residuals: [{ ssr: 0.5, parts: { Li: 0.2, Rb: 0.3 }, points: 3, model: { Li: [0.9, 0.8, 0.7], Rb: [0.1, 0.2, 0.3] } }],
    },
  ];
  const req: EnsembleRequest = { base: protocol, parameters: ['stages.0.U_V'], values: [[10], [12], [14]], members: [], profiles };
  return { req, res: { engine: 'cpu', adapter: 'test', members, wall_s: 1 } };
}

function ensembleFile(profiles: 'none' | 'final' | 'all' = 'none'): EnsembleFile {
  const { req, res } = ensembleOf(profiles);
  return buildEnsembleFile(req, res, makeProvenance(protocol, date), { design: 'lhs', seed: 3, sweep: { vary: ['stages.0.U_V=10:14'], sample: { method: 'lhs', n: 3, seed: 3 } }, command: 'cait ensemble …' });
}

describe('cait-result/1 (src/io/schema.ts)', () => {
  const text = resultJsonText(buildResultJson(protocol, result, makeProvenance(protocol, date)));

  it('what buildResultJson writes parses and reads back unchanged', () => {
    const v = roundTrip(resultFileSchema, text) as { schema: string };
    expect(v.schema).toBe(RESULT_SCHEMA);
  });

  it('a wrong type, a missing field, another format: refused naming the field', () => {
    const file = JSON.parse(text);
    file.stages[0].duration_s = 'long';
    expect(refusal(() => parseWithSchema(resultFileSchema, file, 'r.json'))).toBe('r.json: stages.0.duration_s: Invalid input: expected number, received string');
    delete file.stages[0].duration_s;
    expect(refusal(() => parseWithSchema(resultFileSchema, file, 'r.json'))).toBe('r.json: stages.0.duration_s: Invalid input: expected number, received undefined');
    const other = { ...JSON.parse(text), schema: 'cait-result/2' };
    expect(refusal(() => parseWithSchema(resultFileSchema, other, 'r.json'))).toBe('r.json: schema: Invalid input: expected "cait-result/1"');
  });
});

describe('cait-ensemble/1 (src/ensemble/schema.ts)', () => {
  it('what the writer writes parses and reads back unchanged, at every profiles level, with failed members, residuals and a shard block', () => {
    for (const level of ['none', 'final', 'all'] as const) {
      const f = ensembleFile(level);
      const v = roundTrip(ensembleFileSchema, ensembleJsonText(f)) as EnsembleFile;
      expect(v.members[1].stages).toEqual([]);
      expect(v.members[0].stages[0].depth_nm !== undefined).toBe(level !== 'none');
      expect(v.members[0].stages[0].current !== undefined).toBe(level === 'all');
    }
    // a front that does not exist is written null (Cs has not entered the quick preset's glass)
    expect(ensembleFile().members[0].stages[0].front_nm).toHaveProperty('Cs', null);
    // a shard: its block, a Slurm task in the provenance, an executor
    const { req, res } = ensembleOf('none');
    const whole = ensembleFile();
    const file = { ...whole, provenance: { ...whole.provenance, slurm: { job_id: '7', task_id: '1' }, executor: { kind: 'slurm' as const, jobs: [{ job_id: '7', tasks: 1, members: 3, failed_tasks: [], dir: '/b' }], sbatch_options: [], template: 'default' } } };
    const shard = withShard(file, ensembleIdentity(req, { design: 'lhs', seed: 3 }), { index: 0, count: 1 });
    expect(res.members).toHaveLength(3);
    roundTrip(ensembleFileSchema, ensembleJsonText(shard));
  });

  it('the committed examples parse', () => {
    for (const f of ['tests/fixtures/web/ensemble-small.json', 'examples/ensemble-quick.json']) roundTrip(ensembleFileSchema, readFileSync(ROOT + f, 'utf8'));
  });

  it('a wrong type, a missing field, another format, inconsistent counts: refused naming the field', () => {
    const base = JSON.parse(ensembleJsonText(ensembleFile())) as EnsembleFile;
    const bad = (edit: (f: Record<string, any>) => void) => {
      const f = structuredClone(base) as unknown as Record<string, any>;
      edit(f);
      return refusal(() => parseWithSchema(ensembleFileSchema, f, 'e.json'));
    };
    expect(bad((f) => (f.members[2].stages[0].duration_s = '3'))).toBe('e.json: members.2.stages.0.duration_s: Invalid input: expected number, received string');
    expect(bad((f) => delete f.members[0].stages[0].stats)).toBe('e.json: members.0.stages.0.stats: Invalid input: expected object, received undefined');
    expect(bad((f) => (f.schema = 'cait-ensemble/2'))).toBe('e.json: schema: Invalid input: expected "cait-ensemble/1"');
    expect(bad((f) => (f.members[0].status = 'fine'))).toBe('e.json: members.0.status: Invalid option: expected one of "ok"|"failed"');
    expect(bad((f) => (f.counts.ok = 3))).toBe('e.json: counts.ok: expected 2 (counted in members), got 3');
    expect(bad((f) => f.members[1].values.push(1))).toBe('e.json: members.1.values: expected 1 values (one per parameter), got 2');
    // many bad members: still one line, the first named and the rest counted
    expect(bad((f) => f.members.forEach((m: Record<string, unknown>) => (m.wall_s = null)))).toBe(
      'e.json: members.0.wall_s: Invalid input: expected number, received null (and 2 more issues)',
    );
  });
});

describe('cait-fit/1 (src/fit/schema.ts)', () => {
  it('the committed examples parse and read back unchanged', () => {
    for (const f of ['tests/fixtures/web/fit-small.json', 'examples/fit-quick.json']) roundTrip(fitFileSchema, readFileSync(ROOT + f, 'utf8'));
  });

  it('what buildFitFile writes parses, a failed member\'s null residual included; noise.s2 and intervals written null (no degrees of freedom) read back as NaN', () => {
    const fit = readJson('tests/fixtures/web/fit-small.json') as unknown as FitFile;
    const { schema: _s, provenance: p, ...rest } = fit;
    const outcome = { ...rest, engine: p.engine, adapter: p.adapter, wall_s: p.wall_s, warnings: ['w'], phases: [{ phase: 'grid', members: 30, failed: 1, wall_s: 1 }], residuals_source: 'engine' as const };
    outcome.members = outcome.members.map((m, i) => (i === 1 ? { values: m.values, status: 'failed' as const, reason: 'test', residual: null, source: m.source } : m));
    outcome.residual = outcome.residual.map((r, i) => (i === 1 ? null : r));
    const file = buildFitFile(outcome, { version: '0.1.0', date: date.toISOString(), config_sha256: p.config_sha256, node: 'v20', platform: 'linux-x64' }, 'cait fit …');
    const v = roundTrip(fitFileSchema, compactJson(file)) as FitFile;
    expect(v.members[1].residual).toBeNull();
    // no degrees of freedom (cait sensitivity with as many points as parameters): s2 and the linearised intervals are NaN
    const nan = file.best.interval.map((): [number, number] => [NaN, NaN]);
    const noDof = JSON.parse(compactJson({ ...file, noise: { s2: NaN, points: 2, dof: 0 }, best: { ...file.best, interval: nan, interval_linearized: nan } }));
    expect(noDof.noise.s2).toBeNull();
    expect(noDof.best.interval[0]).toEqual([null, null]);
    const back = fitFileSchema.parse(noDof);
    expect(back.noise.s2).toBeNaN();
    expect(back.best.interval_linearized![1]).toEqual([NaN, NaN]);
    // elsewhere null is not a number
    expect(refusal(() => parseWithSchema(fitFileSchema, { ...noDof, best: { ...noDof.best, values: [null, 1] } }, 'fit.json'))).toBe(
      'fit.json: best.values.0: Invalid input: expected number, received null',
    );
  });

  it('a wrong type, a missing field, another format, an inconsistent grid: refused naming the field', () => {
    const base = readJson('tests/fixtures/web/fit-small.json');
    const bad = (edit: (f: Record<string, any>) => void) => {
      const f = structuredClone(base) as Record<string, any>;
      edit(f);
      return refusal(() => parseWithSchema(fitFileSchema, f, 'fit.json'));
    };
    expect(bad((f) => (f.members[3].residual = 'small'))).toBe('fit.json: members.3.residual: Invalid input: expected number, received string');
    expect(bad((f) => delete f.best.member)).toBe('fit.json: best.member: Invalid input: expected number, received undefined');
    expect(bad((f) => (f.schema = 'cait-fit/0'))).toBe('fit.json: schema: Invalid input: expected "cait-fit/1"');
    expect(bad((f) => (f.measured.observations[1].resolution = { kind: 'box' }))).toMatch(/^fit\.json: measured\.observations\.1\.resolution(\.kind)?: Invalid/);
    expect(bad((f) => (f.grid.axes[1] = []))).toMatch(/^fit\.json: grid\.axes\.1: expected at least one value \(and \d+ more issues?\)$/);
    expect(bad((f) => (f.grid.axes[0] = 'wide'))).toBe('fit.json: grid.axes.0: Invalid input: expected array, received string');
    expect(bad((f) => (f.grid.size = 31))).toBe('fit.json: grid.size: 31 is not the product of the axis lengths (30) (and 1 more issue)');
    expect(bad((f) => f.measured.observations[0].target.Rb.pop())).toBe('fit.json: measured.observations.0.target.Rb: expected 30 numbers (one per depth), got 29');
  });
});

describe('cait-gsa/1 (src/gsa/schema.ts; its executor record is the ensemble\'s)', () => {
  it('the recorded studies parse', () => {
    for (const f of ['scripts/gsa/paper-sobol/gsa.json', 'scripts/gsa/paper-morris/gsa.json']) {
      const r = gsaFileSchema.safeParse(readJson(f));
      expect(r.success, `${f}: ${r.error?.message}`).toBe(true);
    }
  });
});

describe('the readers refuse a broken file with one line naming the field', () => {
  const shardText = (edit: (f: Record<string, any>) => void = () => {}) => {
    const { req } = ensembleOf('none');
    const f = JSON.parse(ensembleJsonText(withShard(ensembleFile(), ensembleIdentity(req, { design: 'lhs', seed: 3 }), { index: 0, count: 1 })));
    edit(f);
    return JSON.stringify(f);
  };

  it('cait merge (parseShardFile)', () => {
    expect(parseShardFile(shardText(), 's0.json').members).toHaveLength(3);
    expect(refusal(() => parseShardFile(shardText((f) => (f.members[2].stages[0].duration_s = '3')), 's0.json'))).toBe(
      's0.json: members.2.stages.0.duration_s: Invalid input: expected number, received string',
    );
    expect(refusal(() => parseShardFile(shardText((f) => delete f.shard.ensemble.values_sha256), 's0.json'))).toBe(
      's0.json: shard.ensemble.values_sha256: Invalid input: expected string, received undefined',
    );
    expect(refusal(() => parseShardFile(shardText((f) => (f.shard.index = 1)), 's0.json'))).toBe('s0.json: shard.index: expected index < count');
    expect(refusal(() => parseShardFile(shardText((f) => (f.schema = FIT_SCHEMA)), 's0.json'))).toBe('s0.json: not a cait-ensemble/1 file (schema "cait-fit/1")');
    expect(refusal(() => parseShardFile('{"schema": ', 's0.json'))).toMatch(/^s0\.json: malformed JSON at line 1, column 12/);
  });

  it('the page\'s loader (parseLoaded)', () => {
    const ens = ensembleJsonText(ensembleFile('final'));
    const l = parseLoaded(ens, 'e.json');
    expect(l.kind).toBe('ensemble');
    const broken = JSON.parse(ens);
    broken.members[0].stages[0].density.Li[4] = 'x';
    expect(refusal(() => parseLoaded(JSON.stringify(broken), 'e.json'))).toBe('e.json: members.0.stages.0.density.Li.4: Invalid input: expected number, received string');
    const fit = readJson('tests/fixtures/web/fit-small.json');
    expect(parseLoaded(JSON.stringify(fit), 'fit.json').kind).toBe('fit');
    expect(refusal(() => parseLoaded(JSON.stringify({ ...fit, top: [{ values: [1, 2], member: 0 }] }), 'fit.json'))).toBe(
      'fit.json: top.0.residual: Invalid input: expected number, received undefined',
    );
    expect(refusal(() => parseLoaded(JSON.stringify({ ...fit, noise: { s2: null, points: 2, dof: 0 } }), 'fit.json'))).toBe(
      'fit.json: noise.s2: expected a positive number (χ² = residual / s2), got NaN',
    );
    expect(refusal(() => parseLoaded(JSON.stringify({ ...fit, schema: ENSEMBLE_SCHEMA }), 'fit.json'))).toMatch(/^fit\.json: [a-z_.0-9]+: /);
  });
});
