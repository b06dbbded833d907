/**
 * Long runs tell the user what they do (issue 10, point 4): off a terminal a
 * progress line at least every few seconds (a heartbeat between members), a
 * time left on the bar, a warning with the member count and a memory
 * estimate before a very large sweep; and the ensemble file records what was
 * swept and the command line.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { resolveContext } from '../src/cli/common.js';
import { runEnsemble, type SweepCliOptions } from '../src/cli/ensemble.js';
import { etaText, sweepBytesEstimate } from '../src/cli/progress.js';
import { getPreset } from '../src/config/presets.js';
import type { EnsembleEngine, EnsembleRequest, EnsembleResult } from '../src/ensemble/types.js';
import { simulate } from '../src/solver/simulate.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const haveWorker = existsSync(join(ROOT, 'dist', 'src', 'ensemble', 'cpu-worker.js'));
const dir = mkdtempSync(join(tmpdir(), 'cait-progress-'));

async function cli(argv: string[], env: Record<string, string> = {}, inProcessSolver = false) {
  let out = '';
  let err = '';
  const code = await runCli(argv, { stdout: (s) => (out += s), stderr: (s) => (err += s), stderrIsTTY: false, env, simulate: inProcessSolver ? simulate : undefined });
  return { code, out, err };
}

describe('the ensemble file records what was swept and how', () => {
  it('--vary specs as written, the LHS sample, the sweep file, the command line', async () => {
    const a = await cli(['ensemble', '--preset', 'quick', '--vary', 'stages.0.U_V=10:20:2', '--vary', 'stages.0.D.Rb.D_m2s=1e-22,2.67e-22', '--profiles', 'none', '--quiet', '--out', join(dir, 'a.json')], {}, true);
    expect(a.code, a.err).toBe(0);
    const fa = JSON.parse(readFileSync(join(dir, 'a.json'), 'utf8'));
    expect(fa.provenance.sweep).toEqual({ vary: ['stages.0.U_V=10:20:2', 'stages.0.D.Rb.D_m2s=1e-22,2.67e-22'] });
    expect(fa.provenance.command).toMatch(/^cait ensemble /);
    expect(fa.provenance.command).toContain('--vary stages.0.U_V=10:20:2 --vary stages.0.D.Rb.D_m2s=1e-22,2.67e-22');
    expect(fa.provenance.command).toContain('--preset quick');
    const sweep = join(dir, 'sweep.json');
    writeFileSync(sweep, JSON.stringify({ base: { preset: 'quick' }, vary: [{ path: 'stages.0.U_V', lo: 10, hi: 20, scale: 'linear' }], sample: { method: 'lhs', n: 2, seed: 9 } }));
    const b = await cli(['ensemble', '--sweep', sweep, '--profiles', 'none', '--quiet', '--out', join(dir, 'b.json')], {}, true);
    expect(b.code, b.err).toBe(0);
    const fb = JSON.parse(readFileSync(join(dir, 'b.json'), 'utf8'));
    expect(fb.provenance.sweep).toEqual({ vary: ['stages.0.U_V=10:20'], sample: { method: 'lhs', n: 2, seed: 9 }, file: sweep });
    expect(fb.provenance.command).toContain(`--sweep ${sweep}`);
  });
});

describe.skipIf(!haveWorker)('a progress line at least every few seconds off a terminal', () => {
  it('ensemble and fit print "still running" lines between members (heartbeat period from CAIT_PROGRESS_EVERY_S)', { timeout: 120_000 }, async () => {
    const e = await cli(['ensemble', '--preset', 'quick', '--vary', 'stages.0.U_V=10,15,20', '--threads', '1', '--profiles', 'none', '--out', join(dir, 'h.json')], { CAIT_PROGRESS_EVERY_S: '0.05' });
    expect(e.code, e.err).toBe(0);
    expect(e.err).toMatch(/^cait: ensemble \d\/3 members, still running \(\d+ s so far/m);
    const measured = join(dir, 'm.csv');
    writeFileSync(measured, 'depth_nm,Li,Rb\n1,0.2,0.8\n2,0.3,0.7\n3,0.6,0.4\n4,0.9,0.1\n5,1,0\n');
    const f = await cli(
      ['fit', '--preset', 'quick', '--measured', `1:${measured}`, '--window', '1:5', '--vary', 'stages.0.U_V=10,20', '--refine', '0', '--local-steps', '0', '--no-sens', '--threads', '1', '--out', join(dir, 'fit')],
      { CAIT_PROGRESS_EVERY_S: '0.05' },
    );
    expect(f.code, f.err).toBe(0);
    expect(f.err).toMatch(/^cait: fit grid: \d\/2 members, still running/m);
    // with the default period (5 s) a quick run prints only its regular lines
    const q = await cli(['ensemble', '--preset', 'quick', '--vary', 'stages.0.U_V=10,15', '--threads', '1', '--profiles', 'none', '--out', join(dir, 'q.json')]);
    expect(q.err).not.toContain('still running');
  });
});

describe('an engine that reports only when its members finish (a GPU batch)', () => {
  it('is not silent until then: the heartbeat runs from the start of the run', { timeout: 20_000 }, async () => {
    // the engine finishes when the test says so, after it has seen the heartbeat: events, no sleeps
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const engine: EnsembleEngine = {
      name: 'batch',
      adapter: 'test',
      close() {},
      async run(req: EnsembleRequest): Promise<EnsembleResult> {
        await released;
        return { engine: 'batch', adapter: 'test', wall_s: 0, members: req.values.map((values, index) => ({ index, values, status: 'failed', reason: 'stub', cells: 0, stages: [], wall_s: 0 })) };
      },
    };
    let err = '';
    let heard!: () => void;
    const heartbeat = new Promise<void>((r) => (heard = r));
    const ctx = resolveContext({
      stdout: () => {},
      stderr: (s) => {
        err += s;
        if (/still running/.test(s)) heard();
      },
      stderrIsTTY: false,
      env: { CAIT_PROGRESS_EVERY_S: '0.2' },
    });
    const opts = { preset: 'quick', vary: ['stages.0.U_V=10,20'], profiles: 'none', out: join(dir, 'batch.json'), maxDepth: 150 } as unknown as SweepCliOptions;
    const run = runEnsemble(opts, ctx, async () => ({ engine, close: () => {} }));
    await heartbeat;
    release();
    await run;
    expect(err.split('\n')[0]).toMatch(/^cait: ensemble still running \(\d+ s so far; no member finished yet\)$/);
  });
});

describe('a very large sweep is announced before it runs', () => {
  /** An engine that runs nothing (every member failed at once): the warning, not the run, is under test. */
  const stub: EnsembleEngine = {
    name: 'stub',
    adapter: 'test',
    close() {},
    async run(req: EnsembleRequest): Promise<EnsembleResult> {
      return { engine: 'stub', adapter: 'test', wall_s: 0, members: req.values.map((values, index) => ({ index, values, status: 'failed', reason: 'stub', cells: 0, stages: [], wall_s: 0 })) };
    },
  };
  const opts = (vary: string[], profiles: string): SweepCliOptions => ({ preset: 'paper', vary, profiles, out: join(dir, `big-${profiles}.json`), maxDepth: 150 }) as unknown as SweepCliOptions;

  it('with the member count and estimated memory and file size; none for a small sweep', async () => {
    let err = '';
    const ctx = resolveContext({ stdout: () => {}, stderr: (s) => (err += s), stderrIsTTY: false, env: {} });
    await runEnsemble(opts(['sample.epsr=4:16:2500'], 'final'), ctx, async () => ({ engine: stub, close: () => {} }));
    const est = sweepBytesEstimate(getPreset('paper'), 2500, 'final');
    expect(est.memory).toBeGreaterThan(1e9);
    expect(err.split('\n')[0]).toMatch(/^cait: warning: a very large sweep: 2,500 members; with --profiles final about \d+(\.\d)? GB of memory and a \d+ MB result file \(--profiles none keeps only the scalars\)$/);
    err = '';
    await runEnsemble(opts(['sample.epsr=4:16:20'], 'final'), ctx, async () => ({ engine: stub, close: () => {} }));
    expect(err).not.toContain('warning');
  });

  it('the estimate matches the size of a real file within a factor of 2', async () => {
    const a = await cli(['ensemble', '--preset', 'quick', '--vary', 'stages.0.U_V=10,20', '--profiles', 'final', '--quiet', '--out', join(dir, 'size.json')], {}, true);
    expect(a.code, a.err).toBe(0);
    const real = readFileSync(join(dir, 'size.json')).length;
    const est = sweepBytesEstimate(getPreset('quick'), 2, 'final').file;
    expect(est / real).toBeGreaterThan(0.5);
    expect(est / real).toBeLessThan(2);
  });
});

describe('time left', () => {
  it('from the rate so far', () => {
    expect(etaText(0, 10, 5)).toBe('?');
    expect(etaText(5, 10, 10)).toBe('10 s');
    expect(etaText(1, 50, 60)).toBe('49.0 min');
    expect(etaText(1, 1000, 60)).toBe('16.6 h'); // 999 × 60 s
    expect(etaText(10, 10, 3)).toBe('0 s');
  });
});
