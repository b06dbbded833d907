/**
 * `cait` in-process with its output captured: stderr is not a terminal (progress as
 * lines), no environment, a fixed clock for provenance dates; `ctx` overrides any of it
 * (the solver, the environment).
 */
import { runCli } from '../../src/cli/main.js';
import type { CliContext } from '../../src/cli/common.js';

export interface CapturedRun {
  code: number;
  out: string;
  err: string;
}

export async function runCaptured(argv: string[], ctx: Partial<CliContext> = {}, now = '2026-11-26T12:00:00Z'): Promise<CapturedRun> {
  let out = '';
  let err = '';
  const code = await runCli(argv, {
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
    stderrIsTTY: false,
    env: {},
    now: () => new Date(now),
    ...ctx,
  });
  return { code, out, err };
}
