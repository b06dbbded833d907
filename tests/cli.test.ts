/**
 * The `cait` CLI: in-process (runCli with a captured context and, where the
 * solver itself is not under test, a stand-in solver) and end-to-end
 * (spawning the built dist/src/cli/main.js with the real solver).
 */
import { describe, it, expect, beforeEach, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { makeProgram } from '../src/cli/main.js';
import { runCaptured } from './helpers/cli.js';
import { getPreset, presets } from '../src/config/presets.js';
import { parseProtocol } from '../src/config/validate.js';
import type { Protocol } from '../src/config/schema.js';
import { SolverError, type ProtocolResult, type RunOptions, type StageResult } from '../src/solver/types.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

/** A stand-in solver: logistic fronts, a few progress callbacks. */
function fakeSolver(calls: { n: number } = { n: 0 }) {
  return (protocol: Protocol, opts?: RunOptions): ProtocolResult => {
    calls.n++;
    const species = Object.keys(protocol.species);
    const depth = Array.from({ length: 300 }, (_, i) => 0.25 + 0.5 * i);
    const stages: StageResult[] = protocol.stages.map((st, k) => {
      for (let j = 0; j <= 20; j++)
        opts?.onProgress?.({
          stageIndex: k,
          stageCount: protocol.stages.length,
          stageName: st.name,
          t_s: j * 1000,
          charge_C: j * 1e-5,
          fraction: j / 20,
          steps: j * 7,
        });
      const xf = 30 + 20 * k;
      const beam = depth.map((x) => 0.9 / (1 + Math.exp((x - xf) / 2)));
      const density: Record<string, number[]> = {};
      for (const s of species) density[s] = depth.map(() => 0);
      density[species[0]] = beam.map((b) => 1 - b);
      density[st.beam] = beam;
      return {
        name: st.name,
        beam: st.beam,
        duration_s: 3.6e5,
        charge_C: 'charge_C' in st.stop ? st.stop.charge_C : 1e-3,
        final_current_A: 7.5e-9,
        depth_nm: depth,
        density,
        potential_V: depth.map(() => 1),
        current: { t_s: [0, 1e5, 3.6e5], I_A: [8e-9, 7.8e-9, 7.5e-9], I_back_A: [8e-9, 7.8e-9, 7.5e-9], Q_C: [0, 7.8e-4, 2.7e-3] },
        snapshots: [],
        balance: {},
        stats: { steps: 140, rejected: 0, newtonIterations: 300, factorizations: 140 },
      };
    });
    return { species, grid: { cells: depth.length, h_min_nm: 0.5, h_max_nm: 0.5, faces_nm: [] }, stages };
  };
}

interface Run {
  code: number;
  out: string;
  err: string;
}

function cli(argv: string[], extra: { simulate?: ReturnType<typeof fakeSolver>; env?: Record<string, string> } = {}): Promise<Run> {
  return runCaptured(argv, { env: extra.env ?? {}, simulate: extra.simulate ?? fakeSolver() });
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cait-cli-'));
});

/** A file with known bytes, to check it survives a failed run. */
function existing(name: string): { path: string; bytes: Buffer } {
  const path = join(dir, name);
  const bytes = Buffer.from(`previous ${name} \u00e9\n`);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, bytes);
  return { path, bytes };
}

describe('cait presets / config / help', () => {
  it('lists the presets with their summaries', async () => {
    const r = await cli(['presets']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^paper\s+Double-CAIT/m);
    expect(r.out).toMatch(/^quick\s+Single Rb\+/m);
  });

  it('config --preset prints the full validated protocol, 2-space JSON', async () => {
    const r = await cli(['config', '--preset', 'paper']);
    expect(r.code).toBe(0);
    expect(r.out).toBe(JSON.stringify(getPreset('paper'), null, 2) + '\n');
    expect(parseProtocol(JSON.parse(r.out))).toEqual(getPreset('paper'));
  });

  it('config --config fills in defaults', async () => {
    const input = structuredClone(presets.quick.input) as Record<string, unknown>;
    delete input.solver;
    delete input.front;
    const p = join(dir, 'min.json');
    writeFileSync(p, JSON.stringify(input));
    const r = await cli(['config', '--config', p]);
    expect(r.code).toBe(0);
    const back = JSON.parse(r.out);
    expect(back.solver.rtol).toBe(1e-3);
    expect(back.front).toEqual({ type: 'clamped', c_res: 1 });
  });

  it('--version and --help exit 0; the simulate help names units and outputs', async () => {
    const v = await cli(['--version']);
    expect(v.code).toBe(0);
    expect(v.out.trim()).toBe(pkg.version);
    const h = await cli(['simulate', '--help']);
    expect(h.code).toBe(0);
    for (const s of ['nm', 'n/n0', 'cait-result/1', '_stage<k>.csv', 't_s,I_A,I_back_A,Q_C', 'svg']) expect(h.out).toContain(s);
  });

  it('help is reflowed to 80 columns (nothing wraps mid-sentence at a terminal\'s edge; example commands stay whole) and says ±5 % for derivatives, ±20 % for the profiles', async () => {
    const top = await cli(['--help']);
    expect(top.out).toMatch(/^ {2}sensitivity \[options\] +d\/d ln p \(±5 %\) and ±20 % profiles at a point$/m);
    // every command's summary on one line of the list (no continuation lines)
    const list = top.out.slice(top.out.indexOf('Commands:'));
    expect(list.split('\n').filter((l) => /^ {8,}\S/.test(l))).toEqual([]);
    for (const cmd of ['', ...makeProgram().commands.map((c) => c.name()).filter((n) => n !== 'help')]) {
      const h = await cli([...(cmd ? [cmd] : []), '--help']);
      expect(h.code).toBe(0);
      const lines = h.out.split('\n');
      lines.forEach((l, k) => {
        const example = /^\s*cait\s/.test(l) || /\\$/.test(lines[k - 1] ?? '');
        if (!example) expect([...l].length, `cait ${cmd} --help: "${l}"`).toBeLessThanOrEqual(80);
      });
    }
    const fit = (await cli(['fit', '--help'])).out.replace(/\s+/g, ' ');
    expect(fit).toContain('±--sens-step central differences (±5 % by default), each parameter at 0.8× and 1.2× (the ±20 % view)');
  });

  it('makeProgram registers every command', () => {
    expect(makeProgram().commands.map((c) => c.name())).toEqual(expect.arrayContaining(['simulate', 'config', 'presets']));
  });
});

describe('bad input: exit 2, one line naming the field, outputs untouched, solver never run', () => {
  type Mut = (p: any) => void;
  const cases: [string, Mut | string, RegExp][] = [
    ['malformed JSON', '{"name": "x", ', /malformed JSON at line 1, column 15: unexpected end of the text/],
    ['malformed JSON: line and column, not a byte position', '{\n  "name": "x",\n  "stages": [1, 2,\n}\n', /: malformed JSON at line 4, column 1: unexpected "\}" \(a value was expected\)$/m],
    ['a control character in the JSON is shown escaped', '{\n  "name": "a\u001b[31mb"\n}', /malformed JSON at line 2, column 13: a control character "\\u001b" inside a string/],
    ['a stop with both charge and duration', (p) => (p.stages[0].stop = { charge_C: 2.52e-3, duration_s: 3600 }), /stages\.0\.stop: a stop is exactly one of \{"charge_C": C\} .* or \{"duration_s": s\} .*, not both/],
    ['unknown species in a stage D', (p) => (p.stages[1].D.Na = { model: 'constant', D_m2s: 1e-22 }), /stages\.1\.D\.Na: unknown species "Na"/],
    ['beam species not modelled', (p) => (p.stages[0].beam = 'K'), /stages\.0\.beam: unknown species "K"/],
    ['unknown field', (p) => (p.sample.colour = 'red'), /sample: unknown field "colour"/],
    ['negative D', (p) => (p.stages[1].D.Cs.D_m2s = -3.1e-23), /stages\.1\.D\.Cs\.D_m2s: D must be > 0/],
    ['"NaN" string as a number', (p) => (p.stages[1].D.Cs.D_m2s = 'NaN'), /stages\.1\.D\.Cs\.D_m2s: D must be a number/],
    ['null as a number', (p) => (p.stages[0].T_K = null), /stages\.0\.T_K: temperature must be a number/],
    ['1e999 (Infinity)', 'INFINITY', /stages\.1\.D\.Cs\.D_m2s: D must be (a number|finite)/],
    ['zero thickness', (p) => (p.sample.thickness_m = 0), /sample\.thickness_m: thickness must be > 0/],
    ['f above 1', (p) => (p.stages[1].D.Rb.f = 1.5), /stages\.1\.D\.Rb\.f: f must be in \(0,1\)/],
    ['f = 0', (p) => (p.stages[0].D.Li.f = 0), /stages\.0\.D\.Li\.f: f must be in \(0,1\)/],
    ['species present without a D model', (p) => delete p.stages[1].D.Rb, /stages\.1\.D: species "Rb" is present/],
  ];

  for (const [what, mut, expected] of cases) {
    it(what, async () => {
      let text: string;
      if (mut === 'INFINITY') {
        const p = structuredClone(presets.paper.input) as any;
        p.stages[1].D.Cs.D_m2s = 12345;
        text = JSON.stringify(p).replace('12345', '1e999');
      } else if (typeof mut === 'string') text = mut;
      else {
        const p = structuredClone(presets.paper.input);
        mut(p);
        text = JSON.stringify(p, null, 2);
      }
      const cfg = join(dir, 'bad.json');
      writeFileSync(cfg, text);
      const out = existing('out.json');
      const csv = existing('csv/out_stage1.csv');
      const svg = existing('fig.svg');
      const calls = { n: 0 };
      const r = await cli(['simulate', '--config', cfg, '--out', out.path, '--csv', join(dir, 'csv'), '--plot', svg.path], {
        simulate: fakeSolver(calls),
      });
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err.split('\n').filter(Boolean)).toHaveLength(1);
      expect(r.err).toMatch(/^cait: error: config .*bad\.json: /);
      expect(r.err).toMatch(expected);
      expect(r.err).not.toMatch(/\n\s+at /); // no stack
      expect(calls.n).toBe(0);
      for (const f of [out, csv, svg]) expect(readFileSync(f.path)).toEqual(f.bytes);
      expect(readdirSync(dir).sort()).toEqual(['bad.json', 'csv', 'fig.svg', 'out.json']);
      expect(readdirSync(join(dir, 'csv'))).toEqual(['out_stage1.csv']);
    });
  }

  it('option errors: both, neither, unknown preset, missing file, unknown option, missing --out', async () => {
    const out = existing('out.json');
    mkdirSync(join(dir, 'out_current.svg'));
    const runs: [string[], RegExp][] = [
      [['simulate', '--preset', 'quick', '--config', 'x.json', '--out', out.path], /cannot be used with/],
      [['simulate', '--out', out.path], /one of --preset NAME or --config FILE is required/],
      [['simulate', '--preset', 'nope', '--out', out.path], /unknown preset "nope"/],
      [['simulate', '--config', join(dir, 'missing.json'), '--out', out.path], /missing\.json: cannot read \(no such file\)/],
      [['simulate', '--preset', 'quick', '--out', out.path, '--frobnicate'], /unknown option '--frobnicate'/],
      [['simulate', '--preset', 'quick'], /required option '-o, --out <file.json>' not specified/],
      [['simulate', '--preset', 'quick', '--out', join(dir, 'out.json', 'x.json')], /--out .*is not a directory/],
      [['simulate', '--preset', 'quick', '--out', dir], /is a directory/],
      [['simulate', '--preset', 'quick', '--out', join(dir, 'a.json'), '--csv', out.path], /exists and is not a directory/],
      [['simulate', '--preset', 'quick', '--out', join(dir, 'a.json'), '--plot', join(dir, 'a.json')], /written twice/],
      [['simulate', '--preset', 'quick', '--out', join(dir, 'a.json'), '--plot', join(dir, 'out')], /--plot .*out_current\.svg: is a directory/],
      [['simulate', '--preset', 'quick', '--out', join(dir, 'a.json'), '--max-depth', '-3'], /--max-depth.*positive number/],
      [['frobnicate'], /unknown command 'frobnicate'/],
    ];
    for (const [argv, expected] of runs) {
      const calls = { n: 0 };
      const r = await cli(argv, { simulate: fakeSolver(calls) });
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err.split('\n').filter(Boolean), argv.join(' ')).toHaveLength(1);
      expect(r.err).toMatch(/^cait: error: /);
      expect(r.err).toMatch(expected);
      expect(calls.n).toBe(0);
      expect(readFileSync(out.path)).toEqual(out.bytes);
    }
    expect(readdirSync(dir).sort()).toEqual(['out.json', 'out_current.svg']);
  });
});

describe('solver failure: exit 3, one line with where-fields, outputs untouched', () => {
  const throwing = () => {
    throw new SolverError('step failed after 12 retries', { stage: 'stage 2 (Cs+)', t_s: 1.2e5, depth_nm: 45.2, species: 'Cs' });
  };

  it('formats the SolverError and writes nothing', async () => {
    const out = existing('out.json');
    const csv = existing('csv/out_stage1.csv');
    const svg = existing('fig.svg');
    const r = await cli(['simulate', '--preset', 'paper', '--out', out.path, '--csv', join(dir, 'csv'), '--plot', svg.path], {
      simulate: throwing as never,
    });
    expect(r.code).toBe(3);
    expect(r.err).toBe('cait: error: step failed after 12 retries (stage "stage 2 (Cs+)", t = 1.2e5 s, depth 45.2 nm, species Cs)\n');
    expect(r.out).toBe('');
    for (const f of [out, csv, svg]) expect(readFileSync(f.path)).toEqual(f.bytes);
    expect(readdirSync(dir).sort()).toEqual(['csv', 'fig.svg', 'out.json']);
    expect(readdirSync(join(dir, 'csv'))).toEqual(['out_stage1.csv']);
  });

  it('prints the stack only with CAIT_DEBUG=1', async () => {
    const r = await cli(['simulate', '--preset', 'quick', '--out', join(dir, 'o.json')], { simulate: throwing as never, env: { CAIT_DEBUG: '1' } });
    expect(r.code).toBe(3);
    expect(r.err.split('\n')[0]).toMatch(/^cait: error: step failed/);
    expect(r.err).toMatch(/\n\s+at /);
  });

  it('any other error exits 1 with one line', async () => {
    const r = await cli(['simulate', '--preset', 'quick', '--out', join(dir, 'o.json')], {
      simulate: (() => {
        throw new RangeError('boom\nsecond line');
      }) as never,
    });
    expect(r.code).toBe(1);
    expect(r.err).toBe('cait: error: boom second line\n');
  });
});

describe('successful run (stand-in solver)', () => {
  it('writes JSON, CSVs and SVGs, prints a summary, sparse progress on a non-terminal', async () => {
    const out = existing('res/paper.json');
    const r = await cli([
      'simulate',
      '--preset',
      'paper',
      '--out',
      out.path,
      '--csv',
      join(dir, 'csv'),
      '--plot',
      join(dir, 'fig', 'paper.svg'),
    ]);
    expect(r.err).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const res = JSON.parse(readFileSync(out.path, 'utf8'));
    expect(res.schema).toBe('cait-result/1');
    expect(res.provenance.date).toBe('2026-11-26T12:00:00.000Z');
    expect(res.stages.map((s: { name: string }) => s.name)).toEqual(['stage 1 (Rb+)', 'stage 2 (Cs+)']);
    expect(readdirSync(join(dir, 'csv')).sort()).toEqual([
      'paper_stage1.csv',
      'paper_stage1_current.csv',
      'paper_stage2.csv',
      'paper_stage2_current.csv',
    ]);
    expect(readdirSync(join(dir, 'fig')).sort()).toEqual(['paper.svg', 'paper_current.svg']);
    expect(readFileSync(join(dir, 'fig', 'paper.svg'), 'utf8')).toMatch(/^<svg xmlns/);
    // summary: one row per stage, the Li front (0.5 n0) of the fake fronts at 30 + 2 ln(0.8) and 50 + 2 ln(0.8) nm
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/stage\s+name\s+duration \(h\)\s+charge \(mC\)\s+final current \(nA\)\s+Li = 0\.5 n0 at \(nm\)/);
    expect(lines[1]).toMatch(/^\s*1\s+stage 1 \(Rb\+\)\s+100\.00\s+2\.5200\s+7\.500\s+29\.55$/);
    expect(lines[2]).toMatch(/^\s*2\s+stage 2 \(Cs\+\)\s+100\.00\s+2\.2800\s+7\.500\s+49\.55$/);
    expect(r.out).toContain(`wrote ${out.path} (cait-result/1)`);
    expect(r.out).toContain('paper_stage2_current.csv');
    // progress: one line per 10 % per stage at most, on stderr
    const prog = r.err.split('\n').filter(Boolean);
    expect(prog.length).toBe(22);
    expect(prog[0]).toMatch(/^cait: stage 1\/2 "stage 1 \(Rb\+\)" 0%: 0\.0000 \/ 2\.52 mC, t = 0\.00 h, 0 steps$/);
    expect(prog.at(-1)).toMatch(/^cait: stage 2\/2 "stage 2 \(Cs\+\)" 100%: 0\.2000 \/ 2\.28 mC, t = 5\.56 h, 140 steps$/);
  });

  it('--quiet: nothing on stderr', async () => {
    const r = await cli(['simulate', '--preset', 'quick', '--out', join(dir, 'q.json'), '--quiet']);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(existsSync(join(dir, 'q.json'))).toBe(true);
  });

  it('a failure while writing leaves all earlier outputs untouched', async () => {
    const out = existing('o.json');
    const csv = existing('csv/o_stage1.csv');
    // something appears on disk during the run: a directory where the current figure must go
    const solver = fakeSolver();
    const r = await cli(['simulate', '--preset', 'quick', '--out', out.path, '--csv', join(dir, 'csv'), '--plot', join(dir, 'fig.svg'), '-q'], {
      simulate: (p, o) => {
        mkdirSync(join(dir, 'fig_current.svg'));
        return solver(p, o);
      },
    });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^cait: error: cannot write the outputs: .*fig_current\.svg is a directory\n$/);
    expect(readFileSync(out.path)).toEqual(out.bytes);
    expect(readFileSync(csv.path)).toEqual(csv.bytes);
    expect(readdirSync(join(dir, 'csv'))).toEqual(['o_stage1.csv']);
    expect(existsSync(join(dir, 'fig.svg'))).toBe(false);
  });
});

// ---- end to end: the built CLI and the real solver --------------------------------------

const haveDist = existsSync(MAIN);
const haveSolver = existsSync(join(ROOT, 'src', 'solver', 'simulate.ts'));

function spawnCli(args: string[], timeout = 110_000) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout, env: { ...process.env, CAIT_DEBUG: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe.skipIf(!haveDist)('end to end: node dist/src/cli/main.js', () => {
  it('bad input exits 2 with one line on stderr and leaves --out alone', () => {
    const cfg = join(dir, 'bad.json');
    const p = structuredClone(presets.paper.input) as any;
    p.stages[1].D.Cs.D_m2s = -1;
    writeFileSync(cfg, JSON.stringify(p));
    const out = existing('out.json');
    const r = spawnCli(['simulate', '--config', cfg, '--out', out.path]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^cait: error: config .*bad\.json: stages\.1\.D\.Cs\.D_m2s: D must be > 0\n$/);
    expect(readFileSync(out.path)).toEqual(out.bytes);
  });

  it('usage errors exit 2 through the real process', () => {
    const r = spawnCli(['simulate', '--preset', 'quick', '--config', 'x.json', '--out', join(dir, 'o.json')]);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    const v = spawnCli(['--version']);
    expect(v.code).toBe(0);
    expect(v.out.trim()).toBe(pkg.version);
  });

  describe.skipIf(!haveSolver)('with the real solver', () => {
    beforeAll(() => {
      // the dist build must contain the solver
      expect(existsSync(join(ROOT, 'dist', 'src', 'solver', 'simulate.js'))).toBe(true);
    });

    it('a charge the stage can never deliver: SolverError, exit 3, outputs untouched', () => {
      const p = structuredClone(presets.quick.input) as any;
      p.stages[0].stop = { charge_C: 1 };
      p.stages[0].max_duration_s = 10;
      const cfg = join(dir, 'huge.json');
      writeFileSync(cfg, JSON.stringify(p));
      const out = existing('out.json');
      const csv = existing('csv/out_stage1.csv');
      const r = spawnCli(['simulate', '--config', cfg, '--out', out.path, '--csv', join(dir, 'csv'), '--plot', join(dir, 'f.svg'), '--quiet']);
      expect(r.code).toBe(3);
      expect(r.err).toMatch(/^cait: error: .+\n$/);
      expect(r.err).not.toMatch(/\n\s+at /);
      expect(readFileSync(out.path)).toEqual(out.bytes);
      expect(readFileSync(csv.path)).toEqual(csv.bytes);
      expect(readdirSync(dir).sort()).toEqual(['csv', 'huge.json', 'out.json']);
    });

    it('quick preset: writes every output and a summary', () => {
      const out = join(dir, 'r', 'quick.json');
      const r = spawnCli(['simulate', '--preset', 'quick', '--out', out, '--csv', join(dir, 'r'), '--plot', join(dir, 'r', 'quick.svg')]);
      expect(r.err).not.toMatch(/error/);
      expect(r.code).toBe(0);
      const res = JSON.parse(readFileSync(out, 'utf8'));
      expect(res.schema).toBe('cait-result/1');
      expect(res.version).toBe(pkg.version);
      expect(res.config).toEqual(getPreset('quick'));
      const st = res.stages[0];
      for (const s of ['Li', 'Rb', 'Cs']) expect(st.density[s]).toHaveLength(st.depth_nm.length);
      expect(st.charge_C).toBeCloseTo(0.25e-3, 6);
      expect(readdirSync(join(dir, 'r')).sort()).toEqual(['quick.json', 'quick.svg', 'quick_current.svg', 'quick_stage1.csv', 'quick_stage1_current.csv']);
      expect(r.out).toMatch(/^\s*1\s+Rb\+\s/m);
      expect(r.out).toContain('wrote ');
    });
  });
});

describe('a reader that closes the pipe early (`cait … | head -1`)', () => {
  const main = join(ROOT, 'dist', 'src', 'cli', 'main.js');
  it.skipIf(!existsSync(main))('ends quietly with status 0, every time', () => {
    for (let k = 0; k < 6; k++) {
      // `head -1` as the reader: it exits after the first line and closes the pipe
      const r = spawnSync('bash', ['-c', `node "${main}" ensemble --help | head -1 >/dev/null; echo "\${PIPESTATUS[0]}"`], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('0');
    }
  });
});
