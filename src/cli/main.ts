#!/usr/bin/env node
/**
 * The `cait` command line. Each command lives in its own file and exports a
 * RegisterCommand; to add one, import it and append it to COMMANDS.
 */
import type { Command } from 'commander';
import { baseProgram, isEntryPoint, resolveContext, runProgram, type CliContext, type RegisterCommand } from './common.js';
import { registerSimulate } from './simulate.js';
import { registerConfig } from './config.js';
import { registerPresets } from './presets.js';
import { registerEnsemble } from './ensemble.js';
import { registerSims } from './sims.js';
import { registerFit, registerSensitivity } from './fit.js';
import { registerHeadless } from './headless.js';
import { registerServe } from './serve.js';
import { registerMerge } from './merge.js';
import { registerRunShard } from './run-shard.js';
import { registerGsa } from './gsa.js';

const COMMANDS: RegisterCommand[] = [
  registerSimulate,
  registerConfig,
  registerPresets,
  registerEnsemble,
  registerSims,
  registerFit,
  registerSensitivity,
  registerHeadless,
  registerServe,
  registerMerge,
  registerRunShard,
  registerGsa,
];

/** The whole program; tests pass a context to capture output and swap the solver. */
export function makeProgram(ctx: Partial<CliContext> = {}): Command {
  const full = resolveContext(ctx);
  const program = baseProgram(full);
  for (const register of COMMANDS) register(program, full);
  return program;
}

/** Run `cait` with these arguments (without node and script); resolves to the exit code. */
export function runCli(argv: readonly string[], ctx: Partial<CliContext> = {}): Promise<number> {
  const full = resolveContext(ctx);
  return runProgram(makeProgram(full), argv, full);
}

if (isEntryPoint(import.meta.url)) {
  // `cait … | head`: a reader that closes the pipe ends the output, not with a stack trace
  for (const stream of [process.stdout, process.stderr])
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  process.exitCode = await runCli(process.argv.slice(2));
}
