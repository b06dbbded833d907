/**
 * The engine contract (docs/architecture.md §1): the one abort error, the
 * progress tracker every engine finishes its members with, the one `auto`
 * choice between WebGPU and gpu.js, and close(). Fast: stand-in engines and
 * the CPU engine in this thread.
 */
import { describe, expect, it } from 'vitest';
import { RunAbortedError, isRunAborted, throwIfAborted } from '../src/core/errors.js';
import { describeError } from '../src/cli/common.js';
import { getPreset } from '../src/config/presets.js';
import { chooseEngine } from '../src/ensemble/choose.js';
import { CpuEngine } from '../src/ensemble/cpu.js';
import { failedMember, okMember } from '../src/ensemble/member.js';
import { ProgressTracker } from '../src/ensemble/progress.js';
import { requestFromGrid, type EnsembleProgress } from '../src/ensemble/types.js';
import { simulate } from '../src/solver/simulate.js';
import { buildGrid, parseVary } from '../src/sweep/index.js';

describe('the one abort error', () => {
  it('is named AbortError, names what was aborted and the reason of its own, and maps to exit 130', () => {
    const plain = new RunAbortedError('the cpu run');
    expect(plain).toBeInstanceOf(Error);
    expect(plain.name).toBe('AbortError');
    expect(plain.message).toBe('the cpu run was aborted');
    // the DOM's default reason adds nothing; a reason of the caller's is named and kept as the cause
    const ctl = new AbortController();
    ctl.abort();
    expect(() => throwIfAborted(ctl.signal, 'the fit')).toThrow(/^the fit was aborted$/);
    const why = new Error('stop');
    const own = new RunAbortedError('the webgpu run', why);
    expect(own.message).toBe('the webgpu run was aborted (stop)');
    expect(own.cause).toBe(why);
    expect(() => throwIfAborted(undefined, 'x')).not.toThrow();
    expect(() => throwIfAborted(new AbortController().signal, 'x')).not.toThrow();
    // one test for every caller: the class, or the name when the error crossed a boundary (the page)
    const crossed = Object.assign(new Error('the webgpu run was aborted'), { name: 'AbortError' });
    expect([plain, own, crossed].map(isRunAborted)).toEqual([true, true, true]);
    expect(isRunAborted(new Error('device lost'))).toBe(false);
    expect(describeError(plain)).toEqual({ line: 'the cpu run was aborted', code: 130 });
  });

  it('is what the CPU engine rejects an aborted run with', async () => {
    const base = getPreset('quick');
    const req = requestFromGrid(buildGrid(base, [parseVary('sample.epsr=4,8,16')]), base, 'none');
    const ac = new AbortController();
    const engine = new CpuEngine({
      mode: 'serial',
      simulate: (p, o) => {
        ac.abort();
        return simulate(p, o);
      },
    });
    const err = await engine.run(req, { signal: ac.signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunAbortedError);
    expect((err as Error).message).toBe('the cpu run was aborted');
    await expect(new CpuEngine({ threads: 1 }).run(req, { signal: ac.signal })).rejects.toBeInstanceOf(RunAbortedError);
    // close() is part of every engine and idempotent
    engine.close();
    engine.close();
  });
});

describe('ProgressTracker', () => {
  const base = getPreset('paper');
  const req = { base, members: [base, base, base] };

  it('records each member once, counts done and failed, and keeps the members running each stage', () => {
    const events: EnsembleProgress[] = [];
    let t = 0;
    const tr = new ProgressTracker(req, (p) => events.push(structuredClone(p)), { now: () => t, intervalMs: 100 });
    const stages = base.stages.length;
    expect(stages).toBeGreaterThanOrEqual(2);
    tr.started(0);
    tr.started(1);
    expect(tr.stage(1, 1)).toBe(true);
    expect(tr.stage(1, 1)).toBe(false);
    tr.report();
    expect(events.at(-1)!.runningByStage.slice(0, 2)).toEqual([1, 1]);
    // a report every intervalMs at most
    t = 50;
    tr.tick();
    expect(events).toHaveLength(1);
    t = 150;
    tr.tick();
    expect(events).toHaveLength(2);
    t = 2000;
    tr.finish(failedMember(1, [2], 'why', 10, 0.5));
    expect(events.at(-1)).toEqual({ done: 1, total: 3, failed: 1, elapsed_s: 2, runningByStage: [1, ...new Array(stages - 1).fill(0)], finished: { index: 1, status: 'failed', reason: 'why' } });
    // a late stage report of a finished member changes nothing
    expect(tr.stage(1, 0)).toBe(false);
    tr.finish(okMember(0, [1], [], 10, 0.5));
    // an engine that only knows how many members run a stage sets the counts
    tr.setRunning([0, 1]);
    tr.report();
    expect(events.at(-1)!.runningByStage.slice(0, 2)).toEqual([0, 1]);
    tr.setRunning([]);
    tr.finish(okMember(2, [3], [], 10, 0.5, []));
    const last = events.at(-1)!;
    expect(last.done).toBe(3);
    expect(last.runningByStage.every((n) => n === 0)).toBe(true);
    expect(events.filter((p) => p.finished).map((p) => p.finished!.index)).toEqual([1, 0, 2]);
    const res = tr.result('stub', 'test', 1);
    expect(res.members.map((m) => [m.index, m.status])).toEqual([
      [0, 'ok'],
      [1, 'failed'],
      [2, 'ok'],
    ]);
    expect(res.members[2].residuals).toEqual([]);
    expect(res.members[0]).not.toHaveProperty('residuals');
  });
});

describe('chooseEngine: auto is WebGPU, else gpu.js', () => {
  const ok = (name: string) => () => Promise.resolve(name);
  const fail = (msg: string) => () => Promise.reject(new Error(msg));

  it('falls back with auto only, saying why once', async () => {
    const said: string[] = [];
    const onFallback = (why: string, e: string) => said.push(`${why}; running ${e} instead`);
    expect(await chooseEngine({ choice: 'auto', openWebGpu: ok('webgpu'), openGpuJs: ok('gpujs'), onFallback })).toEqual({ engine: 'webgpu' });
    expect(await chooseEngine({ choice: 'auto', openWebGpu: fail('no adapter'), openGpuJs: ok('gpujs'), onFallback })).toEqual({ engine: 'gpujs', fallbackReason: 'no adapter' });
    expect(said).toEqual(['no adapter; running gpujs instead']);
    await expect(chooseEngine({ choice: 'webgpu', openWebGpu: fail('no adapter'), openGpuJs: ok('gpujs'), onFallback })).rejects.toThrow('no adapter');
    expect(await chooseEngine({ choice: 'gpujs', openWebGpu: fail('unused'), openGpuJs: ok('gpujs') })).toEqual({ engine: 'gpujs' });
    expect(said).toHaveLength(1);
  });

  it('throws what the caller says when neither opens, and errors it does not fall back from as they are', async () => {
    await expect(chooseEngine({ choice: 'auto', openWebGpu: fail('no adapter'), openGpuJs: fail('no gpu.js') })).rejects.toThrow(/^no gpu\.js$/);
    await expect(
      chooseEngine({ choice: 'auto', openWebGpu: fail('no adapter'), openGpuJs: fail('no gpu.js'), neither: (a, b) => new Error(`${(a as Error).message} and ${(b as Error).message}`) }),
    ).rejects.toThrow(/^no adapter and no gpu\.js$/);
    await expect(chooseEngine({ choice: 'auto', openWebGpu: fail('a bug'), openGpuJs: ok('gpujs'), fallsBack: () => false })).rejects.toThrow(/^a bug$/);
  });
});
