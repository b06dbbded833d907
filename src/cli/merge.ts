/**
 * `cait merge SHARD… --out FILE`: join the shard files of one ensemble
 * (`cait ensemble --shard K/N`, or the tasks of --executor slurm) into the
 * file the whole run writes (src/cluster/merge.ts), optionally its CSV.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { ENSEMBLE_SCHEMA } from '../ensemble/output.js';
import { writeEnsembleOutputs } from '../ensemble/write.js';
import { mergeShards, parseShardFile, type ShardInput } from '../cluster/merge.js';
import { ensembleSummaryText } from './ensemble.js';
import { checkOutputFile, type CliContext } from './common.js';
import { isDirectory } from '../io/atomic.js';

interface MergeOptions {
  out: string;
  csv?: string;
  quiet?: boolean;
}

export function registerMerge(program: Command, ctx: CliContext): void {
  program
    .command('merge')
    .summary('join the shards (--shard K/N) into one file')
    .description(
      'Join shard files (cait ensemble --shard K/N, or the task results of --executor slurm) into the\n' +
        'cait-ensemble/1 file the whole run writes: members in member order with their values, status,\n' +
        'stages and profiles. Refuses shards of different ensembles or versions, shards that split the\n' +
        'ensemble differently, a shard given twice and a missing shard, naming the files.',
    )
    .argument('<shards...>', 'the shard files (any order)')
    .requiredOption('-o, --out <file.json>', 'the merged file (cait-ensemble/1)')
    .option('--csv <file.csv>', 'also write the compact CSV (one row per member)')
    .option('-q, --quiet', 'print only the files written')
    .addHelpText(
      'after',
      `
The merged file's provenance has the latest shard's date, wall_s = the sum of the shards' wall
times, and "shards": per shard its date, wall time, adapter, node, platform (and Slurm job/task).

Example:
  for k in 0 1 2 3; do cait ensemble --preset paper --vary stages.1.D.Cs.D_m2s=2e-23:5e-23:8:log \\
      --shard $k/4 --out part$k.json; done
  cait merge part0.json part1.json part2.json part3.json --out dcs.json --csv dcs.csv`,
    )
    .action(async (paths: string[], opts: MergeOptions) => {
      await runMerge(paths, opts, ctx);
    });
}

async function runMerge(paths: string[], opts: MergeOptions, ctx: CliContext): Promise<void> {
  const outs: [string, string | undefined][] = [
    ['--out', opts.out],
    ['--csv', opts.csv],
  ];
  const inputs = new Set(paths.map((p) => resolve(p)));
  for (const [opt, p] of outs) {
    if (p === undefined) continue;
    if (isDirectory(p)) throw new InputError(`${opt} ${p}: is a directory`);
    if (inputs.has(resolve(p))) throw new InputError(`${opt} ${p}: is one of the shards being merged`);
    checkOutputFile(p, opt, paths.map((path) => ({ option: 'shard', path })));
  }
  if (opts.csv !== undefined && resolve(opts.csv) === resolve(opts.out)) throw new InputError(`--csv ${opts.csv}: the same file as --out`);
  const shards: ShardInput[] = paths.map((p) => {
    let text: string;
    try {
      text = readFileSync(p, 'utf8');
    } catch (e) {
      throw new InputError(`${p}: cannot read (${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message})`);
    }
    return { label: p, file: parseShardFile(text, p) };
  });
  const file = mergeShards(shards);
  const written = [`${opts.out} (${ENSEMBLE_SCHEMA}, ${shards.length} shards joined)`];
  if (opts.csv !== undefined) written.push(`${opts.csv} (one row per member)`);
  try {
    writeEnsembleOutputs(file, { json: opts.out, csv: opts.csv });
  } catch (e) {
    throw new Error(`cannot write the outputs: ${(e as Error).message}`);
  }
  ctx.stdout(opts.quiet ? written.map((w) => `wrote ${w}\n`).join('') : ensembleSummaryText(file, written));
}
