/**
 * `cait sims FILE`: import a SIMS depth profile (CSV/TSV, IONTOF SurfaceLab
 * ASCII export or Cameca .dp_rpc_asc, detected by content), process it
 * (dead-time correction, depth scale, isotope sums, normalization with
 * sensitivities) and write a normalized profile CSV atomically.
 */
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { InputError } from '../config/validate.js';
import { isDirectory, writeFileAtomic } from '../io/atomic.js';
import { packageVersion } from '../io/result.js';
import { importSims, measuredProfileCsv, SIMS_FORMATS, type SimsFormat } from '../sims/index.js';
import { checkParent, fmtNum, positiveInt, positiveNumber, type CliContext } from './common.js';

export interface SimsOptions {
  out: string;
  format: SimsFormat | 'auto';
  shots?: number;
  craterDepth?: number;
  sputterRate?: number;
  sensitivity?: Record<string, number>;
}

/** Commander parser of `Li=1,Rb=2.6`. */
export function parseSensitivity(v: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of v.split(',')) {
    const m = /^\s*([A-Z][a-z]?)\s*=\s*(\S+)\s*$/.exec(part);
    const x = m ? Number(m[2]) : NaN;
    if (!m || !Number.isFinite(x) || x <= 0) throw new InvalidArgumentError(`"${part.trim()}" is not ELEMENT=POSITIVE_NUMBER (e.g. Li=1,Rb=2.6)`);
    out[m[1]] = x;
  }
  return out;
}

const HELP_AFTER = `
Formats (detected by content unless --format is given):
  csv      CSV/TSV with a header: a time column (time_s, "Sputter Time (s)", time (min)) or a
           depth column (depth_nm, "Depth (um)"), and one column per mass channel
           (6Li, 7Li, 85Rb, 87Rb, 133Cs, ...) or per element (already normalized: Li, Rb, Cs)
  iontof   IONTOF SurfaceLab ASCII depth-profile export (tabs, "#" header lines with ion
           labels and "Sputter Time (s)" / "Intensity" column titles)
  cameca   Cameca IMS .dp_rpc_asc (*** DATA START *** ... *** DATA END ***, Time[mn] Depth
           I[cnt/s] per species; species resampled linearly onto the first species' times;
           depth from the file's crater depth / sputter rate unless given here)

Processing: I = -N ln(1 - C/N) with N = --shots (counts C >= N are an error, C/N >= 0.5 a
warning); depth = t * crater / total time, or rate * t; isotopes summed per element
(7Li+ -> Li); c_X = s_X I_X / sum_Y s_Y I_Y (s = --sensitivity, default 1).

Output: "#" provenance lines, then depth_nm,<elements> (depth nm, c dimensionless, sum 1),
written atomically (an existing file survives a failed run). Exit status: 0 ok, 2 bad input.

Examples:
  cait sims profile.txt --shots 500 --crater-depth 250 --out profile.csv
  cait sims glass.dp_rpc_asc --sensitivity Li=1,Cs=2.6 --out glass.csv`;

export function registerSims(program: Command, ctx: CliContext): void {
  program
    .command('sims')
    .summary('import a ToF-SIMS / Cameca depth profile as a normalized profile CSV')
    .description(
      'Convert a SIMS depth profile to depth_nm plus one normalized density per element.\n' +
        'Units: depth nm, time s, sputter rate nm/s, densities dimensionless (sum 1 per point).',
    )
    .argument('<file>', 'the SIMS file (CSV/TSV, IONTOF ASCII export, Cameca .dp_rpc_asc)')
    .requiredOption('-o, --out <profile.csv>', 'output profile CSV')
    .addOption(new Option('--format <format>', 'input format').choices(['auto', ...SIMS_FORMATS]).default('auto'))
    .option('--shots <N>', 'primary-ion shots per data point, for the Poisson (dead-time) correction (default: none)', positiveInt)
    .option('--crater-depth <nm>', 'crater depth, nm (depth = t * crater / total sputter time)', positiveNumber)
    .option('--sputter-rate <nm_per_s>', 'constant sputter rate, nm/s (depth = rate * t)', positiveNumber)
    .option('--sensitivity <list>', 'relative sensitivity factors, e.g. Li=1,Rb=2.6 (default 1 each)', parseSensitivity)
    .addHelpText('after', HELP_AFTER)
    .action((file: string, opts: SimsOptions) => {
      runSims(file, opts, ctx);
    });
}

export function runSims(file: string, opts: SimsOptions, ctx: CliContext): void {
  if (opts.craterDepth !== undefined && opts.sputterRate !== undefined) throw new InputError('--crater-depth and --sputter-rate cannot be used together');
  if (isDirectory(opts.out)) throw new InputError(`--out ${opts.out}: is a directory`);
  checkParent(opts.out, '--out');
  if (resolve(opts.out) === resolve(file)) throw new InputError(`--out ${opts.out}: is the input file`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`${file}: cannot read (${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : ((e as Error).message ?? String(e))})`);
  }
  const p = importSims(
    text,
    {
      format: opts.format,
      shots: opts.shots,
      craterDepth_nm: opts.craterDepth,
      sputterRate_nm_s: opts.sputterRate,
      sensitivity: opts.sensitivity,
    },
    basename(file),
  );
  const options: string[] = [`--format ${opts.format}`];
  if (opts.shots !== undefined) options.push(`--shots ${opts.shots}`);
  if (opts.craterDepth !== undefined) options.push(`--crater-depth ${opts.craterDepth}`);
  if (opts.sputterRate !== undefined) options.push(`--sputter-rate ${opts.sputterRate}`);
  if (opts.sensitivity) options.push(`--sensitivity ${Object.entries(opts.sensitivity).map(([k, v]) => `${k}=${v}`).join(',')}`);
  const comments = [
    `cait-ensemble ${packageVersion()} sims`,
    `source: ${basename(file)}`,
    `format: ${p.format}`,
    `options: ${options.join(' ')}`,
    `depth: ${p.depthFrom}`,
    `channels: ${p.elements.map((e) => `${e} = ${p.channelsOf[e].join(' + ')}`).join('; ')}`,
    `columns: depth_nm (nm), normalized densities c_X = s_X I_X / sum_Y s_Y I_Y`,
  ];
  writeFileAtomic(opts.out, measuredProfileCsv(p, comments));
  const d = p.depth_nm;
  const lines = [
    `format:   ${p.format}${opts.format === 'auto' ? ' (detected)' : ''}`,
    `channels: ${p.elements.map((e) => `${p.channelsOf[e].join(' + ')} -> ${e}`).join(', ')}`,
    `points:   ${d.length}`,
    `depth:    ${fmtNum(d[0])} .. ${fmtNum(d[d.length - 1])} nm (${p.depthFrom})`,
    `warnings: ${p.warnings.length === 0 ? 'none' : p.warnings.length}`,
    ...p.warnings.map((w) => `  - ${w}`),
    `wrote ${opts.out}`,
  ];
  ctx.stdout(lines.join('\n') + '\n');
}
