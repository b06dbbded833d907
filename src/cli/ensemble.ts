/**
 * `cait ensemble`: run a parameter sweep (a grid of --vary values, a Latin
 * hypercube, or a sweep file) with an ensemble engine and write the
 * `cait-ensemble/1` file, optionally its CSV and a figure — only after the
 * run, all in one atomic batch (an existing output survives a failure).
 * Failed members are flagged in the outputs and counted; they are not a
 * failure of the run (exit 0).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import type { Protocol } from '../config/schema.js';
import { InputError, fsReason } from '../core/errors.js';
import { table } from '../core/format.js';
import { buildGrid, parseSweepArgs, parseSweepFile, specText, type SampleSpec, type VarySpec } from '../sweep/index.js';
import type { OutputFile } from '../io/atomic.js';
import { PROFILES_LEVELS, requestFromGrid, type EnsembleEngine, type EnsembleProgress, type ProfilesLevel } from '../ensemble/types.js';
import { ENSEMBLE_SCHEMA, memberIndex, type EnsembleFile } from '../ensemble/output.js';
import { ensembleProfilesSvg, formatValue } from '../plot/ensemble.js';
import { enteredSpecies, frontSpecies } from '../ensemble/summary.js';
import { ensembleProvenance, writeEnsembleOutputs } from '../ensemble/write.js';
import { parseShard, runToFile, type Design } from '../cluster/shard.js';
import { ENGINES } from './engines.js';
import { addExecutorOptions, defaultSlurmDir, executorProvenance, openEngine, type ExecutorCliOptions, type ExecutorEngine } from './executor.js';
import { addProtocolOptions, commandLine, loadProtocol, positiveInt, positiveNumber, type CliContext, checkOutputFile, type NamedPath } from './common.js';
import { etaText, progressEvery, ProgressLines, warnLargeSweep } from './progress.js';
import { ENGINES_HELP, ENSEMBLE_EXAMPLES_HELP, EXECUTOR_HELP, OUTPUTS_HELP, SHARD_HELP, VARY_HELP } from './help.js';

export interface EnsembleCliOptions {
  preset?: string;
  config?: string;
  sweep?: string;
  vary: string[];
  sample?: string;
  seed?: string;
  engine: string;
  adapter: string;
  threads?: number;
  profiles: string;
  out: string;
  csv?: string;
  plot?: string;
  plotSpecies?: string;
  plotStage?: number;
  maxDepth: number;
  quiet?: boolean;
  shard?: string;
}


const HELP_AFTER = VARY_HELP + ENGINES_HELP + SHARD_HELP + EXECUTOR_HELP + OUTPUTS_HELP + ENSEMBLE_EXAMPLES_HELP;

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}



/**
 * The options of a sweep and its outputs (--sweep, --vary, --sample, --seed,
 * --profiles, --out, --csv, --plot…, --quiet), shared by `cait ensemble`
 * and `cait headless`; the engine options are each command's own.
 */
export function addSweepOptions(cmd: Command): Command {
  return cmd
    .option('--sweep <file>', 'a sweep file (cait-sweep/1: base protocol and what varies) instead of --preset/--config and --vary')
    .option('--vary <PATH=SPEC>', 'vary a numeric field: PATH=a,b,c | lo:hi:N | lo:hi:N:log (with --sample: lo:hi[:log]); repeatable', collect, [])
    .option('--sample <lhs:N>', 'a Latin hypercube of N members over the --vary ranges instead of a grid')
    .option('--seed <S>', 'seed of --sample (integer 0..4294967295, default 1)');
}

/** The output options of a sweep (see addSweepOptions). */
export function addSweepOutputOptions(cmd: Command): Command {
  return cmd
    .option('--profiles <level>', 'profiles kept per member: none (scalars only), final (end of each stage), all (+ current record, snapshots)', 'final')
    .requiredOption('-o, --out <file.json>', 'result file (cait-ensemble/1 JSON)')
    .option('--csv <file.csv>', 'also write the compact CSV (one row per member)')
    .option('--plot <file.svg>', 'also write a figure: one species after one stage, a line per member')
    .option('--plot-species <name>', 'species of --plot (default: the beam of the plotted stage)')
    .option('--plot-stage <k>', 'stage of --plot, 1-based (default: the last)', positiveInt)
    .option('--max-depth <nm>', 'depth range of --plot, nm', positiveNumber, 150)
    .option('-q, --quiet', 'no progress output on stderr (the summary still goes to stdout)');
}

export function registerEnsemble(program: Command, ctx: CliContext): void {
  const cmd = addSweepOptions(
    addProtocolOptions(
      program
        .command('ensemble')
        .summary('run a parameter sweep (grid, LHS or sweep file)')
        .description(
          'Run many members of a protocol that differ in numeric parameters, each with its own\n' +
            'stops, and write one file with every member (failed members flagged with a reason).\n' +
            'Units: depth nm, density n/n0, time s, charge C, current A (the summary shows h).',
        ),
    ),
  )
    .option('--engine <name>', `ensemble engine (${ENGINES.join(', ')})`, 'cpu')
    .option('--adapter <kind>', 'WebGPU adapter of --engine webgpu: auto, vulkan, swiftshader, llvmpipe (refused by the engine), null', 'auto')
    .option('--threads <N>', `worker threads of the cpu engine (default: all ${availableParallelism()} cores)`, positiveInt)
    .option('--shard <K/N>', 'run only shard K of N (members i with i mod N = K; K = 0..N-1); join shards with cait merge');
  addExecutorOptions(cmd).option('--dry-run', '--executor slurm: print the job script it would submit, run nothing');
  addSweepOutputOptions(cmd)
    .addHelpText('after', HELP_AFTER)
    .action(async (opts: EnsembleCliOptions) => {
      await runEnsemble(opts, ctx);
    });
}

interface Definition {
  base: Protocol;
  specs: VarySpec[];
  sample?: SampleSpec;
}


/** Base protocol and specs from --sweep, or from --preset/--config and --vary/--sample/--seed. */
function loadDefinition(opts: SweepCliOptions): Definition {
  if (opts.sweep !== undefined) {
    const clash = [
      opts.preset !== undefined && '--preset',
      opts.config !== undefined && '--config',
      opts.vary.length > 0 && '--vary',
      opts.sample !== undefined && '--sample',
      opts.seed !== undefined && '--seed',
    ].filter(Boolean);
    if (clash.length) throw new InputError(`--sweep ${opts.sweep}: the sweep file gives the base and what varies; drop ${clash.join(', ')}`);
    let text: string;
    try {
      text = readFileSync(opts.sweep, 'utf8');
    } catch (e) {
      throw new InputError(`sweep ${opts.sweep}: cannot read (${fsReason(e)})`);
    }
    return parseSweepFile(text, `sweep ${opts.sweep}`);
  }
  if (opts.preset === undefined && opts.config === undefined)
    throw new InputError('one of --preset NAME, --config FILE or --sweep FILE is required (see `cait presets`)');
  const base = loadProtocol(opts);
  const { specs, sample } = parseSweepArgs({ vary: opts.vary, sample: opts.sample, seed: opts.seed });
  return sample ? { base, specs, sample } : { base, specs };
}


function checkOutputs(opts: SweepCliOptions, base: Protocol, profiles: ProfilesLevel): void {
  const outs: [string, string | undefined][] = [
    ['--out', opts.out],
    ['--csv', opts.csv],
    ['--plot', opts.plot],
  ];
  const inputs: NamedPath[] = [];
  if (opts.config !== undefined) inputs.push({ option: '--config', path: opts.config });
  if (opts.sweep !== undefined) inputs.push({ option: '--sweep', path: opts.sweep });
  const seen = new Map<string, string>();
  for (const [opt, p] of outs) {
    if (p === undefined) continue;
    checkOutputFile(p, opt, inputs);
    const key = resolve(p);
    if (seen.has(key)) throw new InputError(`${opt} ${p}: the same file as ${seen.get(key)}`);
    seen.set(key, opt);
  }
  if (opts.plot === undefined) {
    for (const [o, v] of [
      ['--plot-species', opts.plotSpecies],
      ['--plot-stage', opts.plotStage],
    ] as const)
      if (v !== undefined) throw new InputError(`${o}: only used with --plot FILE.svg`);
    return;
  }
  if (profiles === 'none') throw new InputError('--plot needs profiles: use --profiles final (or all), not none');
  const n = base.stages.length;
  const k = opts.plotStage ?? n;
  if (k > n) throw new InputError(`--plot-stage ${k}: the protocol has ${n} stage${n === 1 ? '' : 's'} (1..${n})`);
  const sp = opts.plotSpecies;
  if (sp !== undefined && !(sp in base.species))
    throw new InputError(`--plot-species ${sp}: not a species of the protocol (${Object.keys(base.species).join(', ')})`);
}

/** Progress on stderr: a bar on a terminal; otherwise a line per 10 % of members and per failed member (the first 10). */
export class EnsembleReporter {
  private bar?: cliProgress.SingleBar;
  private lastDecile = 0;
  private failLines = 0;
  private readonly lines: ProgressLines;

  constructor(
    private readonly ctx: CliContext,
    private readonly quiet: boolean,
  ) {
    this.lines = new ProgressLines(ctx, progressEvery(ctx));
  }

  private static stages(p: EnsembleProgress): string {
    const parts = p.runningByStage.map((n, k) => (n ? `stage ${k + 1}: ${n}` : '')).filter(Boolean);
    return parts.length ? `running ${parts.join(', ')}` : '';
  }

  /**
   * The run has begun: off a terminal the heartbeat starts now, so that an
   * engine that reports only when its members finish (a GPU batch) is not
   * silent until then.
   */
  start(): void {
    if (this.quiet || this.ctx.stderrIsTTY) return;
    const t0 = performance.now();
    this.lines.beat(() => `cait: ensemble still running (${((performance.now() - t0) / 1000).toFixed(0)} s so far; no member finished yet)`);
  }

  update(p: EnsembleProgress): void {
    if (this.quiet) return;
    const rate = p.elapsed_s > 0 ? p.done / p.elapsed_s : 0;
    const rateText = rate >= 1 ? rate.toFixed(1) : rate.toPrecision(2);
    if (this.ctx.stderrIsTTY) {
      const payload = { rate: rateText, failed: p.failed, stages: EnsembleReporter.stages(p), left: etaText(p.done, p.total, p.elapsed_s) };
      if (!this.bar) {
        this.bar = new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: 'members |{bar}| {value}/{total} | {rate} members/s | ETA {left} | {failed} failed | {stages}',
            hideCursor: true,
            barsize: 30,
          },
          cliProgress.Presets.shades_classic,
        );
        this.bar.start(p.total, p.done, payload);
      } else this.bar.update(p.done, payload);
      return;
    }
    // off a terminal: a line per tenth of the members, and a heartbeat at least every few seconds
    this.lines.beat(
      () => `cait: ensemble ${p.done}/${p.total} members, still running (${p.elapsed_s.toFixed(0)} s so far${p.done ? `, about ${etaText(p.done, p.total, p.elapsed_s)} left` : ''}; ${EnsembleReporter.stages(p) || 'starting'})`,
    );
    if (p.finished?.status === 'failed') {
      if (this.failLines < 10) this.lines.line(`cait: member ${p.finished.index} failed: ${p.finished.reason ?? 'no reason given'}`);
      else if (this.failLines === 10) this.lines.line('cait: (further failed members are only counted)');
      this.failLines++;
    }
    if (!p.finished) return;
    const decile = Math.floor((p.done / p.total) * 10 + 1e-9);
    if (decile > this.lastDecile) {
      this.lastDecile = decile;
      this.lines.line(`cait: ensemble ${p.done}/${p.total} members (${Math.round((100 * p.done) / p.total)}%), ${rateText} members/s, ${p.failed} failed`);
    }
  }

  stop(): void {
    this.lines.stop();
    if (this.bar) {
      this.bar.stop();
      this.bar = undefined;
    }
  }
}

function fmtFixed(x: number | null | undefined, digits: number): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits);
}


/**
 * The summary printed after a run: counts, wall time and rate, the engine;
 * with at most 20 members a table of the parameters and key scalars (per
 * stage the duration and the native front, after the last stage the depth of
 * each foreign species' blurred maximum); the reasons of failed members.
 */
export function ensembleSummaryText(file: EnsembleFile, written: string[]): string {
  const { counts } = file;
  const wall = file.provenance.wall_s;
  const rate = wall > 0 ? counts.members / wall : 0;
  const out: string[] = [];
  const sh = file.shard;
  out.push(
    `ensemble${sh ? ` shard ${sh.index}/${sh.count} (of ${sh.ensemble.members} members)` : ''}: ${counts.members} member${counts.members === 1 ? '' : 's'}, ${counts.ok} ok, ${counts.failed} failed; wall time ${wall.toFixed(1)} s (${rate.toPrecision(3)} members/s); engine ${file.engine} (${file.adapter})\n`,
  );
  const base = file.base;
  const native = frontSpecies(base);
  const nStages = base.stages.length;
  const lastForeign = [...enteredSpecies(base, nStages - 1)];
  if (counts.members <= 20 && counts.members > 0) {
    const head = ['member', ...file.parameters, 'status'];
    for (let k = 1; k <= nStages; k++) {
      head.push(`s${k} duration (h)`);
      if (native) head.push(`s${k} ${native} front (nm)`);
    }
    for (const s of lastForeign) head.push(`s${nStages} ${s} max at (nm)`);
    const rows = [head];
    file.members.forEach((m, i) => {
      const row = [String(memberIndex(file, i)), ...m.values.map(formatValue), m.status];
      for (let k = 0; k < nStages; k++) {
        const st = m.stages[k];
        row.push(fmtFixed(st ? st.duration_s / 3600 : undefined, 2));
        if (native) row.push(fmtFixed(st?.front_nm[native], 2));
      }
      const last = m.stages[nStages - 1];
      for (const s of lastForeign) row.push(fmtFixed(last?.max[s]?.depth_nm, 2));
      rows.push(row);
    });
    out.push(table(rows));
  } else if (counts.members > 20) out.push('(no table for more than 20 members: see the JSON or --csv)\n');
  const failed = file.members.map((m, i) => ({ m, i })).filter(({ m }) => m.status === 'failed');
  failed.slice(0, 10).forEach(({ m, i }) => {
    const vals = file.parameters.map((p, j) => `${p}=${formatValue(m.values[j])}`).join(', ');
    out.push(`member ${memberIndex(file, i)}${vals ? ` (${vals})` : ''} failed: ${m.reason ?? 'no reason given'}\n`);
  });
  if (failed.length > 10) out.push(`... and ${failed.length - 10} more failed members\n`);
  out.push(...written.map((w) => `wrote ${w}\n`));
  return out.join('');
}

/** An engine made for one run, and how to let it go (a browser session closes asynchronously). */
export interface OpenedEngine {
  engine: EnsembleEngine;
  close(): void | Promise<void>;
}

/** The sweep options of runEnsemble; the engine options only when it makes the engine itself. */
export type SweepCliOptions = Omit<EnsembleCliOptions, 'engine' | 'adapter' | 'threads'> &
  Partial<Pick<EnsembleCliOptions, 'engine' | 'adapter' | 'threads'>> &
  Partial<ExecutorCliOptions>;

/**
 * `cait ensemble`'s run: check the inputs, build the grid, run it, write the
 * outputs, print the summary. `open` makes the engine after the inputs were
 * checked (default: makeEngine from --engine/--adapter/--threads); `cait
 * headless` passes its browser engine.
 */
export async function runEnsemble(opts: SweepCliOptions, ctx: CliContext, open?: () => Promise<OpenedEngine>): Promise<void> {
  if (!(PROFILES_LEVELS as readonly string[]).includes(opts.profiles))
    throw new InputError(`--profiles ${opts.profiles}: expected one of ${PROFILES_LEVELS.join(', ')}`);
  const profiles = opts.profiles as ProfilesLevel;
  const def = loadDefinition(opts);
  checkOutputs(opts, def.base, profiles);
  const shard = opts.shard !== undefined ? parseShard(opts.shard) : undefined;
  if (shard && opts.executor === 'slurm') throw new InputError('--shard runs one shard here; --executor slurm runs every shard as a job array: use one of them');
  const grid = buildGrid(def.base, def.specs, def.sample);
  const req = requestFromGrid(grid, def.base, profiles);
  if (!opts.quiet) warnLargeSweep(def.base, grid.members.length, profiles, ctx);
  const design: Design = grid.seed !== undefined ? { design: grid.design, seed: grid.seed } : { design: grid.design };
  const opened: ExecutorEngine = open
    ? await open()
    : await openEngine(
        { ...opts, engine: opts.engine ?? 'cpu', adapter: opts.adapter ?? 'auto', executor: opts.executor ?? 'local', slurmOpt: opts.slurmOpt ?? [] },
        ctx,
        { dir: defaultSlurmDir(opts.out), design },
      );
  if (opts.dryRun) {
    await opened.close();
    ctx.stdout(opened.script!(req.values.length));
    ctx.stderr(`cait: dry run: the job script of ${req.values.length} members (nothing submitted, nothing written)\n`);
    return;
  }

  const reporter = new EnsembleReporter(ctx, !!opts.quiet);
  let file: EnsembleFile;
  reporter.start();
  try {
    const provenance = () => ({ ...ensembleProvenance(def.base, ctx.now()), ...executorProvenance(opened, ctx.env) });
    file = await runToFile(req, design, opened.engine, provenance, { shard, onProgress: (p) => reporter.update(p) });
  } finally {
    reporter.stop();
    await opened.close();
  }

  // what was swept and how, as the user wrote it
  const sweep: NonNullable<EnsembleFile['provenance']['sweep']> = { vary: def.specs.map(specText) };
  if (def.sample) sweep.sample = { ...def.sample };
  if (opts.sweep !== undefined) sweep.file = opts.sweep;
  file.provenance.sweep = sweep;
  const { engine: _e, adapter: _a, threads: _t, ...rest } = opts as unknown as Record<string, unknown>;
  file.provenance.command = commandLine(open ? 'headless' : 'ensemble', open ? rest : (opts as unknown as Record<string, unknown>));
  const written = [`${opts.out} (${ENSEMBLE_SCHEMA}, profiles ${profiles})`];
  const extra: OutputFile[] = [];
  if (opts.plot !== undefined) {
    const stage = opts.plotStage ?? def.base.stages.length;
    const species = opts.plotSpecies ?? def.base.stages[stage - 1].beam;
    if (file.counts.ok > 0) {
      extra.push({ path: opts.plot, data: ensembleProfilesSvg(file, { stage, species, maxDepth_nm: opts.maxDepth }) });
      written.push(`${opts.plot} (${species} after stage ${stage}, a line per member)`);
    } else ctx.stderr(`cait: no member finished ok; ${opts.plot} is not written\n`);
  }
  if (opts.csv !== undefined) written.splice(1, 0, `${opts.csv} (one row per member)`);
  try {
    writeEnsembleOutputs(file, { json: opts.out, csv: opts.csv, extra });
  } catch (e) {
    throw new Error(`cannot write the outputs: ${(e as Error).message}`);
  }
  ctx.stdout(ensembleSummaryText(file, written));
}
