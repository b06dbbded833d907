/**
 * Where the members of `cait ensemble`, `cait fit` and `cait sensitivity`
 * run: here (`--executor local`, the engine of --engine) or as Slurm job
 * arrays (`--executor slurm`, src/cluster/slurm.ts: each engine batch one
 * array, every task running its shard with the same --engine, --adapter and
 * --threads). The options, their checks, the engine and Ctrl-C (scancel).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import type { ExecutorRecord } from '../ensemble/output.js';
import { SlurmEngine, checkTemplate, splitSbatchOptions } from '../cluster/slurm.js';
import { slurmTaskOf, type Design } from '../cluster/shard.js';
import { ENGINES, makeEngine, type EngineOptions } from './engines.js';
import { positiveInt, positiveNumber, type CliContext } from './common.js';
import type { OpenedEngine } from './ensemble.js';
import { DEFAULT_SLURM_POLL_S, DEFAULT_SLURM_TASKS } from './defaults.js';

export const EXECUTORS = ['local', 'slurm'] as const;


export interface ExecutorCliOptions {
  /** local (default) or slurm */
  executor?: string;
  slurmArray?: number;
  slurmOpt: string[];
  slurmTemplate?: string;
  slurmDir?: string;
  slurmPoll?: number;
  dryRun?: boolean;
}

/** An opened engine and, for --executor slurm, the job arrays it ran. */
export interface ExecutorEngine extends OpenedEngine {
  executor?(): ExecutorRecord;
  /** --executor slurm: the script a batch of `members` would be submitted with (--dry-run) */
  script?(members: number): string;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/** The executor options (--executor, --slurm-*), shared by ensemble, fit and sensitivity. */
export function addExecutorOptions(cmd: Command): Command {
  return cmd
    .option('--executor <local|slurm>', 'run the members here (local, the default) or as Slurm job arrays (slurm)')
    .option('--slurm-array <N>', `--executor slurm: at most N array tasks per batch (default ${DEFAULT_SLURM_TASKS})`, positiveInt)
    .option('--slurm-opt <OPTS>', '--executor slurm: sbatch options of every task, e.g. "--partition=gpu --gres=gpu:1"; repeatable', collect, [])
    .option('--slurm-template <file>', '--executor slurm: the job script template (default scripts/slurm/job-template.sh)')
    .option('--slurm-dir <dir>', '--executor slurm: where batch directories (request, script, logs, results) go; default <out>.slurm')
    .option('--slurm-poll <s>', `--executor slurm: seconds between squeue polls (default ${DEFAULT_SLURM_POLL_S})`, positiveNumber);
}

/** Refuse --slurm-* without --executor slurm and an unknown executor. */
export function checkExecutorOptions(o: ExecutorCliOptions): void {
  if (o.executor !== undefined && !(EXECUTORS as readonly string[]).includes(o.executor)) throw new InputError(`--executor ${o.executor}: expected one of ${EXECUTORS.join(', ')}`);
  if (o.executor === 'slurm') return;
  const given = [
    o.slurmArray !== undefined && '--slurm-array',
    o.slurmOpt.length > 0 && '--slurm-opt',
    o.slurmTemplate !== undefined && '--slurm-template',
    o.slurmDir !== undefined && '--slurm-dir',
    o.slurmPoll !== undefined && '--slurm-poll',
    o.dryRun && '--dry-run',
  ].filter(Boolean);
  if (given.length) throw new InputError(`${given[0]}: only with --executor slurm`);
}

function loadTemplate(file: string | undefined): { text: string; source: string } {
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new InputError(`--slurm-template ${file}: cannot read (${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message})`);
    }
    checkTemplate(text, file);
    return { text, source: file };
  }
  const path = findUp(join('scripts', 'slurm', 'job-template.sh'));
  if (!path) throw new Error('the default job template scripts/slurm/job-template.sh is missing from the installation');
  return { text: readFileSync(path, 'utf8'), source: 'default' };
}

/** `rel` in the nearest directory above this module that has it (src/cli/ and dist/src/cli/ alike), or null. */
function findUp(rel: string): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, rel))) return join(dir, rel);
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return null;
}

/** node and the built cait script (this module's main.js in dist/, else the build's), as the job script runs them. */
function caitCommand(): string[] {
  const sibling = fileURLToPath(new URL('./main.js', import.meta.url));
  const main = existsSync(sibling) ? sibling : findUp(join('dist', 'src', 'cli', 'main.js'));
  if (!main) throw new InputError('--executor slurm runs the built cait on the nodes: run `npm run build` first');
  return [process.execPath, main];
}

/**
 * The engine of the options: makeEngine's for --executor local; for slurm a
 * SlurmEngine (nothing starts until it runs a batch) whose job is cancelled
 * on Ctrl-C (exit 130). `dir` is the default --slurm-dir.
 */
export async function openEngine(
  opts: EngineOptions & ExecutorCliOptions & { quiet?: boolean },
  ctx: CliContext,
  o: { dir: string; design?: Design },
): Promise<ExecutorEngine> {
  checkExecutorOptions(opts);
  if (opts.executor !== 'slurm') return makeEngine(opts, ctx);
  if (!(ENGINES as readonly string[]).includes(opts.engine))
    throw new InputError(`--engine ${opts.engine}: unknown engine; available: ${ENGINES.join(', ')}`);
  const engine = new SlurmEngine({
    tasks: opts.slurmArray ?? DEFAULT_SLURM_TASKS,
    sbatch: splitSbatchOptions(opts.slurmOpt),
    sbatchGiven: [...opts.slurmOpt],
    template: loadTemplate(opts.slurmTemplate),
    dir: opts.slurmDir ?? o.dir,
    engine: { engine: opts.engine, adapter: opts.adapter, ...(opts.threads !== undefined ? { threads: opts.threads } : {}) },
    cait: caitCommand(),
    pollSeconds: opts.slurmPoll ?? DEFAULT_SLURM_POLL_S,
    log: (line) => ctx.stderr(`${line}\n`),
    quiet: !!opts.quiet,
    env: { ...process.env, ...ctx.env },
    ...(o.design ? { design: o.design } : {}),
  });
  const onSignal = () => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    ctx.stderr('cait: interrupted; cancelling the Slurm job\n');
    void engine.cancel().then((id) => {
      if (id !== undefined) ctx.stderr(`cait: cancelled Slurm job ${id} (scancel)\n`);
      process.exit(130);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    engine,
    executor: () => engine.record(),
    script: (members) => engine.script(members),
    close: async () => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      await engine.close();
    },
  };
}

/** What an output's provenance adds for the executor: the Slurm jobs that ran it, or the array task this shard ran in. */
export function executorProvenance(opened: ExecutorEngine, env: Record<string, string | undefined>): { executor?: ExecutorRecord; slurm?: { job_id: string; task_id: string } } {
  const out: { executor?: ExecutorRecord; slurm?: { job_id: string; task_id: string } } = {};
  if (opened.executor) out.executor = opened.executor();
  const task = slurmTaskOf(env);
  if (task) out.slurm = task;
  return out;
}

/** The default --slurm-dir of an output: `results/dcs.json` → `results/dcs.slurm`, `results/fit` → `results/fit.slurm`. */
export function defaultSlurmDir(out: string): string {
  return `${out.replace(/\/+$/, '').replace(/\.json$/i, '')}.slurm`;
}
