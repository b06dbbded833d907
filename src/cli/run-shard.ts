/**
 * `cait run-shard`: what each task of a Slurm job array runs (src/cluster/slurm.ts
 * writes the job script). Reads a request file (`cait-request/1`), runs shard
 * K/N of it with the engine options, appends a line per finished member to
 * --progress (the submitting node reads them) and writes the shard file
 * (`cait-ensemble/1` with a shard block; a fit's batch keeps residuals).
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { ensembleProvenance, writeEnsembleOutputs } from '../ensemble/write.js';
import { parseRequestFile } from '../cluster/request.js';
import { parseShard, runPart, slurmTaskOf } from '../cluster/shard.js';
import { ENGINES, makeEngine } from './engines.js';
import { EnsembleReporter, ensembleSummaryText } from './ensemble.js';
import { checkOutputFile, positiveInt, type CliContext } from './common.js';

interface RunShardOptions {
  request: string;
  shard: string;
  out: string;
  progress?: string;
  engine: string;
  adapter: string;
  threads?: number;
  quiet?: boolean;
}

export function registerRunShard(program: Command, ctx: CliContext): void {
  program
    .command('run-shard')
    .summary('run one shard of a request file (a Slurm task)')
    .description(
      'Run shard K of N (members i with i mod N = K) of a request file written by --executor slurm\n' +
        '(cait-request/1) and write the shard file (cait-ensemble/1 with a shard block). Each Slurm\n' +
        'array task runs it as `cait run-shard --shard $SLURM_ARRAY_TASK_ID/N …`.',
    )
    .requiredOption('--request <file>', 'the request file (cait-request/1)')
    .requiredOption('--shard <K/N>', 'shard K of N, K = 0..N-1')
    .requiredOption('-o, --out <file.json>', 'the shard file to write (cait-ensemble/1 with a shard block)')
    .option('--progress <file.jsonl>', 'append one JSON line per finished member: {"i": member, "s": "ok"|"failed", "r": reason, "run": members per stage}')
    .option('--engine <name>', `ensemble engine (${ENGINES.join(', ')})`, 'cpu')
    .option('--adapter <kind>', 'adapter of --engine webgpu / gpujs', 'auto')
    .option('--threads <N>', `worker threads of the cpu engine (default: all ${availableParallelism()} cores)`, positiveInt)
    .option('-q, --quiet', 'no progress output on stderr')
    .action(async (opts: RunShardOptions) => {
      await runShardCommand(opts, ctx);
    });
}

async function runShardCommand(opts: RunShardOptions, ctx: CliContext): Promise<void> {
  const spec = parseShard(opts.shard);
  checkOutputFile(opts.out, '--out', [{ option: '--request', path: opts.request }]);
  let text: string;
  try {
    text = readFileSync(opts.request, 'utf8');
  } catch (e) {
    throw new InputError(`--request ${opts.request}: cannot read (${(e as Error).message})`);
  }
  const { part, identity, design } = parseRequestFile(text, opts.request, spec);
  const progress = opts.progress;
  if (progress !== undefined) writeFileSync(progress, '');
  const { engine, close } = await makeEngine({ engine: opts.engine, adapter: opts.adapter, threads: opts.threads }, ctx);
  const reporter = new EnsembleReporter(ctx, !!opts.quiet);
  let file: Awaited<ReturnType<typeof runPart>>;
  reporter.start();
  try {
    const provenance = () => {
      const task = slurmTaskOf(ctx.env);
      return { ...ensembleProvenance(part.base, ctx.now()), ...(task ? { slurm: task } : {}) };
    };
    file = await runPart(part, identity, spec, design, engine, provenance, {
      onProgress: (p) => {
        reporter.update(p);
        if (progress !== undefined && p.finished) {
          const line: Record<string, unknown> = { i: p.finished.index, s: p.finished.status, run: p.runningByStage };
          if (p.finished.reason !== undefined) line.r = p.finished.reason;
          appendFileSync(progress, JSON.stringify(line) + '\n');
        }
      },
    });
  } finally {
    reporter.stop();
    await close();
  }
  writeEnsembleOutputs(file, { json: opts.out });
  ctx.stdout(ensembleSummaryText(file, [`${opts.out} (shard ${spec.index}/${spec.count})`]));
}
