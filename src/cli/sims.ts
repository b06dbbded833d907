/**
 * `cait sims FILE`: import a SIMS depth profile (CSV/TSV, IONTOF SurfaceLab
 * ASCII export or Cameca .dp_rpc_asc, detected by content), process it
 * (Poisson or dead-time correction, depth scale, isotope sums, normalization
 * with sensitivities, optionally calibrated from the delivered charges) and
 * write a normalized profile CSV atomically.
 */
import { readTextHead, readTextPieces } from '../io/read.js';
import { basename, resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { InputError } from '../core/errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { packageVersion } from '../io/result.js';
import { importSims, isSyntheticSims, measuredProfileCsv, SIMS_FORMATS, type SimsFormat } from '../sims/index.js';
import { checkOutputFile, positiveInt, positiveNumber, type CliContext } from './common.js';
import { fmtNum } from '../core/format.js';
import { lengthNm, rateNmPerS } from '../config/units.js';
import { SIMS_HELP } from './help.js';
import { CALIBRATION_DEFAULTS } from './defaults.js';

export interface SimsOptions {
  out: string;
  format: SimsFormat | 'auto';
  shots?: number;
  craterDepth?: number;
  sputterRate?: number;
  sensitivity?: Record<string, number>;
  deadTime?: number;
  calibrateFromCharge?: Record<string, number>;
  n0?: number;
  area?: number;
}


/** Commander parser of `Li=1,Rb=2.6` (positive numbers per element; `example` shows the form in the message). */
export function parseElementValues(v: string, example = 'Li=1,Rb=2.6'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of v.split(',')) {
    const m = /^\s*([A-Z][a-z]?)\s*=\s*(\S+)\s*$/.exec(part);
    const x = m ? Number(m[2]) : NaN;
    if (!m || !Number.isFinite(x) || x <= 0) throw new InvalidArgumentError(`"${part.trim()}" is not ELEMENT=POSITIVE_NUMBER (e.g. ${example})`);
    if (m[1] in out) throw new InvalidArgumentError(`${m[1]} is given twice`);
    out[m[1]] = x;
  }
  return out;
}

/** Commander parser of a positive number with an optional unit (lengthNm, rateNmPerS). */
function positiveWith(parse: (t: string) => number): (v: string) => number {
  return (v) => {
    const x = parse(v);
    if (!(Number.isFinite(x) && x > 0)) throw new InvalidArgumentError('must be a positive number, optionally with a unit');
    return x;
  };
}

/** Commander parser of `Li=1,Rb=2.6`. */
export function parseSensitivity(v: string): Record<string, number> {
  return parseElementValues(v, 'Li=1,Rb=2.6');
}

/** Commander parser of a number >= 0 (0 allowed: --dead-time 0 switches the correction off). */
export function nonNegativeNumber(v: string): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || x < 0) throw new InvalidArgumentError('must be a number >= 0');
  return x;
}

export function registerSims(program: Command, ctx: CliContext): void {
  program
    .command('sims')
    .summary('import a SIMS depth profile as a normalized CSV')
    .description(
      'Convert a SIMS depth profile to depth_nm plus one normalized density per element.\n' +
        'Units: depth nm, time s, sputter rate nm/s, densities dimensionless (sum 1 per point).',
    )
    .argument('<file>', 'the SIMS file (CSV/TSV, IONTOF ASCII export, Cameca .dp_rpc_asc)')
    .requiredOption('-o, --out <profile.csv>', 'output profile CSV')
    .addOption(new Option('--format <format>', 'input format').choices(['auto', ...SIMS_FORMATS]).default('auto'))
    .option('--shots <N>', 'primary-ion shots per data point, for the Poisson correction of ToF counts I = -N ln(1 - C/N) (default: none)', positiveInt)
    .option('--crater-depth <nm>', 'crater depth, nm, or with a unit: 250nm, 0.25um (depth = t * crater / total sputter time)', positiveWith(lengthNm))
    .option('--sputter-rate <nm_per_s>', 'constant sputter rate, nm/s, or with a unit: 30nm/min (depth = rate * t)', positiveWith(rateNmPerS))
    .option('--sensitivity <list>', 'relative sensitivity factors, e.g. Li=1,Rb=2.6 (default 1 each)', parseSensitivity)
    .option('--dead-time <ns>', 'detector dead time, ns, for count rates in cnt/s: N = N_obs/(1 - N_obs*tau) (default: the Cameca file\'s EM dead time; 0: no correction)', nonNegativeNumber)
    .option('--calibrate-from-charge <list>', 'delivered charge per beam species, C, e.g. Rb=2.52e-3,Cs=2.28e-3: calibrates their sensitivity factors (int c dx = Q/(e n0 A))', (v: string) =>
      parseElementValues(v, 'Rb=2.52e-3'),
    )
    .option('--n0 <per_m3>', `native mobile-ion density n0, m^-3, for --calibrate-from-charge (default ${CALIBRATION_DEFAULTS.n0_m3.toExponential()}, the paper preset)`, positiveNumber)
    .option('--area <m2>', `irradiated area A, m^2, for --calibrate-from-charge (default ${CALIBRATION_DEFAULTS.area_m2.toExponential()}, the paper preset)`, positiveNumber)
    .addHelpText('after', SIMS_HELP)
    .action((file: string, opts: SimsOptions) => {
      runSims(file, opts, ctx);
    });
}

export function runSims(file: string, opts: SimsOptions, ctx: CliContext): void {
  if (opts.craterDepth !== undefined && opts.sputterRate !== undefined) throw new InputError('--crater-depth and --sputter-rate cannot be used together');
  if (resolve(opts.out) === resolve(file)) throw new InputError(`--out ${opts.out}: is the input file`);
  checkOutputFile(opts.out, '--out', [{ option: 'the input file', path: file }]);
  if ((opts.n0 !== undefined || opts.area !== undefined) && opts.calibrateFromCharge === undefined)
    throw new InputError(`${opts.n0 !== undefined ? '--n0' : '--area'} applies only with --calibrate-from-charge`);
  let text: Iterable<string>;
  let head: string;
  try {
    text = readTextPieces(file);
    head = readTextHead(file);
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
      deadTime_ns: opts.deadTime,
      calibrate:
        opts.calibrateFromCharge === undefined
          ? undefined
          : { charge_C: opts.calibrateFromCharge, n0_m3: opts.n0 ?? CALIBRATION_DEFAULTS.n0_m3, area_m2: opts.area ?? CALIBRATION_DEFAULTS.area_m2 },
    },
    basename(file),
  );
  const options: string[] = [`--format ${opts.format}`];
  if (opts.shots !== undefined) options.push(`--shots ${opts.shots}`);
  if (opts.craterDepth !== undefined) options.push(`--crater-depth ${opts.craterDepth}`);
  if (opts.sputterRate !== undefined) options.push(`--sputter-rate ${opts.sputterRate}`);
  const list = (r: Record<string, number>) => Object.entries(r).map(([k, v]) => `${k}=${v}`).join(',');
  if (opts.sensitivity) options.push(`--sensitivity ${list(opts.sensitivity)}`);
  if (opts.deadTime !== undefined) options.push(`--dead-time ${opts.deadTime}`);
  if (opts.calibrateFromCharge) options.push(`--calibrate-from-charge ${list(opts.calibrateFromCharge)}`);
  if (opts.n0 !== undefined) options.push(`--n0 ${opts.n0}`);
  if (opts.area !== undefined) options.push(`--area ${opts.area}`);
  const synthetic = isSyntheticSims(head);
  const comments = [
    `cait-ensemble ${packageVersion()} sims`,
    `source: ${basename(file)}`,
    ...(synthetic ? ['SYNTHETIC: the source is synthetic data made by cait-ensemble, NOT a measurement (see its header)'] : []),
    `format: ${p.format}`,
    `options: ${options.join(' ')}`,
    `depth: ${p.depthFrom}`,
    `channels: ${[...p.elements.map((e) => `${e} = ${p.channelsOf[e].join(' + ')}`), ...p.extra.map((x) => `${x} = ${p.channelsOf[x].join(' + ')} (own channel, relative to the elements' sum)`)].join('; ')}`,
    ...p.notes.filter((n) => !n.startsWith('depth: ')).map((n) => `processing: ${n}`),
    ...p.warnings.map((w) => `warning: ${w}`),
    `columns: depth_nm (nm), normalized densities c_X = s_X I_X / sum_Y s_Y I_Y`,
  ];
  writeFileAtomic(opts.out, measuredProfileCsv(p, comments));
  const d = p.depth_nm;
  const lines = [
    ...(synthetic ? ['note:     SYNTHETIC source (made by cait-ensemble, not a measurement)'] : []),
    `format:   ${p.format}${opts.format === 'auto' ? ' (detected)' : ''}`,
    `channels: ${[...p.elements.map((e) => `${p.channelsOf[e].join(' + ')} -> ${e}`), ...p.extra.map((x) => `${p.channelsOf[x].join(' + ')} -> ${x} (no single element: own channel)`)].join(', ')}`,
    `points:   ${d.length}`,
    `depth:    ${fmtNum(d[0])} .. ${fmtNum(d[d.length - 1])} nm (${p.depthFrom})`,
    `counting: ${p.notes.find((n) => /correction/.test(n)) ?? 'no Poisson or dead-time correction'}`,
    `factors:  ${p.elements.map((e) => `s_${e} = ${fmtNum(Number(p.sensitivity[e].toPrecision(6)))}${p.calibration?.[e] ? ' (from charge)' : ''}`).join(', ')}`,
    ...Object.entries(p.calibration ?? {}).map(
      ([e, r]) => `charge:   ${e}: Q = ${fmtNum(r.charge_C)} C -> int c_${e} dx = ${fmtNum(Number(r.inventory_nm.toPrecision(5)))} nm -> s_${e} = ${fmtNum(Number(r.sensitivity.toPrecision(6)))}`,
    ),
    `warnings: ${p.warnings.length === 0 ? 'none' : p.warnings.length}`,
    ...p.warnings.map((w) => `  - ${w}`),
    `wrote ${opts.out}`,
  ];
  ctx.stdout(lines.join('\n') + '\n');
}
