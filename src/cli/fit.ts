/**
 * `cait fit` and `cait sensitivity`: fit protocol parameters to measured
 * depth profiles with an ensemble engine, and write the `cait-fit/1` file,
 * CSV exports and figures into one directory, all in one atomic batch (an
 * existing output survives a failed run).
 *
 * `runFitCommand(opts, ctx, engine?)` and `runSensitivityCommand` are the
 * programmatic entry points: a headless runner passes its own EnsembleEngine.
 */
import { existsSync, readdirSync } from 'node:fs';
import { readTextPieces } from '../io/read.js';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { fmtNum, fmtResolved, table } from '../core/format.js';
import { InputError } from '../core/errors.js';
import { parseSweepArgs, parseNumber } from '../sweep/index.js';
import { getAtPath, PATH_PATTERN } from '../sweep/paths.js';
import { isDirectory, writeFilesAtomic, type OutputFile } from '../io/atomic.js';
import { makeProvenance } from '../io/result.js';
import type { EnsembleEngine } from '../ensemble/types.js';
import { runFit, runSensitivity, type FitOutcome, type FitProgress } from '../fit/fit.js';
import { loadObservations, parseMeasuredArgs, DEFAULT_SIGMA_NM, DEFAULT_WINDOW_NM, type MeasuredArgs, type MeasuredSpec } from '../fit/measured.js';
import { buildFitFile, membersCsv, bestFitCsv, sensitivityCsv, mapCsv } from '../fit/output.js';
import { mapPairs, residualMap, type MapMode } from '../fit/map.js';
import type { FitFile } from '../fit/schema.js';
import { bestFitSvg, plusMinus20Svg, residualMapSvg, sensitivitySvg, fmtLabel } from '../plot/fit.js';
import type { ExecutorRecord } from '../ensemble/output.js';
import { ENGINES } from './engines.js';
import { addExecutorOptions, defaultSlurmDir, openEngine, type ExecutorCliOptions } from './executor.js';
import { progressEvery, ProgressLines } from './progress.js';
import { addProtocolOptions, collect, commandLine, loadProtocol, nonNegativeInt, positiveInt, checkOutputDir, checkOutputFile, type CliContext, type NamedPath } from './common.js';
import { InvalidArgumentError } from 'commander';
import { FIT_HELP, SENSITIVITY_HELP } from './help.js';

/** Options shared by `cait fit` and `cait sensitivity`. */
export interface FitCommonOptions extends Omit<MeasuredArgs, 'measured'>, Partial<ExecutorCliOptions> {
  preset?: string;
  config?: string;
  measured: string[];
  engine: string;
  adapter: string;
  threads?: number;
  sensStep: number;
  out: string;
  quiet?: boolean;
}

export interface FitCliOptions extends FitCommonOptions {
  vary: string[];
  refine: number;
  refineCentres: number;
  /** iterations of the local optimiser (default 20; 0 = none) */
  localSteps?: number;
  top: number;
  sens: boolean;
  memberProfiles: string;
  mapMode: string;
}

export interface SensitivityCliOptions extends FitCommonOptions {
  at: string[];
}

function relativeStep(v: string): number {
  const x = Number(v);
  if (!(Number.isFinite(x) && x > 0 && x < 0.5)) throw new InvalidArgumentError('must be a relative step between 0 and 0.5 (0.05 = ±5 %)');
  return x;
}

/** The measured-profile options (--measured, depth resolution, window, weights, SIMS processing), shared with `cait gsa`. */
export function addMeasuredDataOptions(cmd: Command): Command {
  return cmd
    .option('--measured <[K:]FILE>', 'a measured profile after stage K (1-based; default the last); repeatable', collect, [])
    .option('--sigma <[K:]NM>', `Gaussian depth resolution σ, nm (default ${DEFAULT_SIGMA_NM}); repeatable per stage`, collect, [])
    .option('--mri <[K:]W,SIGMA,LAMBDA>', 'Hofmann MRI depth resolution (nm) instead of the Gaussian', collect, [])
    .option('--window <[K:]FROM:TO>', `depth window compared, nm (default ${DEFAULT_WINDOW_NM.join(':')})`, collect, [])
    .option('--weights <[K:]Li=1,Rb=1>', 'species weights of the residual (default 1)', collect, [])
    .option('--shots <[K:]N>', 'SIMS: primary-ion shots per point (Poisson dead-time correction)', collect, [])
    .option('--crater-depth <[K:]NM>', 'SIMS: crater depth, nm (depth = t · crater / total time)', collect, [])
    .option('--sputter-rate <[K:]NM_PER_S>', 'SIMS: constant sputter rate, nm/s', collect, [])
    .option('--sensitivity <[K:]Li=1,Cs=2.6>', 'SIMS: relative sensitivity factors (default 1)', collect, []);
}

function addMeasuredOptions(cmd: Command): Command {
  return addMeasuredDataOptions(addExecutorOptions(cmd))
    .option('--engine <name>', `ensemble engine (${ENGINES.join(', ')})`, 'cpu')
    .option('--adapter <kind>', 'WebGPU adapter of --engine webgpu: auto, vulkan, swiftshader, null', 'auto')
    .option('--threads <N>', `worker threads of the cpu engine (default: all ${availableParallelism()} cores)`, positiveInt)
    .option('--sens-step <fraction>', 'relative step of the central differences (0.05 = ±5 %)', relativeStep, 0.05)
    .requiredOption('-o, --out <dir>', 'output directory (created if missing)')
    .option('-q, --quiet', 'no progress output on stderr');
}

export function registerFit(program: Command, ctx: CliContext): void {
  addMeasuredOptions(
    addProtocolOptions(
      program
        .command('fit')
        .summary('fit protocol parameters to measured SIMS profiles')
        .description(
          'Fit numeric protocol parameters (D values, SED widths, …) to measured depth profiles:\n' +
            'an ensemble over a grid, refinement around the best, Δχ² = 1 intervals, sensitivity.\n' +
            'Units: depth nm, density n/n0 (normalized), parameters in the units of their path.',
        ),
    ),
  )
    .option('--vary <PATH=SPEC>', 'a fitted parameter and its grid: PATH=a,b,c | lo:hi:N | lo:hi:N:log; repeatable', collect, [])
    .option('--refine <N>', 'grid refinement rounds around the best (0 = none)', nonNegativeInt, 2)
    .option('--refine-centres <N>', 'refine around the best N members', positiveInt, 3)
    .option('--local-steps <N>', 'Levenberg–Marquardt iterations from the best member, one engine batch each (0 = none)', nonNegativeInt, 20)
    .option('--top <K>', 'the K best members in the summary and fit.json', positiveInt, 10)
    .option('--no-sens', 'skip the sensitivity members (derivatives and ±20 %)')
    .option('--member-profiles <all|none>', 'keep every member\'s model at the measured depths in fit.json', 'all')
    .option('--map-mode <min|fixed>', 'residual maps: other parameters minimised over (min) or at the best grid member (fixed)', 'min')
    .addHelpText('after', FIT_HELP)
    .action(async (opts: FitCliOptions) => {
      await runFitCommand(opts, ctx);
    });
}

export function registerSensitivity(program: Command, ctx: CliContext): void {
  addMeasuredOptions(
    addProtocolOptions(
      program
        .command('sensitivity')
        .summary('d/d ln p (±5 %) and ±20 % profiles at a point')
        .description(
          'At one point of parameter space: the residual against measured profiles, d model / d ln p\n' +
            'per parameter at the measured depths, the ±20 % profiles and linearised intervals.\n' +
            'Units: depth nm, density n/n0 (normalized), parameters in the units of their path.',
        ),
    ),
  )
    .option('--at <PATH[=VALUE]>', 'a parameter and its value (default: the protocol\'s); repeatable', collect, [])
    .addHelpText('after', SENSITIVITY_HELP)
    .action(async (opts: SensitivityCliOptions) => {
      await runSensitivityCommand(opts, ctx);
    });
}

/** The names of the files a fit writes into --out (fitOutputFiles). */
const FIT_OUTPUT_NAME = /^(fit\.json|members\.csv|(best_fit|sensitivity)_\d+\.csv|map_\d+_\d+\.(csv|svg)|(best_fit|sensitivity|pm20)\.svg)$/;

/**
 * --out must be a writable directory (or creatable); every file of it that a fit would
 * replace must be writable and none of the inputs (--config, --measured).
 */
function checkOutDir(out: string, inputs: readonly NamedPath[] = []): void {
  if (out.trim() && existsSync(out) && !isDirectory(out)) throw new InputError(`--out ${out}: is a file, not a directory`);
  checkOutputDir(out, '--out');
  if (!existsSync(out)) return;
  for (const name of readdirSync(out)) if (FIT_OUTPUT_NAME.test(name)) checkOutputFile(join(out, name), '--out', inputs);
}

/** The input files of a fit or sensitivity run: --config and every --measured file. */
function fitInputs(opts: FitCommonOptions, measured: MeasuredSpec[]): NamedPath[] {
  const inputs: NamedPath[] = measured.map((m) => ({ option: '--measured', path: m.file }));
  if (opts.config !== undefined) inputs.push({ option: '--config', path: opts.config });
  return inputs;
}

/** Progress on stderr: a bar per phase on a terminal, else a line per finished phase. */
class FitReporter {
  private bar?: cliProgress.SingleBar;
  private phase = '';
  private lastLine = '';
  private readonly lines: ProgressLines;

  constructor(
    private readonly ctx: CliContext,
    private readonly quiet: boolean,
  ) {
    this.lines = new ProgressLines(ctx, progressEvery(ctx));
  }

  update(p: FitProgress): void {
    if (this.quiet) return;
    if (this.ctx.stderrIsTTY) {
      if (p.phase !== this.phase) {
        this.stopBar();
        this.phase = p.phase;
        this.bar = new cliProgress.SingleBar(
          { stream: process.stderr, format: `${p.phase.padEnd(12)} |{bar}| {value}/{total} members | ETA {eta_formatted} | {failed} failed | {evaluated} so far`, hideCursor: true, barsize: 30 },
          cliProgress.Presets.shades_classic,
        );
        this.bar.start(p.total, p.done, { failed: p.failed, evaluated: p.evaluated });
      } else this.bar?.update(p.done, { failed: p.failed, evaluated: p.evaluated });
      return;
    }
    // off a terminal: a line per finished phase, and a heartbeat at least every few seconds
    this.lines.beat(() => `cait: fit ${p.phase}: ${p.done}/${p.total} members, still running (${p.evaluated} evaluated, ${p.elapsed_s.toFixed(1)} s)`);
    if (p.done === p.total) {
      const line = `cait: fit ${p.phase}: ${p.total} members, ${p.failed} failed (${p.evaluated} evaluated, ${p.elapsed_s.toFixed(1)} s)`;
      if (line !== this.lastLine) this.lines.line(line);
      this.lastLine = line;
    }
  }

  private stopBar(): void {
    this.bar?.stop();
    this.bar = undefined;
  }

  stop(): void {
    this.stopBar();
    this.lines.stop();
  }
}

/** The measured-profile options of a command, as src/fit/measured.ts takes them. */
export function measuredArgs(o: MeasuredArgs): MeasuredArgs {
  return {
    measured: o.measured,
    sigma: o.sigma,
    mri: o.mri,
    window: o.window,
    weights: o.weights,
    shots: o.shots,
    craterDepth: o.craterDepth,
    sputterRate: o.sputterRate,
    sensitivity: o.sensitivity,
  };
}

/** Every output file of a fit (JSON, CSVs, figures), named inside `dir`. */
export function fitOutputFiles(file: FitFile, dir: string, mapMode: MapMode): OutputFile[] {
  const files: OutputFile[] = [{ path: join(dir, 'fit.json'), data: JSON.stringify(file, null, 1) + '\n' }];
  files.push({ path: join(dir, 'members.csv'), data: membersCsv(file) });
  file.measured.observations.forEach((_, k) => {
    files.push({ path: join(dir, `best_fit_${k + 1}.csv`), data: bestFitCsv(file, k) });
    const s = sensitivityCsv(file, k);
    if (s) files.push({ path: join(dir, `sensitivity_${k + 1}.csv`), data: s });
  });
  for (const [a, b] of mapPairs(file)) {
    const map = residualMap(file, a, b, mapMode);
    files.push({ path: join(dir, `map_${a + 1}_${b + 1}.csv`), data: mapCsv(file, map) });
    files.push({ path: join(dir, `map_${a + 1}_${b + 1}.svg`), data: residualMapSvg(file, map) });
  }
  files.push({ path: join(dir, 'best_fit.svg'), data: bestFitSvg(file) });
  const sens = sensitivitySvg(file);
  if (sens) files.push({ path: join(dir, 'sensitivity.svg'), data: sens });
  const pm = plusMinus20Svg(file);
  if (pm) files.push({ path: join(dir, 'pm20.svg'), data: pm });
  return files;
}


/** The summary printed after a fit. */
export function fitSummaryText(file: FitFile, written: string[], top = 10, command = 'fit'): string {
  const out: string[] = [];
  const p = file.provenance;
  const count = (s: string) => file.members.filter((m) => m.source === s).length;
  const failed = file.members.filter((m) => m.status === 'failed').length;
  out.push(
    `${command}: ${file.members.length} members (${(['grid', 'refine', 'local', 'interval', 'sensitivity'] as const).map((s) => `${s} ${count(s)}`).join(', ')}), ${failed} failed; wall time ${p.wall_s.toFixed(1)} s; engine ${p.engine} (${p.adapter})\n`,
  );
  out.push(
    `data: ${file.measured.observations.map((o) => `${o.label} after stage ${o.stage + 1} (${o.species.join(', ')}, ${o.depth_nm.length} points in ${o.window_nm[0]}-${o.window_nm[1]} nm)`).join('; ')}\n`,
  );
  const src = file.residuals_source;
  if (src === 'final profiles') out.push('residuals: computed from the final profiles the engine returned (it computes none itself)\n');
  out.push(`noise: s² = ${fmtNum(file.noise.s2)} (residual ${fmtNum(file.best.residual)} / (${file.noise.points} points − parameters) = / ${file.noise.dof}); χ² = residual / s²\n`);
  const { interval_profile: prof, interval_linearized: lin, interval_robust: rob } = file.best;
  out.push(`best: member ${file.best.member}, residual ${fmtNum(file.best.residual)}\n`);
  const rows = [['parameter', 'best', 'Δχ²=1 interval', 'discrete profile', 'linearised', 'robust (sandwich)']];
  file.parameters.forEach((path, j) => {
    const iv = file.best.interval[j];
    // digits enough to resolve a tenth of the Δχ² = 1 interval
    const f = (v: number) => fmtResolved(v, Math.abs(iv[1] - iv[0]) / 10 || Math.abs(v) * 1e-4);
    const pair = (p?: [number, number] | null) => (p ? `[${f(p[0])}, ${f(p[1])}]` : '-');
    rows.push([path, f(file.best.values[j]), pair(iv), pair(prof?.[j]), pair(lin?.[j]), pair(rob?.[j])]);
  });
  out.push(table(rows));
  if (file.top.length > 1) {
    out.push(`top ${Math.min(top, file.top.length)}:\n`);
    const t = [['rank', 'member', ...file.parameters.map((s) => s.split('.').slice(-2).join('.')), 'residual', 'Δχ²']];
    file.top.slice(0, top).forEach((m, i) =>
      t.push([
        String(i + 1),
        String(m.member),
        ...m.values.map((v, j) => fmtResolved(v, Math.abs(file.best.interval[j][1] - file.best.interval[j][0]) / 10 || Math.abs(v) * 1e-4)),
        fmtLabel(m.residual),
        file.noise.s2 > 0 ? fmtLabel((m.residual - file.best.residual) / file.noise.s2) : '-',
      ]),
    );
    out.push(table(t));
  }
  if (file.sensitivity?.length)
    out.push(
      `sensitivity (RMS of d(n/n0)/d ln p; residual at 0.8× / 1.2×): ${file.sensitivity.map((s) => `${s.path} ${fmtLabel(s.rms)} (${s.residual_minus20 === null ? 'failed' : fmtLabel(s.residual_minus20)} / ${s.residual_plus20 === null ? 'failed' : fmtLabel(s.residual_plus20)})`).join('; ')}\n`,
    );
  const c = file.convergence;
  if (c)
    out.push(
      c.converged
        ? `convergence: yes (${c.optimizer === 'none' ? 'no local optimiser' : `Levenberg–Marquardt, ${c.iterations} iteration(s)`}; the best inside its Δχ² = 1 intervals; the quadratic model's minimum Δχ² = ${c.quadratic_dchi2 === null ? '-' : fmtLabel(c.quadratic_dchi2)} from it)\n`
        : `convergence: NO — see the warnings\n`,
    );
  const nw = file.warnings?.length ?? 0;
  if (nw) out.push(`WARNINGS: ${nw} (on stderr and in fit.json)\n`);
  out.push(...written.map((w) => `wrote ${w}\n`));
  return out.join('');
}

/** Every warning of a fit on stderr, one line each (also with --quiet: they are not progress). */
function printWarnings(file: FitFile, ctx: CliContext): void {
  for (const w of file.warnings ?? []) ctx.stderr(`cait: warning: ${w}\n`);
}

/** Run `f` with the given engine, or the one of --engine/--executor; `record` receives the Slurm jobs that ran. */
async function withEngine<T>(
  opts: FitCommonOptions,
  ctx: CliContext,
  given: EnsembleEngine | undefined,
  f: (e: EnsembleEngine) => Promise<T>,
  record: (r: ExecutorRecord) => void,
): Promise<T> {
  if (given) {
    if (opts.executor !== undefined && opts.executor !== 'local') throw new InputError(`--executor ${opts.executor}: not with an engine of its own (cait headless --fit)`);
    return f(given);
  }
  const opened = await openEngine({ ...opts, slurmOpt: opts.slurmOpt ?? [] }, ctx, { dir: defaultSlurmDir(opts.out) });
  try {
    return await f(opened.engine);
  } finally {
    if (opened.executor) record(opened.executor());
    await opened.close();
  }
}

function writeOutputs(file: FitFile, out: string, mapMode: MapMode): string[] {
  const files = fitOutputFiles(file, out, mapMode);
  try {
    writeFilesAtomic(files);
  } catch (e) {
    throw new Error(`cannot write the outputs: ${(e as Error).message}`);
  }
  return files.map((f) => f.path);
}

/** `cait fit`, callable with any engine (a headless runner passes its own; it is not closed here). */
/**
 * `cait fit` with these options. An engine passed in (cait headless --fit: the browser's) replaces
 * --engine/--adapter/--threads, which are then left out of the recorded command line; `command`
 * names the command in it.
 */
export async function runFitCommand(opts: FitCliOptions, ctx: CliContext, engine?: EnsembleEngine, command = 'fit'): Promise<FitFile> {
  if (!['all', 'none'].includes(opts.memberProfiles)) throw new InputError(`--member-profiles ${opts.memberProfiles}: expected all or none`);
  if (!['min', 'fixed'].includes(opts.mapMode)) throw new InputError(`--map-mode ${opts.mapMode}: expected min or fixed`);
  checkOutDir(opts.out);
  const base = loadProtocol(opts);
  const measured = parseMeasuredArgs(measuredArgs(opts));
  checkOutDir(opts.out, fitInputs(opts, measured.specs));
  if (opts.vary.length === 0) throw new InputError('--vary PATH=SPEC is required: what to fit (e.g. --vary stages.1.D.Cs.D_m2s=1e-23:1e-22:7:log)');
  const { specs } = parseSweepArgs({ vary: opts.vary });
  const loaded = loadObservations(measured, base, (f) => readTextPieces(f));
  const reporter = new FitReporter(ctx, !!opts.quiet);
  let outcome: FitOutcome;
  let executor: ExecutorRecord | undefined;
  try {
    outcome = await withEngine(opts, ctx, engine, (e) =>
      runFit({
        base,
        specs,
        observations: loaded.map((l) => l.observation),
        windows: loaded.map((l) => l.window_nm),
        engine: e,
        refine: opts.refine,
        refineCentres: opts.refineCentres,
        localSteps: opts.localSteps,
        topK: opts.top,
        sensitivity: opts.sens ? { step: opts.sensStep } : false,
        memberModels: opts.memberProfiles === 'all',
        onProgress: (p) => reporter.update(p),
      }),
      (r) => (executor = r),
    );
  } finally {
    reporter.stop();
  }
  const prov = makeProvenance(base, ctx.now());
  // with an engine passed in (cait headless --fit) the engine options of `cait fit` did not choose it
  const { engine: _e, adapter: _a, threads: _t, ...rest } = opts as unknown as Record<string, unknown>;
  const file = buildFitFile(outcome, prov, commandLine(command, engine ? rest : (opts as unknown as Record<string, unknown>)));
  if (executor) file.provenance.executor = executor;
  const written = writeOutputs(file, opts.out, opts.mapMode as MapMode);
  ctx.stdout(fitSummaryText(file, written, opts.top));
  printWarnings(file, ctx);
  return file;
}

function parseAt(list: string[], base: unknown): { path: string; value: number }[] {
  return list.map((arg) => {
    const eq = arg.indexOf('=');
    const path = (eq < 0 ? arg : arg.slice(0, eq)).trim();
    if (!PATH_PATTERN.test(path)) throw new InputError(`--at ${arg}: a path is dotted segments like stages.1.D.Cs.D_m2s`);
    const own = getAtPath(base, path);
    if (typeof own !== 'number') throw new InputError(`--at ${arg}: ${path} is not a numeric field of the protocol (list them with \`cait config --preset paper\`)`);
    const value = eq < 0 ? own : parseNumber(arg.slice(eq + 1), `--at ${path}`);
    return { path, value };
  });
}

/** `cait sensitivity`, callable with any engine. */
export async function runSensitivityCommand(opts: SensitivityCliOptions, ctx: CliContext, engine?: EnsembleEngine): Promise<FitFile> {
  checkOutDir(opts.out);
  const base = loadProtocol(opts);
  const measured = parseMeasuredArgs(measuredArgs(opts));
  checkOutDir(opts.out, fitInputs(opts, measured.specs));
  if (opts.at.length === 0) throw new InputError('--at PATH[=VALUE] is required: the parameters to differentiate by');
  const at = parseAt(opts.at, base);
  const loaded = loadObservations(measured, base, (f) => readTextPieces(f));
  const reporter = new FitReporter(ctx, !!opts.quiet);
  let outcome: FitOutcome;
  let executor: ExecutorRecord | undefined;
  try {
    outcome = await withEngine(opts, ctx, engine, (e) =>
      runSensitivity({
        base,
        at,
        observations: loaded.map((l) => l.observation),
        windows: loaded.map((l) => l.window_nm),
        engine: e,
        step: opts.sensStep,
        onProgress: (p) => reporter.update(p),
      }),
      (r) => (executor = r),
    );
  } finally {
    reporter.stop();
  }
  const file = buildFitFile(outcome, makeProvenance(base, ctx.now()), commandLine('sensitivity', opts as unknown as Record<string, unknown>));
  if (executor) file.provenance.executor = executor;
  const written = writeOutputs(file, opts.out, 'min');
  ctx.stdout(fitSummaryText(file, written, 1, 'sensitivity'));
  printWarnings(file, ctx);
  return file;
}

