/**
 * Outputs that must not be lost or clobbered (issue 10, point 3): an output
 * that is an input is refused; every output path is checked before anything
 * is computed (exit 2 naming the user's path: an unwritable directory, a
 * read-only file); a failure while writing names the user's file, not the
 * hidden temporary one. In-process runCli with a counting solver, so "before
 * computing" is checked by the solver never being called.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import type { Protocol } from '../src/config/schema.js';
import { getPreset } from '../src/config/presets.js';
import { writeFilesAtomic } from '../src/io/atomic.js';
import { simulate } from '../src/solver/simulate.js';
import type { ProtocolResult, RunOptions } from '../src/solver/types.js';

let dir: string;
let runs = 0;
const counting = (p: Protocol, o?: RunOptions): ProtocolResult => {
  runs++;
  return simulate(p, o);
};
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cait-out-'));
  runs = 0;
});

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { stdout: (s) => (out += s), stderr: (s) => (err += s), stderrIsTTY: false, env: {}, simulate: counting });
  return { code, out, err };
}

/** A protocol file the command reads. */
function config(name = 'c.json'): { path: string; text: string } {
  const path = join(dir, name);
  const text = JSON.stringify(getPreset('quick'), null, 2);
  writeFileSync(path, text);
  return { path, text };
}

describe('an output that is an input is refused before anything runs', () => {
  it('simulate --config c.json --out c.json (and via another spelling of the path)', async () => {
    const c = config();
    for (const out of [c.path, join(dir, '.', 'sub', '..', 'c.json')]) {
      if (out.includes('sub')) mkdirSync(join(dir, 'sub'), { recursive: true });
      const r = await cli(['simulate', '--config', c.path, '--out', out]);
      expect(r.code).toBe(2);
      expect(r.err).toBe(`cait: error: --out ${out}: is the input --config ${c.path}; refusing to replace it\n`);
    }
    expect(runs).toBe(0);
    expect(readFileSync(c.path, 'utf8')).toBe(c.text);
  });

  it('ensemble --out / --csv that is the --config or the --sweep file', async () => {
    const c = config();
    const sweep = join(dir, 'sweep.json');
    const sweepText = JSON.stringify({ schema: 'cait-sweep/1', base: { preset: 'quick' }, vary: [{ path: 'stages.0.U_V', values: [10, 15] }] });
    writeFileSync(sweep, sweepText);
    const cases: [string[], string][] = [
      [['--config', c.path, '--vary', 'stages.0.U_V=10,15', '--out', c.path], `--out ${c.path}: is the input --config ${c.path}; refusing to replace it`],
      [['--config', c.path, '--vary', 'stages.0.U_V=10,15', '--out', join(dir, 'e.json'), '--csv', c.path], `--csv ${c.path}: is the input --config ${c.path}; refusing to replace it`],
      [['--sweep', sweep, '--out', sweep], `--out ${sweep}: is the input --sweep ${sweep}; refusing to replace it`],
    ];
    for (const [args, msg] of cases) {
      const r = await cli(['ensemble', ...args]);
      expect(r.err).toBe(`cait: error: ${msg}\n`);
      expect(r.code).toBe(2);
    }
    expect(runs).toBe(0);
    expect(readFileSync(c.path, 'utf8')).toBe(c.text);
    expect(readFileSync(sweep, 'utf8')).toBe(sweepText);
  });

  it('fit: a --measured file or the --config among the files --out DIR would replace', async () => {
    const out = join(dir, 'fit');
    mkdirSync(out);
    const measured = join(out, 'best_fit_1.csv');
    const text = 'depth_nm,Li,Rb\n1,0.2,0.8\n2,0.5,0.5\n3,0.9,0.1\n';
    writeFileSync(measured, text);
    const r = await cli(['fit', '--preset', 'quick', '--measured', `1:${measured}`, '--vary', 'stages.0.U_V=10,15', '--out', out]);
    expect(r.err).toBe(`cait: error: --out ${measured}: is the input --measured ${measured}; refusing to replace it\n`);
    expect(r.code).toBe(2);
    expect(runs).toBe(0);
    expect(readFileSync(measured, 'utf8')).toBe(text);
  });
});

describe('every output path is checked before computing (exit 2, the user\'s path)', () => {
  it('a read-only output file is refused, not replaced (simulate --out, --csv files; ensemble --out; fit files)', async () => {
    const ro = join(dir, 'ro.json');
    writeFileSync(ro, 'keep\n');
    chmodSync(ro, 0o444);
    const csvDir = join(dir, 'csv');
    mkdirSync(csvDir);
    const roCsv = join(csvDir, 'a_stage1.csv');
    writeFileSync(roCsv, 'keep\n');
    chmodSync(roCsv, 0o444);
    const fitDir = join(dir, 'fit');
    mkdirSync(fitDir);
    const roFit = join(fitDir, 'fit.json');
    writeFileSync(roFit, 'keep\n');
    chmodSync(roFit, 0o444);
    const measured = join(dir, 'm.csv');
    writeFileSync(measured, 'depth_nm,Li,Rb\n1,0.2,0.8\n2,0.5,0.5\n3,0.9,0.1\n');
    const cases: [string[], string][] = [
      [['simulate', '--preset', 'quick', '--out', ro], `--out ${ro}: the file is read-only; refusing to replace it`],
      [['simulate', '--preset', 'quick', '--out', join(dir, 'a.json'), '--csv', csvDir], `--csv ${roCsv}: the file is read-only; refusing to replace it`],
      [['ensemble', '--preset', 'quick', '--vary', 'stages.0.U_V=10,15', '--out', ro], `--out ${ro}: the file is read-only; refusing to replace it`],
      [['fit', '--preset', 'quick', '--measured', `1:${measured}`, '--vary', 'stages.0.U_V=10,15', '--out', fitDir], `--out ${roFit}: the file is read-only; refusing to replace it`],
    ];
    for (const [args, msg] of cases) {
      const r = await cli(args);
      expect(r.err, args.join(' ')).toBe(`cait: error: ${msg}\n`);
      expect(r.code).toBe(2);
    }
    expect(runs).toBe(0);
    for (const f of [ro, roCsv, roFit]) expect(readFileSync(f, 'utf8')).toBe('keep\n');
  });

  it('an output in a directory that cannot be written is refused at once, naming the user\'s path (no hidden temporary file)', async () => {
    const locked = join(dir, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o555);
    const measured = join(dir, 'm.csv');
    writeFileSync(measured, 'depth_nm,Li,Rb\n1,0.2,0.8\n2,0.5,0.5\n3,0.9,0.1\n');
    const cases: [string[], string][] = [
      [['simulate', '--preset', 'quick', '--out', join(locked, 'a.json')], `--out ${join(locked, 'a.json')}: cannot write in ${locked} (not writable)`],
      [['simulate', '--preset', 'quick', '--out', join(dir, 'a.json'), '--plot', join(locked, 'deeper', 'p.svg')], `--plot ${join(locked, 'deeper', 'p.svg')}: cannot write in ${locked} (not writable)`],
      [['ensemble', '--preset', 'quick', '--vary', 'stages.0.U_V=10,15', '--out', join(dir, 'e.json'), '--csv', join(locked, 'e.csv')], `--csv ${join(locked, 'e.csv')}: cannot write in ${locked} (not writable)`],
      [['fit', '--preset', 'quick', '--measured', `1:${measured}`, '--vary', 'stages.0.U_V=10,15', '--out', join(locked, 'fit')], `--out ${join(locked, 'fit')}: cannot write in ${locked} (not writable)`],
      [['sims', measured, '--out', join(locked, 'm.csv')], `--out ${join(locked, 'm.csv')}: cannot write in ${locked} (not writable)`],
    ];
    for (const [args, msg] of cases) {
      const r = await cli(args);
      expect(r.err, args.join(' ')).toBe(`cait: error: ${msg}\n`);
      expect(r.code).toBe(2);
    }
    expect(runs).toBe(0);
    expect(readdirSync(locked)).toEqual([]);
  });

  it('a write that fails anyway names the user\'s file, not the temporary one', () => {
    // a parent that is a file: the temporary file cannot be created
    writeFileSync(join(dir, 'blocker'), 'x');
    const target = join(dir, 'blocker', 'out.json');
    expect(() => writeFilesAtomic([{ path: join(dir, 'ok.json'), data: '1' }, { path: target, data: '2' }])).toThrow(new RegExp(`^${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
    expect(readdirSync(dir)).toEqual(['blocker']);
  });
});
