/**
 * What every `cait` command shares: the I/O context (so tests run the CLI
 * in-process), the base program, loading a protocol from --preset or
 * --config, and the error handler (one line on stderr, exit 2 for bad input,
 * 3 for a solver failure, 1 for anything else; stack only with CAIT_DEBUG=1).
 */
import { accessSync, constants, existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isDirectory } from '../io/atomic.js';
import { fileURLToPath } from 'node:url';
import { Command, Help, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { Protocol } from '../config/schema.js';
import { parseProtocolText } from '../config/validate.js';
import { fmtNum } from '../core/format.js';
import { InputError, fsReason, isRunAborted, safeMessage } from '../core/errors.js';

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

/** Exit codes; `aborted` (130) is a run stopped by Ctrl-C, as a shell reports a SIGINT. */
export const EXIT = { ok: 0, other: 1, input: 2, solver: 3, aborted: 130 } as const;

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
      'CAIT simulator: Nernst–Planck–Poisson transport of ions in a glass under\ncharge attachment. SI units; depths in nm; densities as n/n0.',
    )
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({
      // help text (commander's and the commands' own 'after' text) reflowed to the terminal's 80 columns
      writeOut: (s) => ctx.stdout(wrapHelp(s)),
      writeErr: (s) => ctx.stderr(s),
      // commander's messages read "error: ..."; make them "cait: error: ..." on one line
      outputError: (s, write) => write(`cait: ${s.replace(/\s*\n\s*/g, ' ').trim()}\n`),
    })
    .showSuggestionAfterError(true)
    // repeatable options start from []: commander would print "(default: [])" after each
    .configureHelp({ optionDescription: (o) => plainHelp.optionDescription(o).replace(/ \(default: \[\]\)$/, '') });
}

const plainHelp = new Help();

/** Width help text is reflowed to. */
export const HELP_WIDTH = 80;

/**
 * Help text reflowed to `width` columns, so that nothing wraps mid-sentence
 * at the terminal's edge. The text is read as logical lines: a two-column row
 * (`  --out FILE.json   result file …`: text, two or more spaces, text) with
 * the lines indented under its second column; a paragraph of lines with the
 * same indentation; a line ending in ":" (a heading), a blank line, a line
 * starting with "-" or an example command (`  cait …` and its continuation
 * lines after a trailing backslash, left whole) start a new
 * one. Each logical line is refilled word by word, continuations indented
 * under its second column (or its own indentation).
 */
export function wrapHelp(text: string, width = HELP_WIDTH): string {
  const len = (s: string) => [...s].length;
  const indentOf = (s: string) => /^ */.exec(s)![0].length;
  /** the column where a two-column row's second column starts, if the line is one */
  const column = (s: string) => {
    const m = /^( *\S+(?: \S+)*? {2,})\S/.exec(s);
    return m && m[1].length < width / 2 ? m[1].length : undefined;
  };
  const lines = text.split('\n');
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const first = lines[i];
    // an example command and the lines it continues with a trailing backslash are left whole
    const example = /^\s*cait\s/.test(first) || (i > 0 && /\\$/.test(lines[i - 1]) && /^\s*(cait\s|-)/.test(lines[i - 1].trimStart() ? lines[i - 1] : ''));
    if (first.trim() === '' || example || (len(first) <= width && (i + 1 >= lines.length || lines[i + 1].trim() === ''))) {
      out.push(first);
      i++;
      continue;
    }
    const col = column(first);
    const hang = col ?? indentOf(first);
    let logical = first.replace(/ +$/, '');
    i++;
    while (i < lines.length && !/:$/.test(logical.trim())) {
      const l = lines[i];
      const t = l.trim();
      if (t === '' || t.startsWith('-') || /^\s*cait\s/.test(l) || indentOf(l) !== hang || (col === undefined && column(l) !== undefined)) break;
      logical += ' ' + t;
      i++;
    }
    if (len(logical) <= width) {
      out.push(logical);
      continue;
    }
    // refill: keep the row's own leading part (with its column gap) whole, break the rest between words
    const headEnd = col ?? indentOf(logical);
    let cur = logical.slice(0, headEnd);
    let fresh = true;
    for (const w of logical.slice(headEnd).split(/ +/).filter(Boolean)) {
      if (!fresh && len(cur) + 1 + len(w) > width) {
        out.push(cur);
        cur = ' '.repeat(hang) + w;
      } else cur = fresh ? cur + w : `${cur} ${w}`;
      fresh = false;
    }
    out.push(cur);
  }
  return out.join('\n');
}

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
  if (isRunAborted(e)) return { line: oneLine((e as Error).message), code: EXIT.aborted };
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

/** One line, control characters made visible, length capped (safeMessage): errors echo bytes of the user's files. */
function oneLine(s: string): string {
  return safeMessage(s);
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

/** An input file of a command, named by its option (to refuse an output that would replace it). */
export interface NamedPath {
  option: string;
  path: string;
}

/**
 * Whether the permissions let us write `path` (a file or a directory): the
 * system's own check, and a write bit in its mode — so that a file or
 * directory made read-only is respected even by a superuser, whom the
 * system would let through.
 */
function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return (statSync(path).mode & 0o222) !== 0;
  } catch {
    return false;
  }
}

/** The nearest existing ancestor of an output path must be a writable directory (else the file can never be created); errors name `shown`. */
export function checkParent(path: string, option: string, shown = path): void {
  let dir = dirname(path);
  for (;;) {
    if (existsSync(dir)) {
      if (!isDirectory(dir)) throw new InputError(`${option} ${shown}: ${dir} is not a directory`);
      if (!writable(dir)) throw new InputError(`${option} ${shown}: cannot write in ${dir} (not writable)`);
      return;
    }
    const up = dirname(dir);
    if (up === dir) return;
    dir = up;
  }
}

/** True when both paths name the same existing file (same device and inode: links and relative spellings included). */
function sameFile(a: string, b: string): boolean {
  try {
    const sa = statSync(a);
    const sb = statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

/**
 * Check an output file before any work is done (exit 2 naming the user's
 * path): its directory exists or can be made and is writable; it is not a
 * directory; an existing file is writable (a read-only one is refused, not
 * replaced); and it is none of the command's input files.
 */
export function checkOutputFile(path: string, option: string, inputs: readonly NamedPath[] = []): void {
  if (!path.trim()) throw new InputError(`${option}: needs a file name`);
  if (isDirectory(path)) throw new InputError(`${option} ${path}: is a directory`);
  checkParent(path, option);
  if (!existsSync(path)) return;
  for (const inp of inputs)
    if (sameFile(path, inp.path)) throw new InputError(`${option} ${path}: is the input ${inp.option} ${inp.path}; refusing to replace it`);
  if (!writable(path)) throw new InputError(`${option} ${path}: the file is read-only; refusing to replace it`);
}

/** Check an output directory: a directory (or creatable), writable. */
export function checkOutputDir(dir: string, option: string): void {
  if (!dir.trim()) throw new InputError(`${option}: needs a directory name`);
  if (existsSync(dir)) {
    if (!isDirectory(dir)) throw new InputError(`${option} ${dir}: exists and is not a directory`);
    if (!writable(dir)) throw new InputError(`${option} ${dir}: cannot write in it (not writable)`);
    return;
  }
  checkParent(join(dir, 'x'), option, dir);
}

/** The command line of a command's parsed options (shell-quoted where needed), for provenance. */
export function commandLine(name: string, o: Record<string, unknown>, negatable: readonly string[] = ['sens']): string {
  const parts = ['cait', ...name.split(' ')];
  const flag = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || k === 'quiet') continue;
    if (Array.isArray(v)) for (const x of v) parts.push(flag(k), String(x));
    else if (typeof v === 'boolean') {
      // `negatable` booleans (on by default) are written --no-<flag> when false
      if (negatable.includes(k)) {
        if (!v) parts.push(flag(k).replace(/^--/, '--no-'));
      } else if (v) parts.push(flag(k));
    } else parts.push(flag(k), String(v));
  }
  return parts.map((p) => (/[\s"'$`\\]/.test(p) ? `'${p.replace(/'/g, `'\\''`)}'` : p)).join(' ');
}
