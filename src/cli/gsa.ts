/**
 * `cait gsa`: global sensitivity analysis of a protocol (or of a test
 * function with known indices) — Sobol' indices on Saltelli's design or a
 * Morris screening — run through any ensemble engine; writes gsa.json
 * (`cait-gsa/1`), CSVs and SVG figures into one directory in one atomic
 * batch (an existing output survives a failed run). The study itself is
 * src/gsa (platform-neutral); this file reads options and files and writes.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import type { Protocol } from '../config/schema.js';
import { InputError } from '../core/errors.js';
import { compactJson } from '../core/json.js';
import type { EnsembleEngine } from '../ensemble/types.js';
import type { ExecutorRecord } from '../ensemble/output.js';
import type { Observation } from '../observe/observe.js';
import { loadObservations, parseMeasuredArgs, type MeasuredArgs } from '../fit/measured.js';
import { writeFilesAtomic, type OutputFile } from '../io/atomic.js';
import { makeProvenance, packageVersion } from '../io/result.js';
import { makeMember, parseNumber, parseVary, requireNumericPath } from '../sweep/index.js';
import {
  analyze,
  buildGsaFile,
  DEFAULT_BATCH,
  DEFAULT_BOOTSTRAP,
  DEFAULT_CONF_LEVEL,
  DEFAULT_LEVELS,
  DEPTH_DEFAULTS,
  depthIndicesCsv,
  designValues,
  evaluateFunction,
  evaluateModel,
  GSA_METHODS,
  indicesCsv,
  makeDesign,
  nextPow2,
  outputsCsv,
  s2Csv,
  samplesCsv,
  settings as makeSettings,
  testFunction,
  TEST_FUNCTIONS,
  type Evaluated,
  type GsaFile,
  type GsaMethod,
  type GsaParameter,
  type TestFunction,
  tiedPaths,
} from '../gsa/index.js';
import { DEFAULT_MIN_SD, depthIndices, depthMapSvg, indicesSvg, parameterLabel, type DepthIndex } from '../plot/gsa.js';
import { fmtLabel } from '../plot/fit.js';
import { addEngineOptions } from './engines.js';
import { addExecutorOptions, defaultSlurmDir, executorProvenance, openEngine, type ExecutorCliOptions, type ExecutorEngine } from './executor.js';
import { EnsembleReporter } from './ensemble.js';
import { addMeasuredDataOptions, measuredArgs } from './fit.js';
import { EXECUTOR_HELP, MEASURED_HELP } from './help.js';
import { addProtocolOptions, checkParent, collect, commandLine, loadProtocol, nonNegativeInt, positiveInt, positiveNumber, type CliContext } from './common.js';

export interface GsaCliOptions extends MeasuredArgs, ExecutorCliOptions {
  preset?: string;
  config?: string;
  function?: string;
  gA?: string;
  vary: string[];
  measured: string[];
  method: string;
  samples?: number;
  secondOrder?: boolean;
  levels: number;
  seed?: string;
  scramble: boolean;
  bootstrap: number;
  confLevel: number;
  depth: boolean;
  depthStep: number;
  maxDepth: number;
  blur: number;
  minSd: number;
  engine: string;
  adapter: string;
  threads?: number;
  batch: number;
  out: string;
  quiet?: boolean;
}

function fraction(v: string): number {
  const x = Number(v);
  if (!(Number.isFinite(x) && x > 0 && x < 1)) throw new InvalidArgumentError('must be a number between 0 and 1 (e.g. 0.95)');
  return x;
}

/** The files of the design (--out DIR/…). */
const FILES = {
  json: 'gsa.json',
  samples: 'samples.csv',
  outputs: 'outputs.csv',
  indices: 'indices.csv',
  s2: 's2.csv',
  depth: 'depth_indices.csv',
  bars: 'indices.svg',
};

/** The file name of a depth map. */
export function depthMapFile(index: DepthIndex): string {
  return index === 'ST-S1' ? 'depth_interactions.svg' : `depth_${index}.svg`;
}

const HELP = `
What varies (dotted paths as in cait ensemble; stages count from 0 in paths; values in the units of
the field's name, e.g. _m2s = m²/s, _eV = eV):
  --vary PATH=lo:hi          uniform on [lo, hi]
  --vary PATH=lo:hi:log      log-uniform (lo, hi > 0)
  --vary PATH1+PATH2=lo:hi   one parameter written at several paths (the same value in every run),
                             e.g. D(Rb+) of both stages: stages.0.D.Rb.D_m2s+stages.1.D.Rb.bulk.D_m2s
D(Cs+) of stage 2 of the paper preset is stages.1.D.Cs.D_m2s; the Rb+ SED width (populated FWHM)
in stage 2 stages.1.D.Rb.width.value_eV; its fall-off threshold stages.1.D.Rb.fall.theta.

Methods:
  --method sobol    Saltelli's design on a (scrambled) Sobol' sequence: N (k + 2) runs for k
                    parameters, N (2k + 2) with --second-order; first-order S1 (Saltelli 2010) and
                    total ST (Jansen) indices, S2 on request, with bootstrap intervals over the N base
                    samples. N a power of 2 keeps the design balanced.
  --method morris   Morris screening: r = --samples trajectories of k + 1 runs on a grid of --levels
                    levels; μ* (mean |elementary effect|), σ and μ per unit of each parameter's range
                    (a log range counts in ln p), μ* with a bootstrap interval.
An interval is estimate ± conf at --conf-level (z · SD of --bootstrap resamples). Quasi-random
designs make the bootstrap, which treats the samples as independent, conservative.

Outputs (of each stage k): s<k>_duration_s, s<k>_final_current_A, s<k>_front_<sp>_nm (native species
rising, foreign species falling through 0.5 n0), s<k>_max_<sp> and s<k>_max_<sp>_depth_nm (a foreign
species' maximum of the 1 nm-blurred profile: the Rb+ maximum after stage 2), s<k>_mean_<sp> (zone
composition), s<k>_edge_<sp>_nm (a foreign species' zone edge: the deepest depth where its blurred
profile falls through half its zone mean); with --measured the residual; and, unless --no-depth, the blurred profile of every
species at every depth of 0, --depth-step, …, --max-depth nm. A run that fails (or an output that does
not exist for it) leaves its base sample (Sobol) or step (Morris) out of that output's indices.
${MEASURED_HELP}

Test functions (instead of a protocol; no engine):
  --function ishigami        sin x1 + 7 sin² x2 + 0.1 x3⁴ sin x1 on [−π, π]³
  --function sobol-g         Π (|4 x_i − 2| + a_i) / (1 + a_i) on [0, 1]^k, a from --g-a (default 0,1,4.5,9,99,99,99,99)
gsa.json then also holds the exact indices ("analytic"), drawn as black ticks in indices.svg.

Outputs in --out DIR (written together at the end; existing files are replaced atomically):
  gsa.json               cait-gsa/1: provenance (version, date, config sha256, engine, adapter, wall_s,
                         command), model, method, parameters with ranges, N, runs, seed, design,
                         bootstrap, member counts, outputs {name: {S1, S1_conf, ST, ST_conf, [S2]} or
                         {mu, mu_star, mu_star_conf, sigma}}, depth maps, warnings
  samples.csv            one row per run: its place in the design and the parameter values
  outputs.csv            one row per run: status and every scalar output
  indices.csv, s2.csv    the indices of the scalar outputs, one row per output and parameter (pair)
  depth_indices.csv      depth-resolved indices (long format)
  indices.svg            S1/ST (or μ*/σ) bars with intervals, a panel per output
  depth_S1.svg, depth_ST.svg, depth_interactions.svg (ST − S1) / depth_mu_star.svg
                         depth × parameter maps under the mean profile ± SD, per stage and species

Engines (--engine cpu|webgpu|gpujs): the runs go through the engine in batches of --batch runs;
with --executor slurm each batch is one Slurm job array (below).
${EXECUTOR_HELP}
Exit status: 0 ok (also with failed runs), 2 bad input, 3 the engine failed.

Examples:
  cait gsa --function ishigami --method sobol --samples 8192 --out results/ishigami
  cait gsa --function sobol-g --g-a 0,1,9,99 --method morris --samples 40 --out results/g-morris
  cait gsa --preset quick --vary stages.0.D.Rb.D_m2s=2e-22:3.2e-22:log --vary stages.0.D.Li.fall.theta=0.05:0.15 \\
      --method sobol --samples 64 --out results/gsa-quick
  cait gsa --preset paper --method morris --samples 20 --threads 2 \\
      --vary stages.1.D.Cs.D_m2s=2.4e-23:3.8e-23:log --vary stages.1.D.Rb.width.value_eV=0.2:0.25 --out results/morris`;

export function registerGsa(program: Command, ctx: CliContext): void {
  const cmd = addProtocolOptions(
    program
      .command('gsa')
      .summary("Sobol' indices or Morris screening (global)")
      .description(
        "Which parameters control which output: Sobol' indices (first order, total, second order) on a " +
          "Saltelli design of a Sobol' sequence, or Morris elementary effects, with bootstrap intervals; " +
          'of named scalars per stage (fronts, the Rb+ maximum, composition, duration, current, residual) ' +
          'and of the blurred profiles at every depth. Units: depth nm, density n/n0, time s, current A.',
      ),
  )
    .addOption(new Option('--function <name>', `a test function with known indices instead of a protocol (${TEST_FUNCTIONS.join(', ')})`).conflicts(['preset', 'config']))
    .option('--g-a <a1,a2,…>', 'coefficients a_i of --function sobol-g (one input each, ≥ 0)')
    .option('--vary <PATH=lo:hi[:log]>', 'a parameter and its range (uniform, or log-uniform with :log); repeatable', collect, [])
    .option('--method <name>', `${GSA_METHODS.join(' or ')}`, 'sobol')
    .option('--samples <N>', 'sobol: base samples N (runs = N (k + 2)); morris: trajectories r (runs = r (k + 1))', positiveInt)
    .option('--second-order', 'sobol: second-order indices too (runs = N (2k + 2))')
    .option('--levels <p>', 'morris: grid levels (even)', positiveInt, DEFAULT_LEVELS)
    .option('--seed <S>', 'seed of the design and the bootstrap (integer 0..4294967295, default 1)')
    .option('--no-scramble', "sobol: the plain Sobol' sequence (skipping its first points) instead of a scrambled one")
    .option('--bootstrap <B>', 'bootstrap resamples of the intervals (0: none)', nonNegativeInt, DEFAULT_BOOTSTRAP)
    .option('--conf-level <c>', 'confidence level of the intervals', fraction, DEFAULT_CONF_LEVEL)
    .option('--no-depth', 'no depth-resolved indices (scalar outputs only)')
    .option('--depth-step <nm>', 'depth step of the depth-resolved indices, nm', positiveNumber, DEPTH_DEFAULTS.step_nm)
    .option('--max-depth <nm>', 'deepest depth of the depth-resolved indices, nm', positiveNumber, DEPTH_DEFAULTS.max_nm)
    .option('--blur <nm>', 'σ of the Gaussian blur of the depth-resolved profiles, nm', positiveNumber, DEPTH_DEFAULTS.blur_nm)
    .option('--min-sd <n/n0>', 'depth maps: grey where the profile varies by less than this over the runs', positiveNumber, DEFAULT_MIN_SD);
  addMeasuredDataOptions(cmd);
  addExecutorOptions(cmd);
  addEngineOptions(cmd)
    .option('--batch <N>', 'runs per engine batch (profiles are reduced after each)', positiveInt, DEFAULT_BATCH)
    .requiredOption('-o, --out <dir>', 'output directory (created if missing)')
    .option('-q, --quiet', 'no progress output on stderr (the summary still goes to stdout)')
    .addHelpText('after', HELP)
    .action(async (opts: GsaCliOptions) => {
      await runGsaCommand(opts, ctx);
    });
}

/** --out must be a directory (or not exist yet). */
function checkOutDir(out: string): void {
  if (!out.trim()) throw new InputError('--out: needs a directory name');
  if (existsSync(out) && !statSync(out).isDirectory()) throw new InputError(`--out ${out}: is a file, not a directory`);
  checkParent(join(out, FILES.json), '--out');
}

function parseSeedOption(seed: string | undefined): number {
  if (seed === undefined) return 1;
  const t = seed.trim();
  const v = /^\d+$/.test(t) ? Number(t) : NaN;
  if (!(Number.isInteger(v) && v <= 0xffffffff)) throw new InputError(`--seed: the seed must be an integer from 0 to 4294967295 (got "${t}")`);
  return v;
}

/**
 * The parameters of a protocol study from its --vary ranges: each a range
 * (no point count, no list), each path a numeric field, no path twice, and
 * lo and hi each a value the protocol accepts (the errors of cait ensemble).
 * `PATH1+PATH2=lo:hi` ties several paths to one parameter (they take the
 * same value in every run).
 */
export function gsaParameters(base: Protocol, vary: readonly string[]): GsaParameter[] {
  if (!vary.length) throw new InputError('--vary PATH=lo:hi is required: the parameters to study (e.g. --vary stages.1.D.Cs.D_m2s=2.4e-23:3.8e-23:log)');
  const seen = new Set<string>();
  return vary.map((text) => {
    const eq = text.indexOf('=');
    const tied = eq > 0 ? tiedPaths(text.slice(0, eq).trim()) : [text];
    const specs = tied.map((p) => parseVary(eq > 0 ? `${p.trim()}=${text.slice(eq + 1)}` : p));
    const source = `--vary ${specs.map((s) => s.path).join('+')}`;
    const spec = specs[0];
    if (spec.kind === 'list' || spec.n !== undefined)
      throw new InputError(`${source}: cait gsa samples a range; write PATH=lo:hi or PATH=lo:hi:log (no list, no point count)`);
    if (spec.lo === spec.hi) throw new InputError(`${source}: lo equals hi (${spec.lo}); nothing would vary`);
    for (const s of specs) {
      if (seen.has(s.path)) throw new InputError(`${source}: path ${s.path} is given twice`);
      seen.add(s.path);
      requireNumericPath(base, s.path, source);
      for (const v of [spec.lo, spec.hi]) makeMember(base, [s.path], [v], [source]);
    }
    return { path: specs.map((s) => s.path).join('+'), lo: spec.lo, hi: spec.hi, scale: spec.scale };
  });
}

/** The observations of --measured (none without it; the per-measurement options then have nothing to act on). */
function loadMeasured(opts: GsaCliOptions, base: Protocol): Observation[] {
  const args = measuredArgs(opts);
  if (!args.measured.length) {
    const stray = Object.entries(args).find(([k, v]) => k !== 'measured' && Array.isArray(v) && v.length);
    if (stray) throw new InputError(`--${stray[0].replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: only used with --measured FILE`);
    return [];
  }
  return loadObservations(parseMeasuredArgs(args), base, (f) => readFileSync(f, 'utf8')).map((l) => l.observation);
}

function parseGA(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  return text.split(',').map((s) => parseNumber(s, '--g-a'));
}

function fixed(v: number | null | undefined, digits = 2): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits);
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => (r[j] ?? '').length)));
  return rows.map((r) => r.map((c, j) => (j === 0 ? (c ?? '').padEnd(widths[j]) : (c ?? '').padStart(widths[j]))).join('  ').trimEnd()).join('\n') + '\n';
}

/** The summary printed after a study: runs, time, and a table of the indices of every scalar output. */
export function gsaSummaryText(file: GsaFile, written: string[]): string {
  const out: string[] = [];
  const p = file.provenance;
  out.push(
    `gsa: ${file.method === 'sobol' ? `Sobol' indices, N = ${file.N}` : `Morris screening, r = ${file.N}`}, ${file.parameters.length} parameters, ${file.runs} runs (${file.members.failed} failed); wall time ${p.wall_s.toFixed(1)} s; engine ${p.engine} (${p.adapter})\n`,
  );
  const heads = file.parameters.map((q) => parameterLabel(q.path));
  if (file.method === 'sobol') {
    out.push(`S1 / ST per parameter (± ${Math.round(file.bootstrap.level * 100)} % intervals in indices.csv):\n`);
    const rows = [['output', ...heads]];
    for (const [name, o] of Object.entries(file.outputs)) if ('S1' in o) rows.push([name, ...o.S1.map((s, i) => `${fixed(s, 3)} / ${fixed(o.ST[i], 3)}`)]);
    if (file.analytic) rows.push(["(exact)", ...file.analytic.S1.map((s, i) => `${fixed(s, 3)} / ${fixed(file.analytic!.ST[i], 3)}`)]);
    out.push(table(rows));
  } else {
    out.push('μ* per parameter (per unit of its range, in the output\'s unit; σ in indices.csv):\n');
    const rows = [['output', 'unit', ...heads]];
    for (const [name, o] of Object.entries(file.outputs)) if ('mu_star' in o) rows.push([name, o.unit || '-', ...o.mu_star.map((v) => (v === null ? '-' : fmtLabel(v)))]);
    out.push(table(rows));
  }
  for (const r of file.members.reasons.slice(0, 5)) out.push(`run ${r.run} failed: ${r.reason}\n`);
  for (const w of file.warnings) out.push(`warning: ${w}\n`);
  out.push(...written.map((w) => `wrote ${w}\n`));
  return out.join('');
}

/** Every output file of a study inside `dir`. */
export function gsaOutputFiles(file: GsaFile, dir: string, design: ReturnType<typeof makeDesign>, values: number[][], ev: Evaluated, minSd: number): OutputFile[] {
  const files: OutputFile[] = [
    { path: join(dir, FILES.json), data: compactJson(file) + '\n' },
    { path: join(dir, FILES.samples), data: samplesCsv(file, design, values) },
    { path: join(dir, FILES.outputs), data: outputsCsv(file, ev) },
    { path: join(dir, FILES.indices), data: indicesCsv(file) },
    { path: join(dir, FILES.bars), data: indicesSvg(file) },
  ];
  const s2 = s2Csv(file);
  if (s2) files.push({ path: join(dir, FILES.s2), data: s2 });
  const depth = depthIndicesCsv(file);
  if (depth) {
    files.push({ path: join(dir, FILES.depth), data: depth });
    for (const ix of depthIndices(file)) files.push({ path: join(dir, depthMapFile(ix)), data: depthMapSvg(file, ix, { minSd }) });
  }
  return files;
}

/**
 * `cait gsa` with these options; an engine passed in (a headless runner's)
 * replaces --engine/--adapter/--threads and is not closed here.
 */
export async function runGsaCommand(opts: GsaCliOptions, ctx: CliContext, given?: EnsembleEngine): Promise<GsaFile> {
  checkOutDir(opts.out);
  if (!(GSA_METHODS as readonly string[]).includes(opts.method)) throw new InputError(`--method ${opts.method}: expected ${GSA_METHODS.join(' or ')}`);
  const method = opts.method as GsaMethod;
  if (opts.samples === undefined)
    throw new InputError(`--samples N is required: ${method === 'sobol' ? 'base samples N (a power of 2, e.g. 256)' : 'trajectories r (e.g. 20)'}`);
  if (opts.gA !== undefined && opts.function !== 'sobol-g') throw new InputError('--g-a: only used with --function sobol-g');
  if (method === 'sobol' && opts.levels !== DEFAULT_LEVELS) throw new InputError('--levels: only used with --method morris');
  const s = makeSettings({
    method,
    samples: opts.samples,
    secondOrder: !!opts.secondOrder,
    levels: opts.levels,
    scramble: opts.scramble,
    seed: parseSeedOption(opts.seed),
    bootstrap: opts.bootstrap,
    level: opts.confLevel,
  });
  const warnings: string[] = [];
  if (method === 'sobol' && nextPow2(s.samples) !== s.samples) {
    const p = nextPow2(s.samples);
    warnings.push(`N = ${s.samples} is not a power of 2: the Sobol' points are balanced only for powers of 2 (e.g. ${p / 2 >= 2 ? `${p / 2} or ` : ''}${p})`);
  }
  const now = ctx.now();
  const command = commandLine('gsa', opts as unknown as Record<string, unknown>, ['scramble', 'depth']);

  let fn: TestFunction | undefined;
  let base: Protocol | undefined;
  let parameters: GsaParameter[];
  if (opts.function !== undefined) {
    if (opts.vary.length) throw new InputError('--vary: a test function has its own inputs; drop --vary (or --function)');
    if (opts.measured.length) throw new InputError('--measured: only with a protocol (--preset or --config), not with --function');
    if (opts.executor !== undefined && opts.executor !== 'local') throw new InputError(`--executor ${opts.executor}: a test function runs here, not with --function`);
    fn = testFunction(opts.function, { a: parseGA(opts.gA) });
    parameters = fn.inputs.map((x) => ({ path: x.name, lo: x.lo, hi: x.hi, scale: 'linear' }));
  } else {
    if (opts.preset === undefined && opts.config === undefined)
      throw new InputError('one of --preset NAME, --config FILE or --function NAME is required (see `cait presets`)');
    base = loadProtocol(opts);
    parameters = gsaParameters(base, opts.vary);
  }
  const design = makeDesign(parameters.length, s);
  const values = designValues(design, parameters);

  let ev: Evaluated;
  let model: GsaFile['model'];
  let executor: ExecutorRecord | undefined;
  if (fn) {
    ev = evaluateFunction(fn, values);
    model = { kind: 'function', name: fn.name, constants: fn.constants };
  } else {
    const b = base!;
    const observations = loadMeasured(opts, b);
    model = { kind: 'protocol', base: b, observations: observations.map((o) => ({ label: o.label, stage: o.stage + 1, species: o.species, points: o.depth_nm.length })) };
    const depth = opts.depth ? { step_nm: opts.depthStep, max_nm: opts.maxDepth, blur_nm: opts.blur } : null;
    const reporter = new EnsembleReporter(ctx, !!opts.quiet);
    const run = (engine: EnsembleEngine) =>
      evaluateModel({ base: b, parameters, values, engine, observations, depth, batch: opts.batch, onProgress: (p) => reporter.update(p) });
    try {
      // evaluateModel checks every design point against the protocol before the first run
      if (given && opts.executor !== undefined && opts.executor !== 'local') throw new InputError(`--executor ${opts.executor}: not with an engine of its own`);
      const opened: ExecutorEngine = given ? { engine: given, close: () => {} } : await openEngine({ ...opts, slurmOpt: opts.slurmOpt ?? [] }, ctx, { dir: defaultSlurmDir(opts.out) });
      try {
        ev = await run(opened.engine);
      } finally {
        await opened.close();
      }
      executor = executorProvenance(opened, ctx.env).executor;
    } finally {
      reporter.stop();
    }
  }
  if (ev.status.every((x) => x === 'failed')) warnings.push('every run failed: no index could be computed');
  const analysis = analyze(design, ev, s);
  if (design.method === 'sobol')
    for (const [name, o] of Object.entries(analysis.outputs))
      if ('rows' in o && o.rows < design.N && o.rows > 0) warnings.push(`${name}: ${design.N - o.rows} of ${design.N} base samples left out (a run failed or the output does not exist there)`);
  const base0 = base ? makeProvenance(base, now) : { version: packageVersion(), date: now.toISOString(), node: process.version, platform: `${process.platform}-${process.arch}` };
  const file = buildGsaFile({
    design,
    settings: s,
    parameters,
    evaluated: ev,
    analysis,
    model,
    provenance: { ...base0, command, ...(executor ? { executor } : {}) },
    ...(fn ? { analytic: fn.analytic } : {}),
    warnings,
  });
  const files = gsaOutputFiles(file, opts.out, design, values, ev, opts.minSd);
  try {
    writeFilesAtomic(files);
  } catch (e) {
    throw new Error(`cannot write the outputs: ${(e as Error).message}`);
  }
  ctx.stdout(gsaSummaryText(file, files.map((f) => f.path)));
  return file;
}
