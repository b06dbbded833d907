/**
 * `cait headless`: `cait ensemble` run inside headless Chromium — the same
 * sweep options, outputs (cait-ensemble/1, CSV, figure) and progress, but
 * the members run on the page's engine (the browser's WebGPU, or gpu.js on
 * WebGL2) through puppeteer (src/headless/engine.ts BrowserEngine). The
 * adapter recorded is the browser's. The browser and the page's server are
 * closed after the run, after a failure and on Ctrl-C.
 */
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import type { EnsembleEngine, EnsembleRequest, EnsembleResult, EnsembleRunOptions } from '../ensemble/types.js';
import { BrowserEngine } from '../headless/engine.js';
import { defaultWebRoot } from '../headless/browser.js';
import { ENGINE_CHOICES, type EngineChoice } from '../ensemble/wire/protocol.js';
import { addProtocolOptions, baseProgram, type CliContext } from './common.js';
import { registerFit, runFitCommand, type FitCliOptions } from './fit.js';
import { addSweepOptions, addSweepOutputOptions, runEnsemble, type OpenedEngine, type SweepCliOptions } from './ensemble.js';
import { HEADLESS_EXAMPLES_HELP, HEADLESS_FIT_HELP, HEADLESS_HELP, OUTPUTS_HELP, VARY_HELP } from './help.js';

export interface HeadlessCliOptions extends SweepCliOptions {
  fit?: boolean;
  browserEngine: string;
  chromium?: string;
  webRoot?: string;
}

export function registerHeadless(program: Command, ctx: CliContext): void {
  const cmd = addSweepOptions(
    addProtocolOptions(
      program
        .command('headless')
        .summary('run a sweep (or --fit) in headless Chromium')
        .description(
          'Like `cait ensemble`, but the members run inside headless Chromium on the\n' +
            "page's engine (WebGPU, or gpu.js on WebGL2), driven through puppeteer;\n" +
            'the outputs are the same. Units: depth nm, density n/n0, time s, charge C,\n' +
            'current A (the summary shows h).',
        ),
    ),
  )
    .option('--browser-engine <name>', `engine in the page: ${ENGINE_CHOICES.join(', ')}`, 'auto')
    .option('--chromium <path>', 'the Chromium binary (default $CAIT_CHROMIUM or /usr/bin/chromium)')
    .option('--web-root <dir>', `the built page (default ${defaultWebRoot()})`)
    .option('--fit', "run `cait fit` with its members in the browser (the other options are cait fit's)")
    // cait fit's options pass through with --fit; without it they are refused in the action
    .allowUnknownOption()
    .allowExcessArguments();
  addSweepOutputOptions(cmd)
    .addHelpText('after', VARY_HELP + HEADLESS_HELP + OUTPUTS_HELP + HEADLESS_FIT_HELP + HEADLESS_EXAMPLES_HELP)
    .action(async (opts: HeadlessCliOptions, self: Command) => {
      if (opts.fit) {
        await runHeadlessFit(self, opts, ctx);
        return;
      }
      if (self.args.length)
        throw new InputError(`cait headless: unknown option or argument '${self.args[0]}' (see cait headless --help; cait fit's options need --fit)`);
      await runHeadless(opts, ctx);
    });
}

/** The browser engine of the options, closed on Ctrl-C (exit 130) as well as by the caller. */
export async function openHeadlessEngine(opts: HeadlessCliOptions, ctx: CliContext): Promise<OpenedEngine> {
  const choice = opts.browserEngine.trim().toLowerCase();
  if (!(ENGINE_CHOICES as readonly string[]).includes(choice))
    throw new InputError(`--browser-engine ${opts.browserEngine}: unknown engine; use one of ${ENGINE_CHOICES.join(', ')}`);
  if (!opts.quiet) ctx.stderr('cait: starting headless Chromium…\n');
  const engine = await BrowserEngine.open({
    engine: choice as EngineChoice,
    ...(opts.chromium !== undefined ? { chromium: opts.chromium } : {}),
    ...(opts.webRoot !== undefined ? { webRoot: opts.webRoot } : {}),
    onPageError: (line) => ctx.stderr(`cait: browser: ${line}\n`),
  });
  const onSigint = () => {
    ctx.stderr('cait: interrupted; closing the browser\n');
    void engine.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSigint);
  if (engine.fallbackReason) ctx.stderr(`cait: the browser has no usable WebGPU (${engine.fallbackReason}); running gpu.js instead\n`);
  if (!opts.quiet) ctx.stderr(`cait: browser engine ${engine.name} on ${engine.adapter}\n`);
  return {
    engine,
    close: async () => {
      process.removeListener('SIGINT', onSigint);
      await engine.close();
    },
  };
}

export async function runHeadless(opts: HeadlessCliOptions, ctx: CliContext): Promise<void> {
  await runEnsemble(opts, ctx, () => openHeadlessEngine(opts, ctx));
}

/** An engine that starts the browser on its first run (so that bad input is reported before Chromium starts). */
class LazyEngine implements EnsembleEngine {
  private opened?: Promise<OpenedEngine>;
  private inner?: EnsembleEngine;
  constructor(private readonly open: () => Promise<OpenedEngine>) {}
  get name(): string {
    return this.inner?.name ?? 'browser';
  }
  get adapter(): string {
    return this.inner?.adapter ?? 'headless Chromium (not started)';
  }
  async run(req: EnsembleRequest, opts?: EnsembleRunOptions): Promise<EnsembleResult> {
    this.opened ??= this.open();
    const { engine } = await this.opened;
    this.inner = engine;
    return engine.run(req, opts);
  }
  async close(): Promise<void> {
    const o = await this.opened?.catch(() => undefined);
    await o?.close();
  }
}

/** Options of cait headless itself, removed before the rest is parsed as cait fit's. */
const HEADLESS_ONLY: Record<string, boolean> = { '--fit': false, '--browser-engine': true, '--chromium': true, '--web-root': true };
const NOT_WITH_FIT = ['--engine', '--adapter', '--threads'];

/** The arguments after `headless`, without cait headless's own options. */
function fitArgs(self: Command): string[] {
  // commander keeps the root's argv as given in rawArgs (untyped)
  const raw = (self.parent as unknown as { rawArgs?: string[] } | null)?.rawArgs;
  if (!raw) throw new Error('cait headless --fit: the command line is not available to pass on to cait fit');
  const rest = raw.slice(raw.indexOf(self.name()) + 1);
  const out: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--') {
      out.push(...rest.slice(i));
      break;
    }
    const name = a.split('=')[0];
    if (NOT_WITH_FIT.includes(name))
      throw new InputError(`${name}: cait headless runs the members in the browser; choose its engine with --browser-engine`);
    if (name in HEADLESS_ONLY) {
      if (HEADLESS_ONLY[name] && !a.includes('=')) i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

/** `cait headless --fit …`: cait fit's command line, its members run by the browser engine. */
export async function runHeadlessFit(self: Command, opts: HeadlessCliOptions, ctx: CliContext): Promise<void> {
  const args = fitArgs(self);
  const program = baseProgram(ctx);
  registerFit(program, ctx);
  const fit = program.commands.find((c) => c.name() === 'fit');
  if (!fit) throw new Error('cait fit is not part of this build');
  const engine = new LazyEngine(() => openHeadlessEngine(opts, ctx));
  fit.action(async (fo: FitCliOptions) => {
    try {
      await runFitCommand(fo, ctx, engine, 'headless --fit');
    } finally {
      await engine.close();
    }
  });
  await program.parseAsync(['fit', ...args], { from: 'user' });
}
