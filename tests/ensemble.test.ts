/**
 * Ensembles: the CPU engine (worker threads from dist/, else serial) on a
 * reduced paper protocol, the study's D(Cs+) effect, failed members, the
 * cait-ensemble/1 file at each profiles level, the CSV, the figure, and the
 * `cait ensemble` command in-process and end to end.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse as parseCsv } from 'csv-parse/sync';
import { getPreset, presets } from '../src/config/presets.js';
import { parseProtocol } from '../src/config/validate.js';
import type { Protocol } from '../src/config/schema.js';
import { buildGrid, parseVary } from '../src/sweep/index.js';
import { simulate } from '../src/solver/simulate.js';
import type { ProtocolResult, RunOptions } from '../src/solver/types.js';
import { CpuEngine } from '../src/ensemble/cpu.js';
import { buildEnsembleFile, csvColumns, ensembleCsv, ensembleJsonText, nonFiniteReason, requestFromGrid, summarizeStage, type EnsembleProgress, type EnsembleRequest, type EnsembleResult } from '../src/ensemble/index.js';
import { ensembleProfilesSvg } from '../src/plot/ensemble.js';
import { ensembleProvenance } from '../src/ensemble/write.js';
import { runCaptured } from './helpers/cli.js';
import { compareProfiles } from '../src/analysis/profiles.js';
import { needs } from './helpers/require.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const WORKER = join(ROOT, 'dist', 'src', 'ensemble', 'cpu-worker.js');
/** the threaded engine and the end-to-end tests need `npm run build` (npm test does it) */
const haveDist = existsSync(MAIN) && existsSync(WORKER) && existsSync(join(ROOT, 'dist', 'src', 'cli', 'ensemble.js'));
const D_CS = 'stages.1.D.Cs.D_m2s';
const D_CS_VALUES = [2.4e-23, 3.1e-23, 3.8e-23];

const dir = mkdtempSync(join(tmpdir(), 'cait-ensemble-'));

/** The paper protocol on a coarser grid (0.5 nm cells, 120 nm fine zone, growth 1.1): both stages, ~2.5 s per member. */
function reducedPaper(): Protocol {
  const p = structuredClone(presets.paper.input) as Record<string, unknown>;
  p.grid = { h_fine_nm: 0.5, x_fine_nm: 120, growth: 1.1 };
  return parseProtocol(p, 'reduced paper');
}

function existing(name: string, text = 'keep me\n'): { path: string; bytes: Buffer } {
  const path = join(dir, name);
  writeFileSync(path, text);
  return { path, bytes: readFileSync(path) };
}

/** Every array anywhere in a JSON value, with its path. */
function arraysIn(v: unknown, path = ''): { path: string; length: number }[] {
  if (Array.isArray(v)) return [{ path, length: v.length }, ...v.flatMap((x, i) => arraysIn(x, `${path}.${i}`))];
  if (v !== null && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => arraysIn(x, path ? `${path}.${k}` : k));
  return [];
}

describe('D(Cs+) sweep of a reduced paper protocol with the CPU engine', () => {
  let req: EnsembleRequest;
  let res: EnsembleResult;
  const events: EnsembleProgress[] = [];
  const direct: ProtocolResult[] = [];

  beforeAll(async () => {
    const base = reducedPaper();
    const grid = buildGrid(base, [parseVary(`${D_CS}=${D_CS_VALUES.join(',')}`)]);
    req = requestFromGrid(grid, base, 'final');
    const engine = haveDist ? new CpuEngine() : new CpuEngine({ mode: 'serial' });
    res = await engine.run(req, { onProgress: (p) => events.push(p) });
    for (const m of req.members) direct.push(simulate(m));
  });

  it('members come back in order, with their values, all ok', () => {
    expect(res.engine).toBe('cpu');
    expect(res.members.map((m) => m.index)).toEqual([0, 1, 2]);
    expect(res.members.map((m) => m.values)).toEqual(D_CS_VALUES.map((v) => [v]));
    expect(res.members.map((m) => m.status)).toEqual(['ok', 'ok', 'ok']);
    res.members.forEach((m, k) => {
      expect(req.members[k].stages[1].D.Cs).toEqual({ model: 'constant', D_m2s: D_CS_VALUES[k] });
      expect(m.stages.map((s) => s.name)).toEqual(['stage 1 (Rb+)', 'stage 2 (Cs+)']);
      expect(m.cells).toBe(direct[k].grid.cells);
    });
  });

  it("member k's final profiles and scalars equal a direct simulate() of member k's protocol, exactly", () => {
    res.members.forEach((m, k) => {
      direct[k].stages.forEach((d, s) => {
        const st = m.stages[s];
        expect(st.depth_nm).toEqual(d.depth_nm);
        expect(st.density).toEqual(d.density);
        expect(st.potential_V).toEqual(d.potential_V);
        expect([st.duration_s, st.charge_C, st.final_current_A]).toEqual([d.duration_s, d.charge_C, d.final_current_A]);
        expect(st.stats).toEqual(d.stats);
        const { front_nm, max, mean } = summarizeStage(d, req.members[k], s);
        expect({ front_nm: st.front_nm, max: st.max, mean: st.mean }).toEqual({ front_nm, max, mean });
      });
    });
  });

  it('the Rb+ maximum near the Li+ onset after stage 2 moves deeper as D(Cs+) grows', () => {
    const rows = res.members.map((m) => ({
      D_Cs: m.values[0],
      RbMax_nm: m.stages[1].max.Rb!.depth_nm,
      RbMax: m.stages[1].max.Rb!.value,
      LiFront_nm: m.stages[1].front_nm.Li!,
      CsFront_nm: m.stages[1].front_nm.Cs,
    }));
    console.log('reduced paper, after stage 2:', JSON.stringify(rows));
    for (let k = 1; k < rows.length; k++) expect(rows[k].RbMax_nm).toBeGreaterThan(rows[k - 1].RbMax_nm);
    for (const r of rows) {
      // the maximum sits between the Cs+ decay and the Li+ onset, within a few nm of the onset
      expect(r.RbMax_nm).toBeLessThan(r.LiFront_nm);
      expect(r.RbMax_nm).toBeGreaterThan(r.LiFront_nm - 10);
      expect(r.RbMax).toBeGreaterThan(0.5);
    }
    // stage 1 does not see D(Cs+): identical across members
    expect(new Set(res.members.map((m) => m.stages[0].front_nm.Li)).size).toBe(1);
  });

  it('the mean composition of the zone after stage 2 is mostly Cs+ and Rb+, a little Li+ (docs/model.md §5)', () => {
    for (const m of res.members) {
      const mean = m.stages[1].mean!;
      expect(mean.from_nm).toBe(2);
      expect(mean.to_nm).toBeCloseTo(m.stages[1].front_nm.Li! - 5, 12);
      const { Li, Rb, Cs } = mean.density;
      expect(Li + Rb + Cs).toBeCloseTo(1, 2);
      expect(Li).toBeLessThan(0.1);
      expect(Cs).toBeGreaterThan(0.3);
      expect(Rb).toBeGreaterThan(0.3);
    }
  });

  it('progress: one finished event per member, counts up to the total, stage occupancy reported', () => {
    const fin = events.filter((e) => e.finished);
    expect(fin.map((e) => e.done)).toEqual([1, 2, 3]);
    expect(fin.map((e) => e.finished!.index).sort()).toEqual([0, 1, 2]);
    expect(fin.at(-1)!.failed).toBe(0);
    for (const e of events) {
      expect(e.total).toBe(3);
      expect(e.runningByStage).toHaveLength(2);
    }
    expect(events.some((e) => e.runningByStage[1] > 0)).toBe(true);
  });

  it('--profiles none: the file keeps the scalars and no profile arrays', () => {
    const file = buildEnsembleFile({ ...req, profiles: 'none' }, res, ensembleProvenance(req.base), { design: 'grid' });
    const json = JSON.parse(ensembleJsonText(file));
    expect(json.schema).toBe('cait-ensemble/1');
    expect(json.profiles).toBe('none');
    expect(json.parameters).toEqual([D_CS]);
    expect(json.counts).toEqual({ members: 3, ok: 3, failed: 0 });
    expect(json.provenance.engine).toBe('cpu');
    expect(json.provenance.config_sha256).toMatch(/^[0-9a-f]{64}$/);
    json.members.forEach((m: any, k: number) => {
      expect(m.values).toEqual([D_CS_VALUES[k]]);
      m.stages.forEach((st: any, i: number) => {
        for (const key of ['depth_nm', 'density', 'potential_V', 'current', 'snapshots']) expect(st).not.toHaveProperty(key);
        // the engine's scalars, as they were: each stage delivered its charge
        const ran = res.members[k].stages[i];
        expect(st.duration_s).toBe(ran.duration_s);
        expect(Math.abs(st.charge_C / (req.members[k].stages[i].stop as { charge_C: number }).charge_C - 1)).toBeLessThan(1e-6);
        expect(st.front_nm.Li).toBe(ran.front_nm.Li);
        expect(st.stats.steps).toBe(ran.stats.steps);
      });
      expect(m.stages[1].max.Rb.depth_nm).toBe(res.members[k].stages[1].max.Rb!.depth_nm);
    });
    // no array of profile length anywhere in the members
    const long = arraysIn(json.members).filter((a) => a.length > 10);
    expect(long).toEqual([]);
    // ... while --profiles final keeps them, and all adds the current record
    const fin = JSON.parse(ensembleJsonText(buildEnsembleFile(req, res, ensembleProvenance(req.base))));
    expect(fin.members[0].stages[1].density.Rb).toEqual(direct[0].stages[1].density.Rb);
    expect(fin.members[0].stages[1]).not.toHaveProperty('current');
  });

  it('CSV: one row per member that parses back to the same numbers', () => {
    const file = buildEnsembleFile(req, res, ensembleProvenance(req.base), { design: 'grid' });
    const text = ensembleCsv(file);
    expect(text.split('\n')[0]).toMatch(/^# cait-ensemble-csv\/1: cait-ensemble \S+, one row per member of a grid$/);
    const rows = parseCsv(text, { comment: '#', columns: true, skip_empty_lines: true }) as Record<string, string>[];
    expect(rows).toHaveLength(3);
    expect(Object.keys(rows[0])).toEqual(csvColumns([D_CS], ['Li', 'Rb', 'Cs'], 2));
    rows.forEach((r, k) => {
      const m = res.members[k];
      expect(Number(r.member)).toBe(k);
      expect(Number(r[D_CS])).toBe(D_CS_VALUES[k]);
      expect(r.status).toBe('ok');
      expect(r.reason).toBe('');
      expect(Number(r.s2_duration_s)).toBe(m.stages[1].duration_s);
      expect(Number(r.s2_steps)).toBe(m.stages[1].stats.steps);
      expect(Number(r.s2_front_Li_nm)).toBe(m.stages[1].front_nm.Li);
      expect(Number(r.s2_max_Rb_depth_nm)).toBe(m.stages[1].max.Rb!.depth_nm);
      expect(Number(r.s2_mean_Cs)).toBe(m.stages[1].mean!.density.Cs);
      expect(r.s1_front_Cs_nm).toBe(''); // Cs has not entered in stage 1
    });
  });

  it('figure: the Rb+ profiles of the three D(Cs+) in one SVG, legend = the values', () => {
    const file = buildEnsembleFile(req, res, ensembleProvenance(req.base));
    const svg = ensembleProfilesSvg(file, { stage: 2, species: 'Rb', maxDepth_nm: 120 });
    expect(svg).toMatch(/^<svg xmlns/);
    expect(svg.match(/<path class="series"/g)).toHaveLength(3);
    for (const v of ['2.4e-23', '3.1e-23', '3.8e-23']) expect(svg).toContain(`>${v}</text>`);
    expect(svg).toContain('data-member="2"');
    expect(svg).toContain('Cs.D_m2s:');
    // deterministic
    expect(ensembleProfilesSvg(file, { stage: 2, species: 'Rb', maxDepth_nm: 120 })).toBe(svg);
    const none = buildEnsembleFile({ ...req, profiles: 'none' }, res, ensembleProvenance(req.base));
    expect(() => ensembleProfilesSvg(none, { stage: 2, species: 'Rb' })).toThrow(/--profiles none/);
  });
});

describe('failed members are flagged, the others complete', () => {
  const engine = () => (haveDist ? new CpuEngine({ threads: 2 }) : new CpuEngine({ mode: 'serial' }));

  it('step limit (solver.max_steps = 3) and a charge that cannot be delivered: failed with the reason', async () => {
    const base = getPreset('quick');
    const grid = buildGrid(base, [parseVary('solver.max_steps=3,200000'), parseVary('stages.0.max_duration_s=10,1e8')]);
    const res = await engine().run(requestFromGrid(grid, base, 'none'));
    expect(res.members.map((m) => m.values)).toEqual([
      [3, 10],
      [3, 1e8],
      [200000, 10],
      [200000, 1e8],
    ]);
    expect(res.members.map((m) => m.status)).toEqual(['failed', 'failed', 'failed', 'ok']);
    expect(res.members[0].reason).toMatch(/^step limit reached \(3 steps\) at Q = .* mC \(stage "Rb\+", t = .* s\)$/);
    expect(res.members[1].reason).toMatch(/^step limit reached \(3 steps\)/);
    expect(res.members[2].reason).toMatch(/^stage cannot deliver its charge: after max_duration_s = 1\.000e\+1 s only .* mC were delivered/);
    for (const m of res.members.slice(0, 3)) {
      expect(m.stages).toEqual([]);
      expect(m.cells).toBe(216);
    }
    const ok = res.members[3];
    expect(ok.stages[0].charge_C).toBeCloseTo(0.25e-3, 9);
    expect(ok.stages[0]).not.toHaveProperty('density');
  });

  it('a member whose result holds NaN is failed with where the NaN is; the others are ok', async () => {
    const base = getPreset('quick');
    const grid = buildGrid(base, [parseVary('sample.epsr=4,8,16')]);
    const poisoned = (p: Protocol, o?: RunOptions): ProtocolResult => {
      const r = simulate(p, o);
      if (p.sample.epsr === 8) r.stages[0].density.Rb[7] = NaN;
      return r;
    };
    const res = await new CpuEngine({ mode: 'serial', simulate: poisoned }).run(requestFromGrid(grid, base, 'final'));
    expect(res.members.map((m) => m.status)).toEqual(['ok', 'failed', 'ok']);
    expect(res.members[1].reason).toBe('non-finite value NaN in stage 1 "Rb+": density of Rb at depth 3.75 nm');
    expect(res.members[0].stages[0].density!.Rb.every(Number.isFinite)).toBe(true);
    const r = simulate(base);
    r.stages[0].current.I_A[3] = Infinity;
    expect(nonFiniteReason(r)).toMatch(/^non-finite value Infinity in stage 1 "Rb\+": current record I_A at entry 3 \(t = .* s\)$/);
  });

  it.skipIf(!haveDist)('a worker thread that dies fails its member and is replaced; one that cannot start fails the run', async () => {
    const crash = join(dir, 'crash-worker.mjs');
    writeFileSync(
      crash,
      "import { parentPort } from 'node:worker_threads';\nparentPort.postMessage({ type: 'ready' });\nparentPort.on('message', () => { throw new Error('boom'); });\n",
    );
    const base = getPreset('quick');
    const req = requestFromGrid(buildGrid(base, [parseVary('sample.epsr=4,8,16')]), base, 'none');
    const res = await new CpuEngine({ threads: 2, workerUrl: pathToFileURL(crash) }).run(req);
    expect(res.members.map((m) => m.status)).toEqual(['failed', 'failed', 'failed']);
    for (const m of res.members) expect(m.reason).toMatch(/^the worker thread running this member died \(Error: boom\)$/);
    const broken = join(dir, 'broken-worker.mjs');
    writeFileSync(broken, "throw new Error('cannot load');\n");
    await expect(new CpuEngine({ threads: 2, workerUrl: pathToFileURL(broken) }).run(req)).rejects.toThrow(
      /^cpu engine: a worker thread could not start \(Error: cannot load\)$/,
    );
  });

  it('an aborted run rejects', async () => {
    const base = getPreset('quick');
    const req = requestFromGrid(buildGrid(base, [parseVary('sample.epsr=4,8,16')]), base, 'none');
    const ac = new AbortController();
    let calls = 0;
    const fake = (p: Protocol, o?: RunOptions) => {
      if (++calls === 1) ac.abort(new Error('stop'));
      return simulate(p, o);
    };
    await expect(new CpuEngine({ mode: 'serial', simulate: fake }).run(req, { signal: ac.signal })).rejects.toThrow('stop');
    expect(calls).toBe(1);
  });
});

// ---- the command ----------------------------------------------------------------------------------

function cli(argv: string[], simulateFn?: (p: Protocol, o?: RunOptions) => ProtocolResult) {
  return runCaptured(argv, { simulate: simulateFn ?? simulate });
}

describe('cait ensemble (in-process, serial engine)', () => {
  it('runs a sweep with a failed member: exit 0, the summary counts it, progress on stderr', async () => {
    const out = existing('cli.json');
    const csv = join(dir, 'cli.csv');
    const r = await cli(['ensemble', '--preset', 'quick', '--vary', 'solver.max_steps=3,200000', '--profiles', 'none', '--out', out.path, '--csv', csv]);
    expect(r.err).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^ensemble: 2 members, 1 ok, 1 failed; wall time [\d.]+ s \([\d.e+-]+ members\/s\); engine cpu \(f64 solver, serial/);
    expect(lines[1]).toMatch(/^member\s+solver\.max_steps\s+status\s+s1 duration \(h\)\s+s1 Li front \(nm\)\s+s1 Rb max at \(nm\)$/);
    expect(lines[2]).toMatch(/^\s+0\s+3\s+failed\s+-\s+-\s+-$/);
    expect(lines[3]).toMatch(/^\s+1\s+200000\s+ok\s+8\.\d\d\s+4\.\d\d\s+2\.00$/);
    expect(lines[4]).toMatch(/^member 0 \(solver\.max_steps=3\) failed: step limit reached \(3 steps\)/);
    expect(r.out).toContain(`wrote ${out.path} (cait-ensemble/1, profiles none)`);
    expect(r.err.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(/^cait: member 0 failed: step limit reached/),
      expect.stringMatching(/^cait: ensemble 1\/2 members \(50%\), .* members\/s, 1 failed$/),
      expect.stringMatching(/^cait: ensemble 2\/2 members \(100%\), .* members\/s, 1 failed$/),
    ]);
    const json = JSON.parse(readFileSync(out.path, 'utf8'));
    expect(json.provenance.date).toBe('2026-11-26T12:00:00.000Z');
    expect(json.base).toEqual(getPreset('quick'));
    expect(json.members.map((m: any) => m.status)).toEqual(['failed', 'ok']);
    expect(parseCsv(readFileSync(csv, 'utf8'), { comment: '#', columns: true })).toHaveLength(2);
  });

  it('bad input exits 2 before running, outputs untouched', async () => {
    const out = existing('bad.json');
    let runs = 0;
    const counting = (p: Protocol, o?: RunOptions) => {
      runs++;
      return simulate(p, o);
    };
    const cases: [string[], RegExp][] = [
      [['--vary', 'stages.1.D.Cs.D=1e-23'], /^cait: error: --vary stages\.1\.D\.Cs\.D: not a numeric field of the protocol \(there is no such field\); did you mean stages\.1\.D\.Cs\.D_m2s\?\n$/],
      [['--engine', 'gpu'], /^cait: error: --engine gpu: unknown engine; available: cpu, webgpu, gpujs\n$/],
      [['--engine', 'webgpu', '--adapter', 'bogus'], /^cait: error: --adapter bogus: unknown adapter; use one of auto, vulkan, swiftshader, llvmpipe, null\n$/],
      [['--profiles', 'some'], /^cait: error: --profiles some: expected one of none, final, all\n$/],
      [['--profiles', 'none', '--plot', join(dir, 'p.svg')], /^cait: error: --plot needs profiles: use --profiles final \(or all\), not none\n$/],
      [['--plot', join(dir, 'p.svg'), '--plot-stage', '3'], /^cait: error: --plot-stage 3: the protocol has 2 stages \(1\.\.2\)\n$/],
      [['--plot', join(dir, 'p.svg'), '--plot-species', 'Na'], /^cait: error: --plot-species Na: not a species of the protocol \(Li, Rb, Cs\)\n$/],
      [['--csv', out.path], /^cait: error: --csv .*bad\.json: the same file as --out\n$/],
      [['--seed', '3'], /^cait: error: --seed: only used with --sample lhs:N\n$/],
      [['--sweep', join(dir, 'nope.json')], /^cait: error: --sweep .*nope\.json: the sweep file gives the base and what varies; drop --preset\n$/],
    ];
    for (const [extra, msg] of cases) {
      const r = await cli(['ensemble', '--preset', 'paper', '--out', out.path, ...extra], counting);
      expect(r.err).toMatch(msg);
      expect(r.code).toBe(2);
    }
    expect(runs).toBe(0);
    expect(readFileSync(out.path)).toEqual(out.bytes);
  });

  it('help names the units, the D(Cs+) path, the engines and the adapters', async () => {
    const r = await cli(['ensemble', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('stages.1.D.Cs.D_m2s');
    expect(r.out).toContain('_m2s = m²/s');
    expect(r.out).toMatch(/--engine webgpu \(float32 WGSL kernels/);
    expect(r.out).toMatch(/--adapter auto .*swiftshader/);
  });
});

function spawnCli(args: string[], timeout = 110_000) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout, env: { ...process.env, CAIT_DEBUG: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe.skipIf(!haveDist)('end to end: node dist/src/cli/main.js ensemble', () => {
  it('a negative D in --vary exits 2 naming the path and leaves --out untouched', () => {
    const out = existing('e2e-bad.json');
    const r = spawnCli(['ensemble', '--preset', 'paper', '--vary', `${D_CS}=-2.4e-23,3.1e-23`, '--out', out.path]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`cait: error: --vary ${D_CS}: value -2.4e-23 is invalid: D must be > 0\n`);
    expect(r.out).toBe('');
    expect(readFileSync(out.path)).toEqual(out.bytes);
  });

  it('worker threads, --profiles none, CSV: replaces --out, failed member flagged, exit 0', () => {
    const out = existing('e2e.json');
    const csv = join(dir, 'e2e.csv');
    const r = spawnCli([
      'ensemble', '--preset', 'quick', '--vary', 'stages.0.D.Rb.D_m2s=1e-22,2.67e-22', '--vary', 'solver.max_steps=3,200000',
      '--profiles', 'none', '--threads', '2', '--out', out.path, '--csv', csv,
    ]);
    expect(r.err).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ensemble: 4 members, 2 ok, 2 failed; .* engine cpu \(f64 solver, 2 worker threads, /);
    const json = JSON.parse(readFileSync(out.path, 'utf8'));
    expect(json.schema).toBe('cait-ensemble/1');
    expect(json.members.map((m: any) => m.status)).toEqual(['failed', 'ok', 'failed', 'ok']);
    expect(json.members.map((m: any) => m.values)).toEqual([[1e-22, 3], [1e-22, 200000], [2.67e-22, 3], [2.67e-22, 200000]]);
    expect(arraysIn(json.members).filter((a) => a.length > 10)).toEqual([]);
    const rows = parseCsv(readFileSync(csv, 'utf8'), { comment: '#', columns: true }) as Record<string, string>[];
    expect(rows.map((x) => x.status)).toEqual(['failed', 'ok', 'failed', 'ok']);
    expect(rows[0].reason).toMatch(/^step limit reached/);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('cait ensemble --engine webgpu (SwiftShader) against --engine cpu', () => {
  const need = needs('dist', 'swiftshader');
  need.assertPresent();
  it.skipIf(need.skip)('the same sweep gives the same profiles (float32 quasi-neutral vs f64 Poisson) and records the adapter', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cait-gpu-cli-'));
    const args = ['ensemble', '--preset', 'quick', '--vary', 'stages.0.D.Rb.D_m2s=2e-22,3.5e-22', '--profiles', 'final', '--quiet'];
    const gpu = spawnCli([...args, '--engine', 'webgpu', '--adapter', 'swiftshader', '--out', join(dir, 'gpu.json')]);
    const cpu = spawnCli([...args, '--engine', 'cpu', '--threads', '1', '--out', join(dir, 'cpu.json')]);
    expect(gpu.code, gpu.err).toBe(0);
    expect(cpu.code, cpu.err).toBe(0);
    const g = JSON.parse(readFileSync(join(dir, 'gpu.json'), 'utf8'));
    const c = JSON.parse(readFileSync(join(dir, 'cpu.json'), 'utf8'));
    expect(g.engine).toBe('webgpu');
    expect(g.adapter).toMatch(/SwiftShader/);
    expect(g.provenance.adapter).toBe(g.adapter);
    expect(g.members).toHaveLength(2);
    for (let i = 0; i < 2; i++) {
      expect(g.members[i].status).toBe('ok');
      const cmp = compareProfiles(g.members[i].stages[0], c.members[i].stages[0]);
      expect(cmp.worst).toBeLessThan(0.01);
      expect(cmp.front.diff).toBeLessThan(0.5);
      expect(Math.abs(g.members[i].stages[0].charge_C / c.members[i].stages[0].charge_C - 1)).toBeLessThan(1e-4);
    }
  }, 120_000);
});
