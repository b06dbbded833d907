/**
 * What every `cait` command shares: the I/O context (so tests run the CLI
 * in-process), the base program, loading a protocol from --preset or
 * --config, and the error handler (one line on stderr, exit 2 for bad input,
 * 3 for a solver failure, 1 for anything else; stack only with CAIT_DEBUG=1).
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { isDirectory } from '../io/atomic.js';
import { fileURLToPath } from 'node:url';
import { Command, Help, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { Protocol } from '../config/schema.js';
import { fmtNum, InputError, parseProtocolText } from '../config/validate.js';

export { fmtNum };
import { getPreset, presetNames } from '../config/presets.js';
import { SolverError, type ProtocolResult, type RunOptions } from '../solver/types.js';
import { packageVersion } from '../io/result.js';

export type SimulateFn = (protocol: Protocol, opts?: RunOptions) => ProtocolResult;

export interface CliContext {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** progress bar only on a terminal */
  stderrIsTTY: boolean;
  env: Record<string, string | undefined>;
  /** the solver; default: src/solver/simulate.ts, loaded when a command needs it */
  simulate?: SimulateFn;
  /** clock for provenance dates */
  now: () => Date;
}

/** A command file exports one of these; main.ts registers each with one line. */
export type RegisterCommand = (program: Command, ctx: CliContext) => void;

export const EXIT = { ok: 0, other: 1, input: 2, solver: 3 } as const;

export function resolveContext(partial: Partial<CliContext> = {}): CliContext {
  return {
    stdout: partial.stdout ?? ((s) => void process.stdout.write(s)),
    stderr: partial.stderr ?? ((s) => void process.stderr.write(s)),
    stderrIsTTY: partial.stderrIsTTY ?? !!process.stderr.isTTY,
    env: partial.env ?? process.env,
    simulate: partial.simulate,
    now: partial.now ?? (() => new Date()),
  };
}

/** The top-level `cait` command: name, version, error output routed through the context, no process.exit. */
export function baseProgram(ctx: CliContext): Command {
  return new Command('cait')
    .description(
      'CAIT simulator: Nernst–Planck–Poisson transport of ions in a glass under charge attachment (SI units, depths in nm, densities as n/n0)',
    )
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.stdout(s),
      writeErr: (s) => ctx.stderr(s),
      // commander's messages read "error: ..."; make them "cait: error: ..." on one line
      outputError: (s, write) => write(`cait: ${s.replace(/\s*\n\s*/g, ' ').trim()}\n`),
    })
    .showSuggestionAfterError(true)
    // repeatable options start from []: commander would print "(default: [])" after each
    .configureHelp({ optionDescription: (o) => plainHelp.optionDescription(o).replace(/ \(default: \[\]\)$/, '') });
}

const plainHelp = new Help();

/** Commander parser of a positive number option. */
export function positiveNumber(v: string): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x <= 0) throw new InvalidArgumentError('must be a positive number');
  return x;
}

/** Commander parser of a positive integer option. */
export function positiveInt(v: string): number {
  const t = v.trim();
  const x = /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isInteger(x) || x < 1) throw new InvalidArgumentError('must be an integer >= 1');
  return x;
}

/** Commander parser of a non-negative integer option. */
export function nonNegativeInt(v: string): number {
  const t = v.trim();
  const x = /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isInteger(x)) throw new InvalidArgumentError('must be an integer >= 0');
  return x;
}

/** Commander accumulator of a repeatable option. */
export function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

export function addProtocolOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('-p, --preset <name>', `a built-in protocol (${presetNames().join(', ')}; see \`cait presets\`)`).conflicts('config'))
    .addOption(new Option('-c, --config <file>', 'a protocol JSON file (cait-protocol/1; see `cait config --preset paper`)').conflicts('preset'));
}

function fsReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return 'is a directory';
    case 'EACCES':
      return 'permission denied';
    default:
      return err.message ?? String(e);
  }
}

/** The validated protocol named by --preset or read from --config. Throws InputError. */
export function loadProtocol(opts: { preset?: string; config?: string }): Protocol {
  if (opts.preset !== undefined && opts.config !== undefined) throw new InputError('--preset and --config cannot be used together');
  if (opts.preset !== undefined) return getPreset(opts.preset);
  if (opts.config !== undefined) {
    let text: string;
    try {
      text = readFileSync(opts.config, 'utf8');
    } catch (e) {
      throw new InputError(`config ${opts.config}: cannot read (${fsReason(e)})`);
    }
    return parseProtocolText(text, `config ${opts.config}`);
  }
  throw new InputError(`one of --preset NAME or --config FILE is required (presets: ${presetNames().join(', ')})`);
}


/** One line for an error, and the exit code it maps to. */
export function describeError(e: unknown): { line: string; code: number } {
  if (e instanceof InputError || (e instanceof Error && e.name === 'InputError')) return { line: oneLine(e.message), code: EXIT.input };
  if (e instanceof SolverError || (e instanceof Error && e.name === 'SolverError')) {
    const w = (e as SolverError).where ?? {};
    const parts: string[] = [];
    if (w.stage !== undefined) parts.push(`stage ${JSON.stringify(w.stage)}`);
    if (w.t_s !== undefined) parts.push(`t = ${fmtNum(w.t_s)} s`);
    if (w.depth_nm !== undefined) parts.push(`depth ${fmtNum(w.depth_nm)} nm`);
    if (w.species !== undefined) parts.push(`species ${w.species}`);
    const msg = oneLine(e.message);
    return { line: parts.length ? `${msg} (${parts.join(', ')})` : msg, code: EXIT.solver };
  }
  if (e instanceof Error) return { line: oneLine(e.message), code: EXIT.other };
  return { line: oneLine(String(e)), code: EXIT.other };
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

/** Parse argv (without node and script) and run; resolves to the exit code. Never calls process.exit. */
export async function runProgram(program: Command, argv: readonly string[], ctx: CliContext): Promise<number> {
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander has already printed its message (or the help)
      return e.exitCode === 0 ? EXIT.ok : EXIT.input;
    }
    const { line, code } = describeError(e);
    ctx.stderr(`cait: error: ${line}\n`);
    if (ctx.env.CAIT_DEBUG === '1' && e instanceof Error && e.stack) ctx.stderr(`${e.stack}\n`);
    return code;
  }
}

/** True when the module at `metaUrl` is the script node was started with (symlinks resolved, as for npm bins). */
export function isEntryPoint(metaUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(metaUrl));
  } catch {
    return false;
  }
}

/** The nearest existing ancestor of an output path must be a directory (else the file can never be created). */
export function checkParent(path: string, option: string): void {
  let dir = dirname(path);
  for (;;) {
    if (existsSync(dir)) {
      if (!isDirectory(dir)) throw new InputError(`${option} ${path}: ${dir} is not a directory`);
      return;
    }
    const up = dirname(dir);
    if (up === dir) return;
    dir = up;
  }
}
