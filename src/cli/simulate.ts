/**
 * `cait simulate`: run a protocol with the f64 CPU solver and write the
 * result file, optional CSVs and SVG figures — all of them only after the
 * run succeeded, each atomically (an existing output survives a failure).
 */
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import type { Protocol } from '../config/schema.js';
import { InputError } from '../core/errors.js';
import type { Progress, ProtocolResult } from '../solver/types.js';
import { writeFilesAtomic, type OutputFile } from '../io/atomic.js';
import { buildResultJson, crossingDepth, csvOutputs, csvPaths, makeProvenance, resultJsonText, RESULT_SCHEMA } from '../io/result.js';
import { currentSvg, profilesSvg } from '../plot/profiles.js';
import { addProtocolOptions, loadProtocol, positiveNumber, type CliContext, type SimulateFn, checkOutputDir, checkOutputFile, type NamedPath } from './common.js';
import { fmtNum, table } from '../core/format.js';
import { SIMULATE_HELP } from './help.js';

export interface SimulateOptions {
  preset?: string;
  config?: string;
  out: string;
  csv?: string;
  plot?: string;
  maxDepth: number;
  linearTime?: boolean;
  quiet?: boolean;
}


export function registerSimulate(program: Command, ctx: CliContext): void {
  addProtocolOptions(
    program
      .command('simulate')
      .summary('run a protocol: profiles, currents, figures')
      .description(
        'Run a protocol (a sequence of CAIT stages) with the double-precision solver.\n' +
          'Units: depth nm, density n/n0, time s, charge C, current A\n' +
          '(the summary on stdout shows hours, mC and nA).',
      ),
  )
    .requiredOption('-o, --out <file.json>', 'result file (cait-result/1 JSON)')
    .option('--csv <dir>', 'also write CSV files (profiles and currents per stage) into this directory')
    .option('--plot <file.svg>', 'also write SVG figures: profiles to this file, I(t) to <file>_current.svg')
    .option('--max-depth <nm>', 'depth range of the profile figure, nm', positiveNumber, 150)
    .option('--linear-time', 'linear time axis (h) in the current figure (default: logarithmic, s)')
    .option('-q, --quiet', 'no progress output on stderr (the summary still goes to stdout)')
    .addHelpText('after', SIMULATE_HELP)
    .action(async (opts: SimulateOptions) => {
      await runSimulate(opts, ctx);
    });
}

/** The stem of the result file name: results/paper.json → paper. */
function stemOf(out: string): string {
  const b = basename(out);
  return extname(b).toLowerCase() === '.json' ? b.slice(0, -5) : b;
}

function currentPlotPath(plot: string): string {
  const ext = extname(plot);
  return ext.toLowerCase() === '.svg' ? join(dirname(plot), `${basename(plot, ext)}_current${ext}`) : `${plot}_current.svg`;
}

interface Planned {
  json: string;
  csv: string[];
  plot?: string;
  plotCurrent?: string;
}


/** Check the output paths before the (long) run, so a typo, an unwritable place or an output that is the input fails at once. */
function planOutputs(opts: SimulateOptions, protocol: Protocol): Planned {
  const stem = stemOf(opts.out);
  if (!stem) throw new InputError(`--out ${opts.out}: needs a file name`);
  const inputs: NamedPath[] = opts.config !== undefined ? [{ option: '--config', path: opts.config }] : [];
  const plan: Planned = { json: opts.out, csv: [] };
  const named: [string, string][] = [['--out', opts.out]];
  if (opts.csv !== undefined) {
    checkOutputDir(opts.csv, '--csv');
    for (let k = 1; k <= protocol.stages.length; k++) {
      const p = csvPaths(opts.csv, stem, k);
      plan.csv.push(p.profile, p.current);
      named.push(['--csv', p.profile], ['--csv', p.current]);
    }
  }
  if (opts.plot !== undefined) {
    plan.plot = opts.plot;
    plan.plotCurrent = currentPlotPath(opts.plot);
    named.push(['--plot', plan.plot], ['--plot', plan.plotCurrent]);
  }
  const seen = new Set<string>();
  for (const [option, p] of named) {
    checkOutputFile(p, option, inputs);
    const key = resolve(p);
    if (seen.has(key)) throw new InputError(`output ${p} would be written twice (check --out, --csv and --plot)`);
    seen.add(key);
  }
  return plan;
}

async function loadSolver(ctx: CliContext): Promise<SimulateFn> {
  if (ctx.simulate) return ctx.simulate;
  const mod = await import('../solver/simulate.js');
  return mod.simulate;
}

/** Progress on stderr: a bar on a terminal, a plain line per 10 % otherwise, nothing when quiet. */
class ProgressReporter {
  private bar?: cliProgress.SingleBar;
  private lastStage = -1;
  private lastDecile = -1;

  constructor(
    private readonly ctx: CliContext,
    private readonly protocol: Protocol,
    private readonly quiet: boolean,
  ) {}

  private info(p: Progress): string {
    const st = this.protocol.stages[p.stageIndex];
    const q = (p.charge_C * 1e3).toFixed(4);
    const th = (p.t_s / 3600).toFixed(2);
    if (st && 'charge_C' in st.stop) return `${q} / ${fmtNum(st.stop.charge_C * 1e3)} mC | t = ${th} h | ${p.steps} steps`;
    if (st && 'duration_s' in st.stop) return `${q} mC | t = ${th} / ${fmtNum(st.stop.duration_s / 3600)} h | ${p.steps} steps`;
    return `${q} mC | t = ${th} h | ${p.steps} steps`;
  }

  update(p: Progress): void {
    if (this.quiet) return;
    const stage = `${p.stageIndex + 1}/${p.stageCount}`;
    const pct = Math.max(0, Math.min(100, p.fraction * 100));
    if (this.ctx.stderrIsTTY) {
      const payload = { stage, name: p.stageName, info: this.info(p) };
      if (!this.bar) {
        this.bar = new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: 'stage {stage} {name} |{bar}| {percentage}% | {info}',
            hideCursor: true,
            barsize: 30,
            etaBuffer: 20,
          },
          cliProgress.Presets.shades_classic,
        );
        this.bar.start(100, pct, payload);
      } else this.bar.update(pct, payload);
      return;
    }
    if (p.stageIndex !== this.lastStage) {
      this.lastStage = p.stageIndex;
      this.lastDecile = -1;
    }
    const decile = Math.floor(pct / 10 + 1e-9);
    if (decile > this.lastDecile) {
      this.lastDecile = decile;
      this.ctx.stderr(`cait: stage ${stage} ${JSON.stringify(p.stageName)} ${decile * 10}%: ${this.info(p).replace(/ \| /g, ', ')}\n`);
    }
  }

  /** End the bar; `complete` fills it to 100 % (the last callback may come just before the end). */
  stop(complete = false): void {
    if (this.bar) {
      if (complete) this.bar.update(100);
      this.bar.stop();
      this.bar = undefined;
    }
  }
}


/** The summary printed after a successful run. */
export function summaryText(protocol: Protocol, result: ProtocolResult, written: string[]): string {
  const first = Object.keys(protocol.species)[0];
  const rows = [['stage', 'name', 'duration (h)', 'charge (mC)', 'final current (nA)', `${first} = 0.5 n0 at (nm)`]];
  result.stages.forEach((st, k) => {
    const d = crossingDepth(st.depth_nm, st.density[first] ?? [], 0.5);
    rows.push([
      String(k + 1),
      st.name,
      (st.duration_s / 3600).toFixed(2),
      (st.charge_C * 1e3).toFixed(4),
      (st.final_current_A * 1e9).toFixed(3),
      Number.isFinite(d) ? d.toFixed(2) : '-',
    ]);
  });
  return table(rows, { left: [1] }) + written.map((w) => `wrote ${w}\n`).join('');
}

export async function runSimulate(opts: SimulateOptions, ctx: CliContext): Promise<void> {
  const protocol = loadProtocol(opts);
  const plan = planOutputs(opts, protocol);
  const simulate = await loadSolver(ctx);

  const reporter = new ProgressReporter(ctx, protocol, !!opts.quiet);
  let result: ProtocolResult;
  try {
    result = simulate(protocol, { onProgress: (p) => reporter.update(p) });
  } catch (e) {
    reporter.stop();
    throw e;
  }
  reporter.stop(true);

  const prov = makeProvenance(protocol, ctx.now());
  const files: OutputFile[] = [{ path: plan.json, data: resultJsonText(buildResultJson(protocol, result, prov)) }];
  const written = [`${plan.json} (${RESULT_SCHEMA})`];
  if (opts.csv !== undefined) {
    const csv = csvOutputs(opts.csv, stemOf(opts.out), protocol, result, prov);
    files.push(...csv);
    written.push(`${csv.length} CSV files in ${opts.csv}: ${csv.map((f) => basename(f.path)).join(', ')}`);
  }
  if (plan.plot && plan.plotCurrent) {
    files.push({ path: plan.plot, data: profilesSvg(protocol, result, { maxDepth_nm: opts.maxDepth }) });
    files.push({ path: plan.plotCurrent, data: currentSvg(protocol, result, { logTime: !opts.linearTime }) });
    written.push(`${plan.plot} (profiles, first ${opts.maxDepth} nm)`, `${plan.plotCurrent} (current vs time)`);
  }
  try {
    writeFilesAtomic(files);
  } catch (e) {
    throw new Error(`cannot write the outputs: ${(e as Error).message}`);
  }
  ctx.stdout(summaryText(protocol, result, written));
}
